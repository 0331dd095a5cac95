"""Generated from the registry: every backbone gets the same checks."""

import pytest
import torch

from emozsl.errors import EmozslError
from emozsl.models import REGISTRY, build_model, resolve_options
from emozsl.models.summary import models_table
from emozsl.runs import load_checkpoint, save_checkpoint

DIMS = {"text": 12, "audio": 7, "visual": 5}
WORD_DIM = 8


def batch(steps: dict[str, int], n: int = 4) -> dict[str, torch.Tensor]:
    return {m: torch.randn(n, steps[m], d) for m, d in DIMS.items()}


def emotions(k: int) -> torch.Tensor:
    return torch.randn(k, WORD_DIM, generator=torch.Generator().manual_seed(k))


@pytest.fixture(params=list(REGISTRY))
def name(request):
    return request.param


@pytest.mark.parametrize("steps", [{"text": 6, "audio": 6, "visual": 6}, {"text": 6, "audio": 11, "visual": 9}],
                         ids=["aligned", "unaligned"])
def test_forward_backward(name, steps):
    torch.manual_seed(0)
    model = build_model(name, DIMS, WORD_DIM)
    if steps["audio"] != steps["text"] and not REGISTRY[name].unaligned:
        with pytest.raises(EmozslError, match="aligned"):  # an aligned-only backbone must say so
            model(batch(steps), emotions(5))
        return
    logits = model(batch(steps), emotions(5))
    assert logits.shape == (4, 5)
    logits.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)


def test_emotion_list_is_an_input(name):
    torch.manual_seed(0)
    model = build_model(name, DIMS, WORD_DIM).eval()
    x = batch({m: 6 for m in DIMS})
    vectors = emotions(6)
    with torch.no_grad():
        five = model(x, vectors[:5])
        six = model(x, vectors)
    assert six.shape == (4, 6)
    assert torch.allclose(six[:, :5], five, atol=1e-6)


def test_checkpoint_round_trip_gives_identical_outputs(name, tmp_path):
    torch.manual_seed(0)
    model = build_model(name, DIMS, WORD_DIM).eval()
    save_checkpoint(model, tmp_path / "c.pt")
    torch.manual_seed(1)
    fresh = build_model(name, DIMS, WORD_DIM).eval()
    load_checkpoint(fresh, tmp_path / "c.pt")
    x, vectors = batch({m: 6 for m in DIMS}), emotions(3)
    with torch.no_grad():
        assert torch.equal(model(x, vectors), fresh(x, vectors))


def test_models_table_lists_every_backbone_with_parameters():
    table = models_table()
    for backbone in REGISTRY:
        row = next(line for line in table.splitlines() if line.startswith(backbone + " "))
        assert int(row.split()[-2].replace(",", "")) > 0


def test_unknown_or_mistyped_options_are_errors():
    with pytest.raises(EmozslError, match="unknown option"):
        resolve_options("eea", {"hiden": 3})
    with pytest.raises(EmozslError, match="audio_hidden='big' is not a int"):
        resolve_options("eea", {"audio_hidden": "big"})
    assert resolve_options("eea", {"audio_hidden": "32"})["audio_hidden"] == 32
    with pytest.raises(EmozslError, match="model 'nope'"):
        build_model("nope", DIMS, WORD_DIM)


def test_eea_poolings_differ_and_text_lives_in_word_space():
    torch.manual_seed(0)
    final = build_model("eea", DIMS, WORD_DIM).eval()
    last = build_model("eea", DIMS, WORD_DIM, {"pooling": "last-step-sum"}).eval()
    last.load_state_dict(final.state_dict())
    x, vectors = batch({m: 6 for m in DIMS}), emotions(3)
    with torch.no_grad():
        assert not torch.allclose(final(x, vectors), last(x, vectors))
    assert isinstance(final.head.maps["text"], torch.nn.Identity)
    with pytest.raises(EmozslError, match="pooling 'mean'"):
        build_model("eea", DIMS, WORD_DIM, {"pooling": "mean"})
