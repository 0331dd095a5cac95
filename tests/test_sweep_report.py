"""Sweeps (expansion, atomic resumable trials, executors) and the report built from their runs."""

import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from emozsl.cli import main
from emozsl.commands.report import write_report
from emozsl.errors import EmozslError
from emozsl.reports import collect, grouped_tables
from emozsl.commands.sweep import load_sweep, run_sweep

TINY = '[models.lf_lstm]\nmodel_options = { hidden = 8, layers = 1 }'


def sweep_file(tmp_path, data, grid, extra="", executor="local"):
    path = tmp_path / "sweep.toml"
    path.write_text(f'''name = "t"
executor = "{executor}"
workers = 2
[base]
data = "{data}"
model = "lf_lstm"
epochs = 2
device = "cpu"
runs_dir = "{tmp_path / 'sweep'}"
[grid]
{grid}
{TINY}
{extra}
''')
    return path


def test_grid_expands_into_named_trials_with_backbone_overrides(tmp_path, synth_mosei_dir):
    path = sweep_file(tmp_path, synth_mosei_dir, 'model = ["lf_lstm", "eea"]\nprotocol = ["zsl"]\ntarget = ["anger", "fear"]\nseed = [0, 1]',
                      '[models.eea]\nmodel_options = { audio_hidden = 16 }\nepochs = 1')
    sweep = load_sweep(path)
    assert len(sweep.trials) == 8 and sweep.folder == tmp_path / "sweep"
    ids = {t.id: t.config for t in sweep.trials}
    assert "eea__zsl__fear__seed1" in ids and "lf_lstm__zsl__anger__seed0" in ids
    assert ids["eea__zsl__fear__seed1"]["model_options"] == {"audio_hidden": 16}
    assert ids["lf_lstm__zsl__fear__seed1"]["model_options"] == {"hidden": 8, "layers": 1}
    assert ids["eea__zsl__fear__seed1"]["epochs"] == 1 and ids["lf_lstm__zsl__fear__seed1"]["epochs"] == 2
    assert load_sweep(path).trials == sweep.trials  # a pure function of the file


@pytest.mark.parametrize("text, message", [
    ('colour = "red"', "unknown key\\(s\\) colour"),
    ('executor = "slurm"\n[grid]\nseed = [0]', "executor=slurm: choose one of local"),
    ('workers = 0\n[grid]\nseed = [0]', "workers=0: must be an integer of at least 1"),
    ('name = "t"', "\\[grid\\] is missing or empty"),
    ('[grid]', "\\[grid\\] is missing or empty"),
    ('[grid]\ntarget = [".."]', "grid values .*'\\.\\.'.*trial name=\\.\\.: must name one folder"),
    ('[grid]\ntarget = [".partial"]', "trial name=.partial: must name one folder"),
    ('[grid]\nruns_dir = ["elsewhere"]', "grid.runs_dir: set by the sweep"),
    ('name = "../up"\n[grid]\nseed = [0]', "name=../up: must name one folder"),
    ('[base]\ntrust_pickle = true\n[grid]\nseed = [0]', "trust_pickle=True: pickle trust comes only from the command line"),
    ('[grid]\nlr = [inf]', "trial lr-inf: lr=inf: must be a finite number"),
    ('[grid]\nseed = []', "grid.seed must be a non-empty list"),
    ('[grid]\nepochz = [1]', "unknown field\\(s\\) epochz"),
    ('[grid\n', "not valid TOML"),
    ('[base]\nmodel_options = { hiden = 3 }\n[grid]\nseed = [0]', "bad.toml trial seed0: model_options.hiden=3: not an option"),
])
def test_bad_sweep_files_are_named_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(EmozslError, match=message):
        load_sweep(path)


@pytest.mark.slow
def test_killed_sweep_resumes_with_nothing_lost_or_duplicated(tmp_path, synth_mosei_dir):
    path = sweep_file(tmp_path, synth_mosei_dir, 'protocol = ["zsl"]\ntarget = ["anger", "fear", "sad"]\nseed = [0]',
                      extra="")
    folder = tmp_path / "sweep"
    ids = [t.id for t in load_sweep(path).trials]
    process = subprocess.Popen([sys.executable, "-m", "emozsl.cli", "-q", "sweep", str(path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while not (folder / ids[0] / "results.json").exists():
        assert time.time() < deadline and process.poll() is None, "first trial never finished"
        time.sleep(0.05)
    process.kill()  # mid-sweep: the next trial is in .partial
    process.wait()
    finished = [i for i in ids if (folder / i / "results.json").exists()]
    assert 1 <= len(finished) < len(ids)
    stamps = {i: os.stat(folder / i / "results.json").st_mtime_ns for i in finished}
    # whatever is directly in the sweep folder is a whole run
    assert all((p / "results.json").exists() for p in folder.iterdir() if p.is_dir() and p.name != ".partial")

    _, counts = run_sweep(path)
    assert counts == {"trials": 3, "skipped": len(finished), "done": 3 - len(finished), "busy": 0}
    assert sorted(p.name for p in folder.iterdir()) == sorted([*ids, "sweep.json", ".partial"])
    assert not any((folder / ".partial").iterdir())  # the killed trial's partial files are gone
    assert {i: os.stat(folder / i / "results.json").st_mtime_ns for i in finished} == stamps  # not retrained
    assert run_sweep(path)[1] == {"trials": 3, "skipped": 3, "done": 0, "busy": 0}


def test_a_finished_trial_differing_only_in_placement_is_resumed_and_in_a_system_setting_refused(tmp_path,
                                                                                               synth_mosei_dir):
    grid = 'protocol = ["zsl"]\ntarget = ["fear"]\nseed = [0]'
    assert run_sweep(sweep_file(tmp_path, synth_mosei_dir, grid))[1]["done"] == 1
    # compile and loader_workers say how a run runs, not what it computes (they were refused once)
    placed = sweep_file(tmp_path, synth_mosei_dir, grid, extra="compile = true\nloader_workers = 2")
    assert run_sweep(placed, stack=2)[1] == {"trials": 1, "skipped": 1, "done": 0, "busy": 0}
    with pytest.raises(EmozslError, match="finished with other settings \\(lr 0.001, this sweep 0.01\\)"):
        run_sweep(sweep_file(tmp_path, synth_mosei_dir, grid, extra="lr = 0.01"))


# A changed value of every run setting, from BASE (a few-shot run, so shots applies).
BASE = {"model": "eea", "protocol": "fsl", "target": "fear", "name": "group", "device": "cpu"}
CHANGES = {"model": "lf_lstm", "model_options": {"layers": 1}, "head": "linear", "similarity": "cosine",
           "emotion_map": "mlp", "data": "other-data", "extra": "iemocap9", "impute": "zero", "split": "s.json",
           "protocol": "zsl", "target": "anger", "shots": 3, "fraction": 0.5, "split_seed": 1,
           "folds": {"folds": 5, "fold": 0}, "fold": {"folds": 3, "fold": 1}, "modalities": ["text", "audio"],
           "embeddings": "vectors.txt", "emotion_words": {"fear": "afraid"}, "label_words": "mosei",
           "label_encoder": "encoder", "calibration": "none", "epochs": 3, "batch_size": 32, "lr": 0.01,
           "weight_decay": 0.1, "clip": 0.5, "early_stop": 2, "scheduler_patience": 1, "scheduler_factor": 0.5,
           "threshold": 0.4, "select_metric": "auc", "seed": 1, "device": "auto", "precision": "bf16",
           "compile": True, "cuda_graphs": False, "loader_workers": 2, "runs_dir": "elsewhere", "name": "other"}


def test_a_sweeps_resume_the_seeds_group_and_the_reports_systems_agree_on_every_setting(tmp_path):
    """The three judges of "the same run", each asked about a change of every setting: a sweep
    resumes a finished trial, `train --seeds` reuses a group folder, a report puts two runs in one
    system. All follow the setting's declared role."""
    from emozsl.config import RUN_FIELDS, SYSTEM_FIELDS, RunConfig
    from emozsl.commands.crossval import _group_folder
    from emozsl.commands.sweep import _check_finished_trial

    assert set(CHANGES) == set(RUN_FIELDS)  # a setting added later is asked about too

    class Finished:  # a finished trial as the sweep reads it
        path = tmp_path / "trial"

        def __init__(self, config):
            self.config = config

        def read_config(self):
            return self.config

    def config(**changes):
        return RunConfig(**{**BASE, "runs_dir": str(tmp_path / "runs"), **changes}, check_build=False)

    for name, value in CHANGES.items():
        start = config(folds=3, fold=0) if name == "fold" else config()
        changed = config(**value) if name in ("folds", "fold") else config(**{name: value})
        role = RUN_FIELDS[name].metadata["role"]
        try:
            _check_finished_trial(Finished(start), changed)
            resumed = True
        except EmozslError:
            resumed = False
        assert resumed == (role == "placement"), name
        if name not in ("runs_dir", "name"):  # these say where the group folder is
            same_group = _group_folder(changed, "3seeds") == _group_folder(start, "3seeds")
            assert same_group == (role in ("placement", "repetition")), name
        same_system = {k: getattr(start, k) for k in SYSTEM_FIELDS} == {k: getattr(changed, k) for k in SYSTEM_FIELDS}
        assert same_system == (role != "system"), name
        assert resumed <= same_system  # a resumed trial is always of the system asked for


def test_a_missing_path_in_any_trial_stops_the_sweep_before_the_first(tmp_path, synth_mosei_dir):
    path = sweep_file(tmp_path, synth_mosei_dir, f'data = ["{synth_mosei_dir}", "{tmp_path / "gone"}"]')
    with pytest.raises(EmozslError, match="trial data-.*gone: data=.*gone: no such file or folder"):
        run_sweep(path)
    assert not (tmp_path / "sweep").exists()


@pytest.mark.slow
def test_process_executor_runs_trials_in_workers(tmp_path, synth_mosei_dir):
    path = sweep_file(tmp_path, synth_mosei_dir, 'protocol = ["zsl"]\ntarget = ["anger"]\nseed = [0, 1]', executor="process")
    folder, counts = run_sweep(path)
    assert counts["done"] == 2 and all((folder / f"zsl__anger__seed{s}" / "results.json").exists() for s in (0, 1))


def test_process_workers_share_the_cores_instead_of_each_taking_all():
    import torch

    from emozsl.commands.sweep import run_group, worker_threads

    cores = len(os.sched_getaffinity(0))
    assert worker_threads(1) == cores and worker_threads(2) == max(1, cores // 2) and worker_threads(10 * cores) == 1
    before = torch.get_num_threads()
    try:
        assert run_group([], threads=1) == [] and torch.get_num_threads() == 1  # what a worker is given
    finally:
        torch.set_num_threads(before)


def test_ray_executor_without_ray_says_how_to_install(tmp_path, synth_mosei_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    path = sweep_file(tmp_path, synth_mosei_dir, 'protocol = ["zsl"]\ntarget = ["anger"]\nseed = [0]')
    with pytest.raises(EmozslError, match=r"pip install 'ray>=2.9' \(emozsl's extra \[ray\]\)"):
        run_sweep(path, executor="ray")


@pytest.fixture(scope="module")
def swept(tmp_path_factory, synth_mosei_dir):
    tmp = tmp_path_factory.mktemp("report")
    path = sweep_file(tmp, synth_mosei_dir, 'model = ["lf_lstm", "eea"]\nprotocol = ["zsl"]\ntarget = ["anger", "fear"]\nseed = [0, 1]',
                      '[models.eea]\nmodel_options = { audio_hidden = 16, visual_hidden = 8, layers = 1 }\nepochs = 1')
    result = CliRunner().invoke(main, ["-q", "sweep", str(path)])
    assert result.exit_code == 0, result.output
    return tmp / "sweep"


def test_report_tables_are_mean_and_std_over_seeds(swept):
    rows, repeats = collect(swept)
    assert repeats == []
    # runs x (emotions + 3 groups, then calibrated: the unseen emotion, its average, the harmonic mean) x metrics
    assert len(rows) == 8 * (6 + 3 + 3) * 5
    table = grouped_tables(rows)["zsl"]
    # each backbone with the settings it changed (the sweep's model options and epochs)
    assert table.systems == ["eea/audio_hidden=16/visual_hidden=8/epochs=1", "lf_lstm/hidden=8/epochs=2"]
    assert table.rows == ["anger", "fear"] and table.seeds == [0, 1]
    aucs = []
    for seed in (0, 1):
        test = json.loads((swept / f"eea__zsl__fear__seed{seed}" / "results.json").read_text())["test"]
        aucs.append(next(r["auc"] for r in test["per_emotion"] if r["emotion"] == "fear"))
    cell = table.cells[("fear", table.systems[0], "auc")]
    assert cell["mean"] == pytest.approx(np.mean(aucs)) and cell["std"] == pytest.approx(np.std(aucs, ddof=1))


def test_report_command_writes_csv_markdown_latex_and_plots(swept, tmp_path):
    result = CliRunner().invoke(main, ["report", str(swept), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"long.csv", "zsl.md", "zsl.csv", "zsl.tex", "zsl_seen.md", "unseen_auc.png", "embedding_space.png"} <= names
    with open(tmp_path / "r" / "long.csv") as f:
        header = next(csv.reader(f))
    assert header == ["run", "system", "model", "protocol", "target", "seed", "fold", "emotion", "status", "metric", "value"]
    assert "\\pm" in (tmp_path / "r" / "zsl.tex").read_text()
    eea = "eea/audio_hidden=16/visual_hidden=8/epochs=1"
    assert (f"| held-out emotion | {eea} WAcc | {eea} F1+ | {eea} AUC | {eea} WAcc cal | {eea} F1+ cal |"
            in (tmp_path / "r" / "zsl.md").read_text())
    assert (tmp_path / "r" / "unseen_auc.png").read_bytes()[:4] == b"\x89PNG"


def test_embedding_space_shows_each_system_of_the_report(swept, tmp_path, monkeypatch):
    from emozsl import plots

    titles = {}
    save = plots._save

    def record(fig, path):
        titles[path.name] = [ax.get_title() for ax in fig.axes if ax.get_title()]
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", record)
    write_report(swept, tmp_path / "r")
    systems = ["eea/audio_hidden=16/visual_hidden=8/epochs=1", "lf_lstm/hidden=8/epochs=2"]
    panels = titles["embedding_space.png"]
    # one row per system, each of the run that held out the first run's emotion
    assert {title.split(": ")[0] for title in panels} == set(systems)
    for system, model in zip(systems, ("eea", "lf_lstm")):
        mine = [title for title in panels if title.startswith(f"{system}: ")]
        assert mine[0].startswith(f"{system}: word vectors\n({model}__zsl__anger__seed")
        assert len(mine) >= 2  # the word vectors and at least one learned space


def test_report_on_a_folder_without_runs_is_an_error(tmp_path):
    with pytest.raises(EmozslError, match="no finished run"):
        write_report(tmp_path)


def test_runs_on_other_data_of_the_same_name_are_other_systems_not_repeats(synth_mosei_dir, tmp_path):
    """Two generated seeds (or two extractions) give data of one name: the report tells them apart
    by the data's fingerprint instead of dropping one as a repeat."""
    from emozsl.config import RunConfig
    from emozsl.data.generated.synth import write_synth
    from emozsl.train import train

    other = tmp_path / "seven" / "mosei"
    write_synth("mosei", other, size="small", seed=7)
    runs = tmp_path / "runs"
    for data in (synth_mosei_dir, other):
        train(RunConfig(data=str(data), protocol="zsl", target="fear", epochs=1, runs_dir=str(runs), device="cpu",
                        model_options={"audio_hidden": 8, "visual_hidden": 8, "layers": 1}))
    rows, repeats = collect(runs)
    assert repeats == []
    systems = sorted({r["system"] for r in rows})
    assert len(systems) == 2 and all("data=" in s for s in systems), systems
