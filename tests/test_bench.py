"""The bench command and the DataLoader comparison script (figures are printed, never asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from emozsl.cli import main
from emozsl.config import RunConfig
from emozsl.errors import EmozslError
from emozsl.train import train

ROOT = Path(__file__).resolve().parents[1]


def test_bench_prints_a_table_and_writes_json(synth_mosei_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, ["bench", "--model", "transformer_ef", "--device", "cpu",
                                       "--data", str(synth_mosei_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "train samples/s" in result.output and "transformer_ef" in result.output
    stored = json.loads(out.read_text())
    row = stored["results"][0]
    assert row["samples"] == {"train": 1600, "valid": 300, "test": 600} and row["data"] == "features"
    assert row["model"] == "transformer_ef" and row["train_samples_per_s"] > 0 and row["eval_samples_per_s"] > 0
    assert row["epoch_seconds"] == pytest.approx(row["train_seconds"] + row["eval_seconds"])


@pytest.mark.slow
def test_dataloader_comparison_script_reports_a_ratio(synth_mosei_dir):
    env = {**os.environ, "EMOZSL_BENCH_DATA": str(synth_mosei_dir)}
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "resident_vs_dataloader.py"),
                             "--model", "transformer_ef", "--size", "small", "--device", "cpu"],
                            capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "DataLoader per sample" in result.stdout and "speed-up of a full epoch" in result.stdout


def test_bf16_without_cuda_is_refused_before_training(synth_mosei_dir, tmp_path):
    with pytest.raises(EmozslError, match="precision=bf16: needs a CUDA device"):
        train(RunConfig(data=str(synth_mosei_dir), precision="bf16", device="cpu", runs_dir=str(tmp_path)))
    with pytest.raises(EmozslError, match="precision=fp16: choose one of fp32, bf16"):
        RunConfig(precision="fp16")


def test_bench_builds_auxiliary_targets_and_reports_a_failing_backbone_without_losing_the_others(tmp_path):
    """lfmim trains its uni-modal spaces in bench as in train (one session builder); an early-fusion
    backbone on unaligned data fails, and its row says why while the others are still timed."""
    from conftest import write_h5, write_mosei

    from emozsl.commands.bench import bench, format_bench

    folder = write_mosei(tmp_path / "unaligned")
    for split, n in {"train": 40, "valid": 12, "test": 16}.items():
        write_h5(folder / f"audio_{split}.h5", np.random.default_rng(0).normal(size=(n, 30, 74)).astype(np.float32))
    result = bench(["lfmim", "ef_lstm", "eea"], device="cpu", data=str(folder), out=tmp_path / "b.json")
    rows = {r["model"]: r for r in result["results"]}
    assert rows["lfmim"]["epoch_seconds"] > 0 and rows["eea"]["epoch_seconds"] > 0
    assert rows["ef_lstm"]["error"].startswith("EmozslError: ef_lstm: early fusion needs aligned data")
    table = format_bench(result)
    assert "ef_lstm         failed: EmozslError" in table and table.count("\n") == 5  # and a legend


def test_bench_profile_reports_syncs_operations_and_graph_breaks_per_backbone(synth_mosei_dir, tmp_path):
    out = tmp_path / "profile.json"
    result = CliRunner().invoke(main, ["bench", "--model", "eea", "--model", "transformer_lf", "--profile",
                                       "--device", "cpu", "--data", str(synth_mosei_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[1]
    assert "syncs/step" in header and "graph breaks" in header and "ops/step" in header
    rows = json.loads(out.read_text())["results"]
    for row in rows:
        assert row["host_syncs_per_step"] == 0 and row["scoring_syncs_per_step"] == 0 and row["graph_breaks"] == 0
        assert row["ops_per_step"] > 100 and row["sync_sites"] == {} and row["capture_seconds"] == 0
    assert json.loads(out.read_text())["profile"] is True
