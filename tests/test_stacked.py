"""Stacked trials: runs that share their data train together in one process, and each ends exactly
as it would alone (on a CPU to the last bit: same inits, dropout masks, batch orders and
arithmetic), with a whole run folder of its own; a killed stacked sweep resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import torch

from emozsl.config import RunConfig
from emozsl.commands.crossval import repeated_runs
from emozsl.data.generated.raw_synth import synth_raw
from emozsl.runs import CHECKPOINT_FILE, RunDir
from emozsl.commands.sweep import load_sweep, plan_groups, run_sweep

RUN_FILES = {"config.json", "split.json", "metadata.json", "metrics.jsonl", "checkpoint.pt", "reference.pt",
             "results.json"}


def write_sweep(path, data, runs_dir, grid, stack=None):
    path.write_text(f'''name = "s"
{f"stack = {stack}" if stack else ""}
[base]
data = "{data}"
protocol = "zsl"
epochs = 3
early_stop = 2
device = "cpu"
runs_dir = "{runs_dir}"
[grid]
{grid}
[models.lf_lstm]
model_options = {{ hidden = 8, layers = 2 }}
[models.transformer_ef]
model_options = {{ d = 16, layers = 1, heads = 2 }}
''')
    return path


def same_runs(one, other, names):
    """Every trial: the same per-epoch losses and scores, test metrics and checkpoint."""
    for name in names:
        a, b = RunDir.open(one / name), RunDir.open(other / name)
        assert set(os.listdir(a.path)) == RUN_FILES == set(os.listdir(b.path))
        drop = ("seconds", "capture_seconds")
        assert ([{k: v for k, v in m.items() if k not in drop} for m in a.read_metrics()]
                == [{k: v for k, v in m.items() if k not in drop} for m in b.read_metrics()]), name
        assert json.dumps(a.read_results().test.to_dict()) == json.dumps(b.read_results().test.to_dict()), name
        for file in (CHECKPOINT_FILE, "reference.pt"):  # the model and its calibration reference
            left, right = (torch.load(r.path / file, weights_only=True) for r in (a, b))
            assert all(torch.equal(left[k], right[k]) for k in left), name


@pytest.mark.slow
def test_stacked_sweep_equals_trials_trained_one_by_one(tmp_path, synth_mosei_dir):
    grid = 'model = ["lf_lstm", "transformer_ef"]\ntarget = ["anger", "fear"]\nseed = [0, 1]'
    alone = write_sweep(tmp_path / "alone.toml", synth_mosei_dir, tmp_path / "alone", grid, stack=1)
    together = write_sweep(tmp_path / "together.toml", synth_mosei_dir, tmp_path / "together", grid)
    names = [t.id for t in load_sweep(alone).trials]
    assert [len(g) for g in plan_groups(load_sweep(together).trials, 8, 1)] == [8]
    assert run_sweep(alone)[1]["done"] == 8
    assert run_sweep(together, stack=8)[1] == {"trials": 8, "skipped": 0, "done": 8, "busy": 0}
    same_runs(tmp_path / "alone", tmp_path / "together", names)


@pytest.mark.slow
def test_stacked_seeds_of_a_raw_media_model_equal_seeds_trained_one_by_one(tmp_path):
    """--seeds with stacking, on raw media (the DataLoader draws its seeds from each run's own state)."""
    data = tmp_path / "raw"
    synth_raw(data, seed=0, sizes={"train": 24, "valid": 8, "test": 24})
    options = {"width": 2, "d": 8, "layers": 1, "heads": 2, "text_dim": 8, "text_layers": 1, "vocabulary": 64}
    summaries = []
    for stack in (1, 3):
        config = RunConfig(model="fe2e", data=str(data), protocol="zsl", target="fear", epochs=2, batch_size=8,
                           device="cpu", model_options=options, runs_dir=str(tmp_path / f"stack{stack}"))
        parent, summary = repeated_runs(config, seeds=3, stack=stack)
        summaries.append((parent, summary))
    (alone, first), (together, second) = summaries
    assert json.dumps(first["per_emotion"]) == json.dumps(second["per_emotion"])
    same_runs(alone, together, ["seed0", "seed1", "seed2"])


@pytest.mark.slow
def test_killed_stacked_sweep_resumes_with_nothing_lost_or_duplicated(tmp_path, synth_mosei_dir):
    """Two trials stacked, one stops after 1 epoch: kill the process while the other trains. The
    finished one is whole and kept; the rerun trains the killed one from the start."""
    path = write_sweep(tmp_path / "s.toml", synth_mosei_dir, tmp_path / "sweep", 'model = ["lf_lstm"]\n'
                       'target = ["fear"]\nepochs = [1, 12]', stack=2)
    text = path.read_text().replace("early_stop = 2", "early_stop = 12")
    path.write_text(text)
    folder = tmp_path / "sweep"
    ids = [t.id for t in load_sweep(path).trials]
    process = subprocess.Popen([sys.executable, "-m", "emozsl.cli", "-q", "sweep", str(path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while not (folder / ids[0] / "results.json").exists():
        assert time.time() < deadline and process.poll() is None, "the short trial never finished"
        time.sleep(0.05)
    time.sleep(1.0)  # the long one is training, in .partial
    process.kill()
    process.wait()
    assert not (folder / ids[1]).exists() and (folder / ".partial").exists()
    stamp = os.stat(folder / ids[0] / "results.json").st_mtime_ns
    assert set(os.listdir(folder / ids[0])) == RUN_FILES
    _, counts = run_sweep(path)
    assert counts == {"trials": 2, "skipped": 1, "done": 1, "busy": 0}
    assert os.stat(folder / ids[0] / "results.json").st_mtime_ns == stamp  # not retrained
    assert json.loads((folder / ids[1] / "results.json").read_text())["epochs_run"] == 12
    assert not any((folder / ".partial").iterdir())
