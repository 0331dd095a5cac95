"""`sweep --executor ray` on a local two-node Ray cluster (one CPU each, so two tasks at once must
run on both nodes), reached through RAY_ADDRESS as a real cluster would be."""

import logging
import re
import shutil

import pytest

from emozsl.errors import EmozslError
from emozsl.commands.sweep import run_sweep

ray = pytest.importorskip("ray")

SEEDS = (0, 1, 2, 3)


@pytest.fixture(scope="module")
def ray_address():
    from ray.cluster_utils import Cluster

    small = {"num_cpus": 1, "object_store_memory": 80 * 2**20}  # 2 cores, and memory, for two nodes
    cluster = Cluster(initialize_head=True, head_node_args=small)
    try:
        cluster.add_node(**small)
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        cluster.shutdown()


@pytest.fixture
def progress():
    """The sweep's progress lines (the emozsl logger stops propagating once the CLI has run)."""
    lines = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())
    log = logging.getLogger("emozsl")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield lines
    log.removeHandler(handler)
    log.setLevel(level)


def sweep_file(tmp_path, data, grid, runs_dir="sweep"):
    path = tmp_path / "sweep.toml"
    path.write_text(f'''name = "t"
executor = "ray"
workers = 2
stack = 1
[base]
data = "{data}"
model = "lf_lstm"
epochs = 1
device = "cpu"
model_options = {{ hidden = 8, layers = 1 }}
{f'runs_dir = "{tmp_path / runs_dir}"' if runs_dir else ""}
[grid]
{grid}
''')
    return path


def training_span(run) -> tuple[int, int]:
    """From the config written as training starts to the results written as it ends."""
    return (run / "config.json").stat().st_mtime_ns, (run / "results.json").stat().st_mtime_ns


@pytest.mark.slow
def test_trials_spread_over_both_nodes_workers_are_honoured_and_a_rerun_resumes(
        tmp_path, synth_mosei_dir, ray_address, monkeypatch, progress):
    monkeypatch.setenv("RAY_ADDRESS", ray_address)
    path = sweep_file(tmp_path, synth_mosei_dir, f'protocol = ["zsl"]\ntarget = ["anger"]\nseed = {list(SEEDS)}')
    folder, counts = run_sweep(path)
    assert counts == {"trials": 4, "skipped": 0, "done": 4, "busy": 0}
    runs = [folder / f"zsl__anger__seed{s}" for s in SEEDS]
    assert all((run / "results.json").is_file() for run in runs)
    nodes = {m[1] for line in progress if (m := re.search(r"on node (\S+ \S+)$", line))}
    assert len(nodes) == 2, progress  # two at a time, one CPU per node: one on each
    assert progress[-1].startswith("t: 4 of 4 trials finished")

    for run in runs[:2]:  # lost: retrained; the others are kept
        shutil.rmtree(run)
    kept = {run: (run / "results.json").stat().st_mtime_ns for run in runs[2:]}
    progress.clear()
    _, counts = run_sweep(path, workers=1)
    assert counts == {"trials": 4, "skipped": 2, "done": 2, "busy": 0}
    assert {run: (run / "results.json").stat().st_mtime_ns for run in runs[2:]} == kept
    assert "t: 2 trials to train in 2 group(s) of at most 1" in progress
    first, second = sorted(training_span(run) for run in runs[:2])
    assert first[1] <= second[0]  # one at a time, though either node had a free CPU


@pytest.mark.slow
def test_a_failed_trial_is_one_line_naming_it_and_relative_paths_hold(tmp_path, synth_mosei_dir, ray_address,
                                                                       monkeypatch):
    ray.init(address=ray_address)  # a driver already connected (a notebook's) is used and left connected
    try:
        monkeypatch.chdir(tmp_path)  # not the nodes' folder: runs/t must still be here
        sweep_file(tmp_path, synth_mosei_dir, 'protocol = ["zsl"]\ntarget = ["anger", "boredom"]\nseed = [0]',
                   runs_dir=None)
        with pytest.raises(EmozslError) as failure:  # a target the data lack is found by the trial, on its node
            run_sweep("sweep.toml")
        message = str(failure.value)
        assert message.startswith("t: trial zsl__boredom__seed0 failed: target=boredom") and "\n" not in message
        assert (tmp_path / "runs" / "t" / "zsl__anger__seed0" / "results.json").is_file()  # the others finish
        assert ray.is_initialized()
    finally:
        ray.shutdown()
