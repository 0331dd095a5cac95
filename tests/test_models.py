"""Generated from the registry: every backbone gets the same checks."""

import pytest
import torch

from emozsl.batches import media_items
from emozsl.errors import EmozslError
from emozsl.models import COUNT, REGISTRY, Backbone, BackboneModule, register, resolve_options
from emozsl.models.build import build_model
from emozsl.models.sequence import ITEM_ROWS, LENGTHS, SLOTS, left_align
from emozsl.models.summary import models_table
from emozsl.runs import load_state, save_state

DIMS = {"text": 12, "audio": 7, "visual": 5}
WORD_DIM = 8
ALIGNED = {"text": 6, "audio": 6, "visual": 6}
UNALIGNED = {"text": 6, "audio": 11, "visual": 9}
# Raw-media backbones (fe2e, mesm): tokens, mel chunks and face frames, at small widths.
RAW = {"text": 7, "audio": 3, "visual": 2}
RAW_OPTIONS = {"width": 2, "d": 8, "layers": 1, "heads": 2, "text_dim": 8, "text_layers": 1, "vocabulary": 64}


def batch(steps: dict[str, int], n: int = 4, seed: int = 0) -> dict:
    """Inputs as they reach a model (emozsl.batches): raw media with their decoded lengths; feature
    steps with zero padding anywhere, aligned by `ready`."""
    generator = torch.Generator().manual_seed(seed)
    if steps is RAW:
        return {"text": torch.randint(1, 64, (n, steps["text"]), generator=generator),
                "audio": torch.randn(n, steps["audio"], 1, 128, 32, generator=generator),
                "visual": torch.rand(n, steps["visual"], 3, 48, 48, generator=generator) * 255,
                LENGTHS: {m: torch.full((n,), t) for m, t in steps.items()}}
    return {m: torch.randn(n, steps[m], d, generator=generator) for m, d in DIMS.items()}


def ready(x: dict, joint: bool = False) -> dict:
    """The model's batch: feature padding found and moved as at load (`joint`: early fusion); raw
    chunks and frames (given as (B, S, ...) grids with their lengths) as real items and their
    layout (batches.Collate)."""
    if LENGTHS not in x:
        return left_align(x, joint)
    out = {"text": x["text"], LENGTHS: dict(x[LENGTHS]), SLOTS: {}, ITEM_ROWS: {}}
    for m in ("audio", "visual"):
        sequences = [x[m][k, :n].numpy() for k, n in enumerate(x[LENGTHS][m].tolist())]
        out[m], out[SLOTS][m], out[ITEM_ROWS][m] = media_items(sequences)
    return out


def pad_end(x: dict, steps: int) -> dict:
    """`steps` padding steps after every sequence (zero chunks and frames, pad tokens)."""
    out = {m: torch.cat([a, torch.zeros(len(a), steps, *a.shape[2:], dtype=a.dtype)], 1) for m, a in x.items() if m != LENGTHS}
    return {**out, LENGTHS: x[LENGTHS]} if LENGTHS in x else out


def rows(x: dict, index) -> dict:
    return {m: ({k: v[index] for k, v in a.items()} if m == LENGTHS else a[index]) for m, a in x.items()}


def emotions(k: int) -> torch.Tensor:
    return torch.randn(k, WORD_DIM, generator=torch.Generator().manual_seed(k))


def model_for(name: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(name, DIMS, WORD_DIM, RAW_OPTIONS if REGISTRY[name].inputs == "raw" else None)


@pytest.fixture(params=list(REGISTRY))
def name(request):
    return request.param


def shapes(name: str) -> dict[str, int]:
    if REGISTRY[name].inputs == "raw":
        return RAW
    return UNALIGNED if REGISTRY[name].unaligned else ALIGNED


@pytest.mark.parametrize("steps", [ALIGNED, UNALIGNED], ids=["aligned", "unaligned"])
def test_forward_backward(name, steps):
    model = model_for(name)
    steps = RAW if REGISTRY[name].inputs == "raw" else steps
    if steps is UNALIGNED and not REGISTRY[name].unaligned:
        with pytest.raises(EmozslError, match="aligned"):  # an aligned-only backbone must say so
            model(ready(batch(steps)), emotions(5))
        return
    outputs = model.outputs(ready(batch(steps)), emotions(5))
    assert outputs["prediction"].shape == (4, 5)
    sum(o.sum() for o in outputs.values()).backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"parameters outside the graph: {missing}"


def test_emotion_list_is_an_input(name):
    model = model_for(name).eval()
    x = ready(batch(shapes(name)))
    vectors = emotions(6)
    with torch.no_grad():
        five = model(x, vectors[:5])
        six = model(x, vectors)
    assert six.shape == (4, 6)
    assert torch.allclose(six[:, :5], five, atol=1e-5)


def test_padding_is_masked(name):
    """Zero steps (padding) added to every sequence, at the front as MOSEI pads or at the end as
    per-utterance files are padded, leave every output unchanged."""
    model = model_for(name).eval()
    steps = shapes(name)
    x, vectors = batch(steps), emotions(3)
    with torch.no_grad():
        reference = model(ready(x), vectors)
        assert torch.allclose(model(ready(pad_end(x, 2)), vectors), reference, atol=1e-5)
        if steps is not RAW:  # raw media are padded at the end only (batches.Collate)
            front = {m: torch.cat([torch.zeros(4, 3, *a.shape[2:]), a], 1) for m, a in x.items()}
            assert torch.allclose(model(ready(front), vectors), reference, atol=1e-5)


def test_samples_are_independent_of_their_batch(name):
    """In eval mode a sample's logits do not depend on the other samples or its padded length
    (an LSTM recurring over the batch axis, LMR-CBT's original defect, fails this)."""
    model = model_for(name).eval()
    steps = shapes(name)
    x, vectors = batch(steps, n=5), emotions(3)
    short = {m: a.clone() for m, a in x.items() if m != LENGTHS}
    if steps is RAW:  # sample 1 is shorter: its last chunk, frame and token are padding
        short[LENGTHS] = {m: v.clone() for m, v in x[LENGTHS].items()}
        for m, a in short[LENGTHS].items():
            a[1] -= 1
            short[m][1, -1] = 0
        alone = {**{m: a[1:2, :-1] for m, a in short.items() if m != LENGTHS}, LENGTHS: rows(short, [1])[LENGTHS]}
    else:  # sample 1 is shorter: its first two steps are padding
        for a in short.values():
            a[1, :2] = 0
        alone = {m: a[1:2, 2:] for m, a in short.items()}
    with torch.no_grad():
        together = model(ready(short), vectors)
        alone = model(ready(alone), vectors)
        others = model(ready(rows(short, [0, 2, 3, 4])), vectors)
    assert torch.allclose(together[1:2], alone, atol=1e-5)
    assert torch.allclose(together[[0, 2, 3, 4]], others, atol=1e-5)


def test_checkpoint_round_trip_gives_identical_outputs(name, tmp_path):
    model = model_for(name).eval()
    save_state(model, tmp_path / "c.pt")
    fresh = model_for(name, seed=1).eval()
    load_state(fresh, tmp_path / "c.pt")
    x, vectors = ready(batch(shapes(name))), emotions(3)
    with torch.no_grad():
        assert torch.equal(model(x, vectors), fresh(x, vectors))


def test_models_table_lists_every_backbone_with_parameters():
    table = models_table()
    for backbone in REGISTRY:
        row = next(line for line in table.splitlines() if line.startswith(backbone + " "))
        assert int(row.split(" (300-d words)")[0].split()[-1].replace(",", "")) > 0


def test_unknown_or_mistyped_options_are_errors():
    with pytest.raises(EmozslError, match=r"model_options.hiden=3: not an option of eea \(options: audio_hidden"):
        resolve_options("eea", {"hiden": 3})
    with pytest.raises(EmozslError, match="model_options.audio_hidden=big: is not an integer"):
        resolve_options("eea", {"audio_hidden": "big"})
    with pytest.raises(EmozslError, match="model_options.layers=0: must be at least 1"):
        resolve_options("eea", {"layers": "0"})
    with pytest.raises(EmozslError, match=r"model_options.dropout=1.5: must be within \[0, 1\)"):
        resolve_options("eea", {"dropout": 1.5})
    with pytest.raises(EmozslError, match="model_options.layers=2.5: is not an integer"):
        resolve_options("eea", {"layers": 2.5})
    assert resolve_options("eea", {"audio_hidden": "32"})["audio_hidden"] == 32
    with pytest.raises(EmozslError, match="model=nope: choose one of eea"):
        build_model("nope", DIMS, WORD_DIM)


def test_eea_poolings_differ_and_text_lives_in_word_space():
    final = model_for("eea").eval()
    last = build_model("eea", DIMS, WORD_DIM, {"pooling": "last-step-sum"}).eval()
    last.load_state_dict(final.state_dict())
    x, vectors = ready(batch(ALIGNED)), emotions(3)
    with torch.no_grad():
        assert not torch.allclose(final(x, vectors), last(x, vectors))
    assert isinstance(final.head.maps["text"], torch.nn.Identity)
    with pytest.raises(EmozslError, match="model_options.pooling=mean: choose one of final-states"):
        build_model("eea", DIMS, WORD_DIM, {"pooling": "mean"})


class SpacesOutsideTheirDims(torch.nn.Module):
    """A backbone factory that breaks the contract: it fuses a space it does not declare."""

    def __init__(self, input_dims, word_dim, width: int = 4):
        super().__init__()
        self.space_dims, self.fused_spaces = {"text": width}, ("text", "audio")

    def forward(self, batch):
        return {"text": batch["text"][:, 0, :1]}


def test_every_registered_backbone_meets_the_module_contract(name):
    model = model_for(name)
    assert isinstance(model.backbone, BackboneModule)
    x = ready(batch(shapes(name)), joint=not REGISTRY[name].unaligned)
    with torch.no_grad():
        spaces = model.backbone(x)
    assert {s: tuple(v.shape) for s, v in spaces.items()} == {s: (4, d) for s, d in model.backbone.space_dims.items()}


@pytest.mark.parametrize(("target", "fault"), [
    ("torch.nn:Identity", "the factory returned Identity, which has no space_dims"),
    (f"{__name__}:SpacesOutsideTheirDims", "fused_spaces audio not in space_dims (text)"),
])
def test_a_backbone_breaking_the_module_contract_is_refused_when_built(monkeypatch, target, fault):
    monkeypatch.setitem(REGISTRY, "broken", Backbone("broken", target, "test", unaligned=True, options={}))
    with pytest.raises(EmozslError) as caught:
        build_model("broken", DIMS, WORD_DIM)
    message = str(caught.value)
    assert message.startswith(f"backbone 'broken' ({target}): ") and fault in message and "\n" not in message


@pytest.mark.parametrize(("declared", "fault"), [
    ({"name": "eea"}, "backbone 'eea': registered twice"),
    ({"target": "emozsl.models.eea.EmoEmbs"}, "target 'emozsl.models.eea.EmoEmbs' is not 'module:Attribute'"),
    ({"inputs": "video"}, "inputs 'video': choose one of features, raw"),
    ({"options": {"width": int}}, "every option needs a Kind"),
    ({"epochs": 0}, "epochs must be at least 1"),
])
def test_a_backbone_declared_against_the_contract_is_refused_at_registration(declared, fault):
    fields = {"name": "fresh", "target": "emozsl.models.eea:EmoEmbs", "paper": "test", "unaligned": True,
              "options": {"width": COUNT}, **declared}
    with pytest.raises(EmozslError) as caught:
        register(Backbone(**fields))
    assert fault in str(caught.value) and "\n" not in str(caught.value)
    assert "fresh" not in REGISTRY
