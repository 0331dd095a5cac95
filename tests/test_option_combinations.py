"""Backbone options that are valid alone but not together (lmr_cbt's d without text_hidden, heads
that do not divide a width): every backbone checks its combinations when it is built, so the
configuration check (`check_model`, on the meta device), `emozsl models --option` and a real build
all refuse an inconsistent set in one line naming an option, and a set they accept trains.

Option sets are drawn at random (seeded) from each option's kind, at tiny sizes."""

from __future__ import annotations

import random

import pytest
import torch
from click.testing import CliRunner
from test_models import DIMS, WORD_DIM, batch, emotions, ready, shapes

from emozsl.cli import main
from emozsl.errors import FieldError
from emozsl.models import COUNT, COUNT0, FLAG, FRACTION, HEAD_DEFAULTS, PATH, POSITIVE, RATE, REGISTRY
from emozsl.models.build import build_model, check_model
from emozsl.models.summary import models_table

SEED = 0
TRAINED = 6  # option sets per backbone that must pass the check and then train one step
ATTEMPTS = 1000  # draws per backbone at most (a refused draw costs a meta-device build, or less)
REFUSED_BUILT = 10  # refused draws per backbone also built for real: the same line
# COUNT options that are widths or sizes (1-16); other counts (heads, layers, stages) are 1-4.
WIDTHS = {"d", "hidden", "audio_hidden", "visual_hidden", "text_hidden", "fused", "text_dim", "attention_dim",
          "max_tokens"}
RAW_CNN_WIDTH = (1, 4)  # fe2e/mesm `width`: CNN channels over 128 x 32 mels and 48 x 48 faces, kept small


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy machine waiting for them dominates."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def draw(rng: random.Random, name: str) -> dict:
    """One option set, every value valid for its option's kind."""
    options = {}
    for key, kind in REGISTRY[name].options.items():
        if kind.source:
            options[key] = rng.choice(kind.choices())
        elif kind is COUNT and key == "width" and REGISTRY[name].inputs == "raw":
            options[key] = rng.randint(*RAW_CNN_WIDTH)
        elif kind is COUNT and key == "vocabulary":
            options[key] = rng.randint(1, 64)  # 1 is a kind-valid value the factory refuses
        elif kind is COUNT:
            options[key] = rng.randint(1, 16) if key in WIDTHS else rng.randint(1, 4)
        elif kind is COUNT0:
            options[key] = rng.randint(0, 4)
        elif kind is RATE:
            options[key] = rng.choice([0.0, 0.1, 0.5, 0.9])
        elif kind is FRACTION:
            options[key] = rng.choice([0.01, 0.3, 0.7, 1.0])
        elif kind is POSITIVE:
            options[key] = rng.choice([0.5, 1.0, 4.0])
        elif kind is FLAG:
            options[key] = rng.random() < 0.5
        elif kind is PATH:
            options[key] = ""  # a local Hugging Face model: test_raw_models
        else:
            raise AssertionError(f"{name}.{key}: no values drawn for kind {kind.name}")
    return options


def names_an_option(exc: FieldError, name: str) -> bool:
    root, _, key = exc.field.partition(".")
    return root == "model_options" and key in REGISTRY[name].options and "\n" not in str(exc)


def train_step(name: str, options: dict) -> None:
    """Build at the tests' tiny sizes, one forward and backward step on real tensors."""
    torch.manual_seed(0)
    model = build_model(name, DIMS, WORD_DIM, options)
    x = batch(shapes(name), n=2)
    if REGISTRY[name].inputs == "raw":  # ids as the model's tokenizer gives them: 1 .. vocabulary - 1
        x["text"] = 1 + x["text"] % (options["vocabulary"] - 1)
    outputs = model.outputs(ready(x), emotions(3))
    sum(o.float().sum() for o in outputs.values()).backward()
    assert all(torch.isfinite(o).all() for o in outputs.values()), options


@pytest.mark.parametrize("name", list(REGISTRY))
def test_random_option_sets_are_refused_at_build_naming_an_option_or_train(name):
    """What the configuration check accepts trains; what it refuses is one FieldError naming an
    option, the same line a real build gives (never a shape error at the first step)."""
    rng = random.Random(f"{SEED}:{name}")
    trained = refused = 0
    for _ in range(ATTEMPTS):
        options = draw(rng, name)
        try:
            check_model(name, list(DIMS), options, HEAD_DEFAULTS)
        except FieldError as exc:
            assert names_an_option(exc, name), f"{options}: {exc}"
            refused += 1
            if refused <= REFUSED_BUILT:
                with pytest.raises(FieldError) as real:
                    train_step(name, options)
                assert str(real.value) == str(exc), options
            continue
        train_step(name, options)
        trained += 1
        if trained == TRAINED:
            break
    assert trained == TRAINED, f"{name}: only {trained} of {ATTEMPTS} drawn option sets passed the check"


@pytest.mark.parametrize("name, options, message", [
    ("lmr_cbt", {"d": 8}, r"model_options.d=8: must equal 2 × text_hidden = 40 \(text_hidden=20: .*\); "
                          r"set text_hidden=4 with it"),
    ("lmr_cbt", {"text_hidden": 8}, r"model_options.d=40: must equal 2 × text_hidden = 16"),
    ("lmr_cbt", {"d": 9, "text_hidden": 4}, r"model_options.d=9: must equal 2 × text_hidden = 8 .*d must be even"),
    ("lmr_cbt", {"d": 12, "text_hidden": 6}, r"model_options.heads=8: must divide the width 12 set by d"),
    ("mult", {"d": 12}, r"model_options.d=12: must be divisible by heads=8, which preset=mosei sets"),
    ("mult", {"d": 16, "preset": "iemocap"},
     r"model_options.d=16: must be divisible by heads=10, which preset=iemocap"),
    ("lfmim", {"width": 10, "heads": 4}, r"model_options.heads=4: must divide the width 10 set by width"),
    ("self_attn", {"hidden": 5, "heads": 4},
     r"model_options.heads=4: must divide the width 10 set by 2 × hidden \(hidden=5\)"),
    ("cross_attn", {"hidden": 4, "heads": 6}, r"model_options.heads=6: must divide the width 8 set by 2 × hidden"),
    ("transformer_lf", {"d": 10, "heads": 4}, r"model_options.heads=4: must divide the width 10 set by d"),
    ("fe2e", {"d": 10, "text_dim": 8, "heads": 4}, r"model_options.heads=4: must divide the width d=10"),
    ("mesm", {"text_dim": 6}, r"model_options.heads=4: must divide text_dim=6"),
])
def test_inconsistent_options_are_one_line_naming_them(name, options, message):
    for build in (lambda: check_model(name, list(DIMS), options, HEAD_DEFAULTS),
                  lambda: build_model(name, DIMS, WORD_DIM, options),
                  lambda: models_table([name], options)):
        with pytest.raises(FieldError, match=message) as caught:
            build()
        assert "\n" not in str(caught.value)


def test_lmr_cbt_d_alone_is_refused_by_models_and_d_with_text_hidden_trains():
    """The regression: `--option d=8` passed `emozsl models` and the check, then failed at the
    first training step with a matrix-shape traceback."""
    result = CliRunner().invoke(main, ["models", "--model", "lmr_cbt", "--option", "d=8"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: --option d=8: must equal 2 × text_hidden = 40"), result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    with pytest.raises(FieldError, match="model_options.d=8: must equal 2 × text_hidden = 40"):
        check_model("lmr_cbt", list(DIMS), {"d": 8}, HEAD_DEFAULTS)
    options = {"d": 8, "text_hidden": 4, "heads": 2, "layers": 1}
    check_model("lmr_cbt", list(DIMS), options, HEAD_DEFAULTS)
    train_step("lmr_cbt", options)
    result = CliRunner().invoke(main, ["models", "--model", "lmr_cbt", "--option", "d=8", "--option", "text_hidden=4"])
    assert result.exit_code == 0, result.output
