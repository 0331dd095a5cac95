"""Faults of the machine, not of the input: a process killed mid-run, a full disk, a read-only
folder, two processes on one folder. Nothing may be lost, nothing half-written may look finished,
and no temporary file may be left behind."""

from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from emozsl.cli import main
from emozsl.config import RunConfig
from emozsl.errors import EmozslError
from emozsl.reports import collect
from emozsl.runs import RunBusy, RunDir, find_runs
from emozsl.train import train

TINY = {"audio_hidden": 8, "visual_hidden": 8, "layers": 1}
TINY_OPTIONS = ["--option", "audio_hidden=8", "--option", "visual_hidden=8", "--option", "layers=1"]


def emozsl(*args, file_size_limit: int | None = None, wait: bool = True, threads: int | None = None):
    """The real command in a child process (optionally unable to write files beyond a size, as on a
    full disk: writes past the limit fail with EFBIG, which Python reports as an OSError; optionally
    with `threads` CPU threads, so that processes running at once do not each take every core)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    command = [sys.executable, "-m", "emozsl.cli", "-q", *map(str, args)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)} if threads else None
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env,
                          preexec_fn=limit if file_size_limit else None)


def leftovers(folder: Path) -> list[Path]:
    """Temporary files, and anything in a .partial folder other than nothing."""
    return sorted(p for p in folder.rglob("*") if p.name.endswith(".tmp") or (".partial" in p.parts and p.is_file()))


def one_line(result, fragment: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert fragment in lines[0], lines[0]


def test_disk_full_during_training_leaves_no_finished_run_and_no_temporary_file(synth_mosei_dir, tmp_path):
    """The checkpoint (600 kB) cannot be written: the run stops with one line naming it."""
    result = emozsl("train", "--data", synth_mosei_dir, "--zsl", "fear", "--epochs", 1, "--device", "cpu",
                    *TINY_OPTIONS, "--runs-dir", tmp_path / "runs", file_size_limit=200_000)
    one_line(result, "checkpoint.pt: cannot write (File too large)")
    assert find_runs(tmp_path / "runs") == [] and leftovers(tmp_path) == []
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [".partial"]


@pytest.fixture(scope="module")
def finished_run(synth_mosei_dir, tmp_path_factory) -> Path:
    return train(RunConfig(data=str(synth_mosei_dir), protocol="zsl", target="fear", epochs=1, model_options=TINY,
                           runs_dir=str(tmp_path_factory.mktemp("runs")), device="cpu"))


@pytest.mark.parametrize("command", ["eval", "report", "embeddings", "synth"])
def test_disk_full_in_other_commands_leaves_nothing_half_written(command, finished_run, tmp_path):
    out = tmp_path / "out"
    args = {"eval": ["eval", finished_run, "--out", out, "--device", "cpu"],
            "report": ["report", finished_run, "--out", out],
            "embeddings": ["embeddings", "build", "--source", "kumo", "--words", "mosei", "--out", out / "e.txt"],
            "synth": ["data", "synth", out]}[command]
    one_line(emozsl(*args, file_size_limit=600), "cannot write (File too large)")
    assert leftovers(tmp_path) == []
    assert not out.exists() or all(p.stat().st_size <= 600 for p in out.rglob("*") if p.is_file())
    if command == "embeddings":
        assert not (out / "e.txt").exists() and not (out / "e.txt.json").exists()


def test_read_only_folder_is_one_error_and_leaves_no_temporary_file(finished_run, tmp_path, monkeypatch):
    real_replace = os.replace

    def read_only(source, target):
        if str(target).startswith(str(tmp_path)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(target))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", read_only)
    result = CliRunner().invoke(main, ["-q", "eval", str(finished_run), "--out", str(tmp_path / "tables"), "--device", "cpu"])
    assert result.exit_code == 1 and result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'tables' / 'eval.csv'}: cannot write (Read-only file system)"]
    assert leftovers(tmp_path) == [] and not list((tmp_path / "tables").iterdir())


def test_a_run_whose_last_file_fails_is_not_finished(synth_mosei_dir, tmp_path, monkeypatch):
    import emozsl.fileio as fileio

    real = fileio.write_text

    def failing_results(path, text):
        if Path(path).name == "results.json":
            raise EmozslError(f"{path}: cannot write (No space left on device)")
        return real(path, text)

    monkeypatch.setattr(fileio, "write_text", failing_results)
    with pytest.raises(EmozslError, match="results.json: cannot write"):
        train(RunConfig(data=str(synth_mosei_dir), epochs=1, model_options=TINY, runs_dir=str(tmp_path), device="cpu"))
    assert find_runs(tmp_path) == [] and not any((tmp_path / ".partial").iterdir())


@pytest.mark.slow
def test_killed_run_never_looks_finished_and_the_next_run_clears_it(synth_mosei_dir, tmp_path):
    runs = tmp_path / "runs"
    process = emozsl("train", "--data", synth_mosei_dir, "--zsl", "fear", "--epochs", 30, "--device", "cpu",
                     *TINY_OPTIONS, "--runs-dir", runs, wait=False)
    deadline = time.time() + 120
    while not list(runs.glob(".partial/*/metrics.jsonl")):
        assert time.time() < deadline and process.poll() is None, process.stderr.read() if process.poll() else "slow"
        time.sleep(0.05)
    process.kill()
    process.wait()
    assert find_runs(runs) == [] and len([p for p in (runs / ".partial").iterdir() if p.is_dir()]) == 1
    result = emozsl("train", "--data", synth_mosei_dir, "--zsl", "fear", "--epochs", 1, "--device", "cpu",
                    *TINY_OPTIONS, "--runs-dir", runs)
    assert result.returncode == 0, result.stderr
    assert [r.path.name for r in find_runs(runs)] == ["eea_zsl_fear_seed0"]  # the killed run never took the name
    assert not any((runs / ".partial").iterdir())


@pytest.mark.slow
def test_seeds_resume_after_a_kill_and_are_never_retrained(synth_mosei_dir, tmp_path):
    args = ["train", "--data", synth_mosei_dir, "--zsl", "fear", "--epochs", 2, "--device", "cpu", *TINY_OPTIONS,
            "--runs-dir", tmp_path, "--seeds", 3]
    group = tmp_path / "eea_zsl_fear_3seeds"
    process = emozsl(*args, wait=False)
    deadline = time.time() + 120
    while not (group / "seed0" / "results.json").exists():
        assert time.time() < deadline and process.poll() is None, "seed 0 never finished"
        time.sleep(0.05)
    process.kill()
    process.wait()
    stamp = os.stat(group / "seed0" / "results.json").st_mtime_ns
    result = emozsl(*args)
    assert result.returncode == 0, result.stderr
    assert os.stat(group / "seed0" / "results.json").st_mtime_ns == stamp  # kept, not retrained
    summary = json.loads((group / "summary.json").read_text())
    assert summary["runs"] == ["seed0", "seed1", "seed2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eea_zsl_fear_3seeds"]  # no _2 group
    stamps = {p.name: os.stat(p / "results.json").st_mtime_ns for p in group.glob("seed*")}
    assert emozsl(*args).returncode == 0
    assert {p.name: os.stat(p / "results.json").st_mtime_ns for p in group.glob("seed*")} == stamps
    assert sorted(p.name for p in group.iterdir()) == [".partial", "group.json", "seed0", "seed1", "seed2", "summary.json"]
    # The same command with other settings makes a new group instead of mixing results.
    assert emozsl(*args, "--epochs", 1).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eea_zsl_fear_3seeds", "eea_zsl_fear_3seeds_2"]


def test_report_counts_a_repeated_seed_once(synth_mosei_dir, tmp_path):
    config = dict(data=str(synth_mosei_dir), protocol="zsl", target="fear", epochs=1, model_options=TINY,
                  runs_dir=str(tmp_path), device="cpu")
    first, second = train(RunConfig(**config)), train(RunConfig(**config))
    assert (first.name, second.name) == ("eea_zsl_fear_seed0", "eea_zsl_fear_seed0_2")
    rows, repeats = collect(tmp_path)
    assert {r["run"] for r in rows} == {"eea_zsl_fear_seed0"}
    assert repeats == ["eea_zsl_fear_seed0_2 (repeats eea_zsl_fear_seed0)"]
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 0 and "left out (each repeats a run already counted): eea_zsl_fear_seed0_2" in result.output


def test_an_exact_name_is_claimed_by_one_process_at_a_time(tmp_path):
    first = RunDir.create(tmp_path, "trial", exact=True)
    with pytest.raises(RunBusy, match="another process is training this run"):
        RunDir.create(tmp_path, "trial", exact=True)
    unique = RunDir.create(tmp_path, "trial")  # a run without an exact name never waits
    first.abandon()
    again = RunDir.create(tmp_path, "trial", exact=True)  # free once its holder let go
    again.abandon(), unique.abandon()
    assert not any((tmp_path / ".partial").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("stack", [1, 4], ids=["one_by_one", "stacked"])
def test_two_sweeps_on_one_folder_share_the_trials_without_corrupting_any(synth_mosei_dir, tmp_path, stack):
    folder = tmp_path / "sweep"
    path = tmp_path / "sweep.toml"
    path.write_text(f'''[base]
data = "{synth_mosei_dir}"
model = "lf_lstm"
protocol = "zsl"
epochs = 2
device = "cpu"
model_options = {{ hidden = 8, layers = 1 }}
runs_dir = "{folder}"
[grid]
target = ["anger", "disgust", "fear", "happy"]
''')
    threads = max(1, len(os.sched_getaffinity(0)) // 2)  # two processes each on every core wait on each other
    processes = [emozsl("sweep", path, "--stack", stack, wait=False, threads=threads) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    trained = sum(int(out.split(" trained")[0].rsplit(", ", 1)[-1]) for out, _ in outputs)
    assert trained == 4  # every trial trained exactly once, by one of the two
    for target in ("anger", "disgust", "fear", "happy"):
        run = RunDir.open(folder / target)
        assert len(run.read_metrics()) == run.read_results().epochs_run == 2
    assert leftovers(tmp_path) == [] and not any((folder / ".partial").iterdir())


def test_a_run_written_by_emozsl_0_1_0_still_loads(finished_run, tmp_path):
    """Format 1: no format field, NaN for undefined metrics, best_valid_<metric>, trust_pickle in config."""
    import shutil

    old = tmp_path / "old_run"
    shutil.copytree(finished_run, old)
    results = json.loads((old / "results.json").read_text())
    results.pop("format")
    results[f"best_valid_{results.pop('selection_metric')}"] = results.pop("best_valid")
    results["test"]["per_emotion"][0]["auc"] = float("nan")
    (old / "results.json").write_text(json.dumps(results))
    config = json.loads((old / "config.json").read_text())
    (old / "config.json").write_text(json.dumps({**config, "trust_pickle": True}))
    metadata = json.loads((old / "metadata.json").read_text())
    metadata.pop("format")
    (old / "metadata.json").write_text(json.dumps(metadata))
    loaded = RunDir.open(old).read_results()
    assert loaded.selection_metric == "wacc" and loaded.test.rows()[0]["auc"] != loaded.test.rows()[0]["auc"]  # NaN
    result = CliRunner().invoke(main, ["-q", "eval", str(old), "--device", "cpu"])
    assert result.exit_code == 0 and "unseen average" in result.output


def test_two_processes_on_one_seed_group_share_it(synth_mosei_dir, tmp_path):
    """While another process holds seed 1, a second `--seeds 2` trains seed 0 and says what is left;
    run again once seed 1 is free, it trains only seed 1 and writes the summary."""
    from emozsl.commands.crossval import _group_folder, repeated_runs

    config = RunConfig(data=str(synth_mosei_dir), protocol="zsl", target="fear", epochs=1, model_options=TINY,
                       runs_dir=str(tmp_path), device="cpu")
    group = _group_folder(config, "2seeds")
    other = RunDir.create(group, "seed1", exact=True)  # the other process, mid-training
    with pytest.raises(EmozslError, match="seed1 still being trained by another process"):
        repeated_runs(config, seeds=2)
    assert RunDir(group / "seed0").is_finished() and not (group / "summary.json").exists()
    stamp = os.stat(group / "seed0" / "results.json").st_mtime_ns
    other.abandon()
    folder, summary = repeated_runs(config, seeds=2)
    assert folder == group and summary["runs"] == ["seed0", "seed1"]
    assert os.stat(group / "seed0" / "results.json").st_mtime_ns == stamp
