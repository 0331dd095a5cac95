"""FE2E and MESM beyond the registry-generated checks: MESM's sparse blocks (trainable attention,
positions kept paired, compute falling with top_p), a local Hugging Face text model, the generated
raw data (seeded, no label leak), and training end to end from the command line."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import cpu_bf16_autocast, tiny_hf_model
from test_models import ready

from emozsl.cli import main
from emozsl.config import RunConfig
from emozsl.data import load_dataset
from emozsl.data.generated.raw_synth import synth_raw, vocabulary_path
from emozsl.data.readers.mosei import MOSEI_EMOTIONS
from emozsl.embeddings import load_embeddings
from emozsl.errors import EmozslError
from emozsl.features.align import parse_words_column
from emozsl.features.extractors import read_openface
from emozsl.features.openface_layout import openface_header
from emozsl.models.build import build_model
from emozsl.models.flops import feature_extraction_flops
from emozsl.models.mesm import (
    CrossModalSparseAttention,
    KeptPositions,
    nucleus,
    sparse_conv,
)
from emozsl.models.sequence import LENGTHS
from emozsl.session import build_session
from emozsl.train import make_optimizer

TINY = {"train": 36, "valid": 12, "test": 24}
SMALL_MODEL = {"width": 2, "d": 8, "layers": 1, "heads": 2, "text_dim": 8, "text_layers": 1, "vocabulary": 64}
RAW_DIMS = {"text": 1, "audio": 128, "visual": 3}


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw")
    synth_raw(out, seed=0, sizes=TINY)
    return out


def test_nucleus_keeps_the_smallest_set_reaching_p():
    probabilities = torch.tensor([[0.5, 0.05, 0.3, 0.15], [0.25, 0.25, 0.25, 0.25]])
    assert nucleus(probabilities, 0.7).tolist() == [[True, False, True, False], [True, True, True, False]]
    assert nucleus(probabilities, 0.5).tolist()[0] == [True, False, False, False]
    assert nucleus(probabilities, 1.0).all()


def test_sparse_convolution_computes_each_kept_position_from_its_own_patch():
    """At every kept position the sparse result equals the dense convolution there; elsewhere it is
    zero: no feature is computed from, or written to, another position (the original's defect)."""
    torch.manual_seed(0)
    layer = torch.nn.Conv2d(3, 5, 3, padding=1)
    x = torch.randn(2, 6, 7, 3)  # channels-last
    keep = torch.rand(2, 6, 7) < 0.4
    sparse = sparse_conv(x, layer, KeptPositions(keep))
    dense = layer(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    torch.testing.assert_close(sparse[keep], dense[keep], rtol=1e-5, atol=1e-5)
    assert (sparse[~keep] == 0).all()


def test_sparse_attention_receives_gradient_and_weights_kept_features():
    torch.manual_seed(0)
    block = CrossModalSparseAttention(4, 6, 8)
    m, query = torch.randn(3, 5, 5, 4), torch.randn(3, 6)
    live = torch.ones(3, 5, 5, dtype=torch.bool)
    out, keep, attention = block(m, query, live, 0.5)
    assert 0 < keep.float().mean() < 1
    expected = m * (keep * attention * 25).unsqueeze(-1)  # weights average 1 over the 25 live positions
    torch.testing.assert_close(out, expected)
    out.pow(2).sum().backward()
    for name, parameter in block.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_mesm_attention_is_trained_end_to_end():
    torch.manual_seed(0)
    model = build_model("mesm", RAW_DIMS, 8, {**SMALL_MODEL, "top_p": 0.5})
    batch = {"text": torch.randint(1, 64, (2, 5)), "audio": torch.randn(2, 2, 1, 128, 32),
             "visual": torch.rand(2, 2, 3, 48, 48) * 255, LENGTHS: {m: torch.tensor([5, 2]) for m in ("text", "audio")}}
    batch[LENGTHS]["visual"] = torch.tensor([2, 1])
    model(ready(batch), torch.randn(3, 8)).sum().backward()
    for modality in ("audio", "visual"):
        for name, parameter in model.backbone.streams[modality].cnn.attention.named_parameters():
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, (modality, name)


def test_mesm_flops_fall_with_top_p():
    flops = [feature_extraction_flops("mesm", 2.0, {**SMALL_MODEL, "top_p": p}) for p in (0.2, 0.5, 1.0)]
    assert flops[0] < flops[1] < flops[2]
    assert flops[0] < 0.6 * flops[2]  # the stem and the projection stay dense


def test_mesm_needs_text_and_a_fraction_for_top_p():
    with pytest.raises(EmozslError, match="model_options.top_p=1.5: must be within \\(0, 1\\]"):
        RunConfig(model="mesm", model_options={"top_p": 1.5})
    with pytest.raises(EmozslError, match="mesm needs text"):
        RunConfig(model="mesm", modalities=["audio", "visual"])
    assert RunConfig(model="mesm", model_options={"top_p": "1"}).model_options["top_p"] == 1.0


def test_local_hugging_face_text_model_is_loaded_and_fine_tuned_slower(tmp_path, raw_dir):
    folder = tiny_hf_model(tmp_path / "bert")
    config = RunConfig(model="fe2e", data=str(raw_dir), protocol="zsl", target="fear", device="cpu",
                       model_options={**SMALL_MODEL, "text_model": str(folder)}, runs_dir=str(tmp_path / "runs"))
    session = build_session(config)
    backbone = session.model.backbone
    assert backbone.space_dims["text"] == 16
    assert backbone.tokenize(["la ba zz"])[0].tolist() == [2, backbone.text.hf_tokenizer.convert_tokens_to_ids("la"),
                                                          backbone.text.hf_tokenizer.convert_tokens_to_ids("ba"), 1, 3]
    groups = make_optimizer(session, captured=False).param_groups
    assert [g["lr"] for g in groups] == [pytest.approx(1e-3), pytest.approx(1e-4)]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in backbone.text.model.parameters()}
    with pytest.raises(EmozslError, match="model_options.text_model=.*no config.json"):
        RunConfig(model="fe2e", model_options={"text_model": str(tmp_path)})


def test_generated_raw_data_is_seeded_and_leaks_no_label(tmp_path, raw_dir):
    again = tmp_path / "again"
    synth_raw(again, seed=0, sizes=TINY)
    assert (again / "utterances.csv").read_text() == (raw_dir / "utterances.csv").read_text()
    for name in ("test_00003.wav", "test_00003.csv"):
        assert (again / "media" / name).read_bytes() == (raw_dir / "media" / name).read_bytes()
    rows = list(csv.DictReader((raw_dir / "utterances.csv").open()))
    labels = np.array([[float(r[f"label_{e}"]) > 0 for e in MOSEI_EMOTIONS] for r in rows], float)
    vocabulary = load_embeddings(raw_dir / "word_vectors.txt").index_to_key
    assert vocabulary == load_embeddings(vocabulary_path()).index_to_key
    words = {w for r in rows for w in r["text"].split()}
    assert words <= set(vocabulary) and not words & set(load_embeddings().index_to_key)  # no emotion word
    import soundfile

    info = [soundfile.info(str(raw_dir / r["audio"])) for r in rows]
    timings, openface = [], []
    for r, i in zip(rows, info):  # names and paths carry the split and a running number only
        assert r["audio"] == f"media/{r['id']}.wav" and r["frames"] == f"media/{r['id']}"
        timed = parse_words_column(r["words"], r["id"])
        assert [w for w, _, _ in timed] == r["text"].split()  # the words column times the transcript
        times = np.array([[s, e] for _, s, e in timed])
        assert (np.diff(times.ravel()) > 0).all() and times[-1, 1] < i.frames / i.samplerate
        timings.append(times)
        values, steps = read_openface(raw_dir / "media" / f"{r['id']}.csv")  # where --visual openface looks
        frames = len(list((raw_dir / r["frames"]).iterdir()))
        assert len(values) == frames and steps[:, 0].tolist() == [0.5 * k for k in range(frames)]
        openface.append(values)
    header = (raw_dir / "media" / f"{rows[0]['id']}.csv").read_text().splitlines()[0]
    assert header.split(", ") == openface_header() and len(openface_header()) == 714
    lost = np.array([(v == 0).all(1).sum() for v in openface])
    assert 0 < lost.sum() < 0.2 * sum(len(v) for v in openface)  # some rows OpenFace "lost"
    # No label reaches the inputs by a route other than the hidden maps: nothing a reader sees
    # besides the media's content (lengths, rates, channels, frame and OpenFace row counts, lost
    # rows, word counts and timings) follows the labels.
    surface = np.array([[i.frames / i.samplerate, i.samplerate, i.channels, len(v), n_lost, len(t),
                         np.mean(t[:, 1] - t[:, 0]), t[0, 0], np.mean(t[1:, 0] - t[:-1, 1])]
                        for i, v, n_lost, t in zip(info, openface, lost, timings)])
    for column in surface.T:
        centred = (column - column.mean()) / (column.std() + 1e-9)
        correlation = np.abs(centred @ ((labels - labels.mean(0)) / labels.std(0))) / len(rows)
        assert correlation.max() < 0.35


def test_wrong_kind_of_data_for_a_backbone_is_one_error(tmp_path, raw_dir, synth_mosei_dir):
    runner = CliRunner()
    result = runner.invoke(main, ["train", "--model", "eea", "--zsl", "fear", "--data", str(raw_dir)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: --model eea: reads pre-extracted features, but {raw_dir} holds raw media (models for it: fe2e, mesm; "
        f"or extract features of it first: emozsl features extract {raw_dir} feats.h5 ...)"]
    result = runner.invoke(main, ["train", "--model", "mesm", "--zsl", "fear", "--data", str(synth_mosei_dir)])
    assert "--model mesm: reads raw media, but" in result.output and result.exit_code == 1


@pytest.mark.slow
def test_split_train_and_eval_a_raw_model_from_the_command_line(tmp_path, raw_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["split", "--zsl", "fear", "--data", str(raw_dir)])
    assert result.exit_code == 0, result.output
    manifest = json.loads(next((tmp_path / "splits").glob("raw_zsl_fear_seed0.json")).read_text())
    assert manifest["unseen"] == ["fear"]
    options = [x for k, v in SMALL_MODEL.items() for x in ("--option", f"{k}={v}")]
    result = runner.invoke(main, ["train", "--model", "mesm", "--zsl", "fear", "--data", str(raw_dir), "--epochs", "2",
                                  "--batch-size", "12", "--device", "cpu", *options])
    assert result.exit_code == 0, result.output
    assert "fear            unseen" in result.output
    run = tmp_path / "runs" / "mesm_zsl_fear_seed0"
    stored = json.loads((run / "results.json").read_text())
    assert len(stored["test"]["per_emotion"]) == 6
    result = runner.invoke(main, ["eval", str(run), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    fear = next(line for line in result.output.splitlines() if line.startswith("fear"))
    expected = next(r for r in stored["test"]["per_emotion"] if r["emotion"] == "fear")
    assert f"{expected['auc']:.3f}" in fear  # the re-scored checkpoint reproduces the stored result


@pytest.mark.parametrize("name", ["fe2e", "mesm"])
def test_bf16_autocast_forward_and_backward(name):
    """What `--precision bf16` runs on CUDA, checked here under the CPU's bf16 autocast."""
    torch.manual_seed(0)
    model = build_model(name, RAW_DIMS, 8, SMALL_MODEL)
    batch = {"text": torch.randint(1, 64, (2, 5)), "audio": torch.randn(2, 3, 1, 128, 32),
             "visual": torch.rand(2, 2, 3, 48, 48) * 255,
             LENGTHS: {"text": torch.tensor([5, 5]), "audio": torch.tensor([3, 2]), "visual": torch.tensor([2, 2])}}
    batch["audio"][1, 2] = 0
    with cpu_bf16_autocast():
        logits = model(ready(batch), torch.randn(4, 8))
    assert logits.shape == (2, 4) and torch.isfinite(logits.float()).all()
    logits.float().sum().backward()


def test_bench_times_raw_backbones_beside_feature_ones(tmp_path, raw_dir, monkeypatch):
    from emozsl.commands.bench import bench, format_bench

    monkeypatch.setenv("EMOZSL_BENCH_DATA", str(tmp_path / "unused"))
    result = bench(["fe2e"], device="cpu", data=str(raw_dir), batch_size=12, out=None)
    row = result["results"][0]
    assert row["data"] == "raw" and row["samples"] == TINY and row["train_samples_per_s"] > 0
    assert "fe2e" in format_bench(result)
    mixed = bench(["fe2e", "eea"], device="cpu", data=str(raw_dir), batch_size=12, out=None)
    assert "reads pre-extracted features" in mixed["results"][1]["error"]  # one row fails, the other is kept
    assert "error" not in mixed["results"][0]


def test_missing_media_library_names_the_extra(monkeypatch):
    import sys

    from emozsl.data.media.decode import require

    monkeypatch.setitem(sys.modules, "soundfile", None)  # what an environment without it looks like
    with pytest.raises(EmozslError, match=r"reading audio needs the optional media libraries: pip install 'soundfile>=0.12' .*\(emozsl's extra \[media\]\)"):
        require("soundfile", "reading audio")


def test_cross_validation_folds_work_on_raw_data(raw_dir):
    from emozsl.splits import fold_dataset

    data = load_dataset(raw_dir)
    fold = fold_dataset(data, 4, 0, 0)
    assert sum(len(p) for p in fold.splits.values()) == sum(len(p) for p in data.splits.values())
    assert fold.kind == "raw" and len(fold.splits["test"].features["audio"]) == len(fold.splits["test"])
