"""Backbone options: each declares its kind where it is registered; values are checked against that
kind; `emozsl models` lists them and counts parameters at the options given."""

import pytest
import torch
from click.testing import CliRunner
from test_models import DIMS, RAW_OPTIONS, UNALIGNED, WORD_DIM, batch, emotions, ready

from emozsl.cli import main
from emozsl.errors import EmozslError
from emozsl.models import POSITIVE, REGISTRY, resolve_options
from emozsl.models.build import build_model
from emozsl.models.summary import parameter_count

RAW_DIMS = {"text": 1, "audio": 128, "visual": 3}


def models(*args):
    return CliRunner().invoke(main, ["models", *args])


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_option_declares_a_kind_its_default_passes(name):
    backbone = REGISTRY[name]
    defaults = backbone.defaults()
    assert set(backbone.options) == set(defaults), "declared kinds and the factory's options differ"
    for key, default in defaults.items():
        kind = backbone.options[key]
        assert type(default) is kind.value_type, key
        assert kind.check(key, default) == default, key


@pytest.mark.parametrize("name, options, message", [
    ("eea", {"dropout": 1.5}, r"model_options.dropout=1.5: must be within \[0, 1\) \(a rate\)"),
    ("lfmim", {"tokens": -1}, r"model_options.tokens=-1: must be at least 0 \(a count\)"),
    ("mult", {"preset": "meld"}, "model_options.preset=meld: choose one of iemocap, mosei"),  # before any build
])
def test_an_option_outside_its_kind_is_an_error_naming_option_value_and_kind(name, options, message):
    with pytest.raises(EmozslError, match=message):
        resolve_options(name, options)


def test_a_positive_number_is_not_taken_for_a_rate():
    assert POSITIVE.check("temperature", "2.5") == 2.5
    for bad in ("0.0", "-1.0", "inf", "nan"):
        with pytest.raises(EmozslError, match=rf"temperature={bad}: must be finite and above 0 \(a positive number\)"):
            POSITIVE.check("temperature", bad)


def test_lfmim_trains_without_learned_tokens():
    """tokens=0 (refused before as 'a size or a count'): the multimodal stream holds the slots alone."""
    torch.manual_seed(0)
    model = build_model("lfmim", DIMS, WORD_DIM, {"tokens": 0, "width": 8, "heads": 2, "stages": 2})
    scores = model(ready(batch(UNALIGNED)), emotions(3))
    scores.sum().backward()
    assert scores.shape == (4, 3) and torch.isfinite(scores).all()
    assert model.backbone.tokens.shape == (1, 0, 8)


def test_end_to_end_text_errors_name_the_option_that_was_set():
    with pytest.raises(EmozslError, match="model_options.heads=3: must divide text_dim=8"):
        build_model("fe2e", RAW_DIMS, 8, {**RAW_OPTIONS, "heads": 3})
    # one bucket would leave no id for a word (0 is padding): tokenising divided by zero
    with pytest.raises(EmozslError, match=r"model_options.vocabulary=1: must be at least 2 \(id 0 is padding\)"):
        build_model("fe2e", RAW_DIMS, 8, {**RAW_OPTIONS, "vocabulary": 1})


def test_models_lists_every_option_with_its_default_and_kind_and_the_counted_sizes():
    result = models()
    assert result.exit_code == 0, result.output
    rows = {tuple(line.split()[:4]) for line in result.output.splitlines()}
    for name, backbone in REGISTRY.items():
        for key, default in backbone.defaults().items():
            written = str(default).lower() if isinstance(default, bool) else str(default) or "''"
            assert (name, key, written, backbone.options[key].name + ":") in rows, (name, key)
    assert "300-d word vectors (the paper's GloVe; the shipped vectors are 50-d" in " ".join(result.output.split())
    assert "the MOSEI feature dims (text 300, audio 74, visual 35)" in result.output


def parameters_in(output: str, name: str) -> int:
    line = next(line for line in output.splitlines() if line.startswith(name + " "))
    return int(line.split(" (300-d words)")[0].split()[-1].replace(",", ""))


def test_models_counts_parameters_at_the_options_given():
    result = models("--model", "lfmim", "--option", "width=16", "--option", "tokens=0")
    assert result.exit_code == 0, result.output
    counted = parameters_in(result.output, "lfmim")
    assert counted == parameter_count("lfmim", options={"width": 16, "tokens": 0}) < parameter_count("lfmim")
    assert "at width=16, tokens=0;" in result.output
    assert not any(line.startswith("eea ") for line in result.output.splitlines())


@pytest.mark.parametrize("args, exit_code, message", [
    (["--option", "width=64"], 2, "--option needs --model NAME"),
    (["--seconds", "3"], 2, "--seconds needs --flops"),
    (["--flops", "--model", "eea"], 2, "--model does not apply"),
    (["--model", "eea", "--option", "width=64"], 1, "--option width=64: not an option of eea"),
    (["--model", "lfmim", "--option", "dropout=2"], 1, "--option dropout=2.0: must be within [0, 1) (a rate)"),
])
def test_models_options_it_would_not_use_are_one_line_errors(args, exit_code, message):
    result = models(*args)
    lines = result.output.strip().splitlines()
    assert result.exit_code == exit_code and len(lines) == 1 and message in lines[0], result.output

