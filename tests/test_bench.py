"""The bench command and the DataLoader comparison script (figures are printed, never asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from emozsl.cli import main
from emozsl.errors import EmozslError
from emozsl.config import RunConfig
from emozsl.train import train

ROOT = Path(__file__).resolve().parents[1]


def test_bench_prints_a_table_and_writes_json(synth_mosei_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, ["bench", "--model", "transformer_ef", "--device", "cpu",
                                       "--data", str(synth_mosei_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "train samples/s" in result.output and "transformer_ef" in result.output
    stored = json.loads(out.read_text())
    assert stored["samples"] == {"train": 1600, "valid": 300, "test": 600}
    row = stored["results"][0]
    assert row["model"] == "transformer_ef" and row["train_samples_per_s"] > 0 and row["eval_samples_per_s"] > 0
    assert row["epoch_seconds"] == pytest.approx(row["train_seconds"] + row["eval_seconds"])


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
