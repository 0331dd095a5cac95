"""Results as tables: metrics as records, the few-shot emotion as its own group, the mean +- std
table in the single run's layout, `emozsl report`'s systems and columns, `eval` of a subset."""

import copy
import csv
import json
import shutil
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from emozsl.cli import main
from emozsl.commands.eval import evaluate_and_report
from emozsl.commands.train import report_training_result
from emozsl.config import EvalSettings, RunConfig
from emozsl.metrics import METRICS, EvalResult, Metric, emotion_metrics
from emozsl.reports import (
    aggregate,
    aggregate_results,
    collect,
    console_table,
    grouped_tables,
    latex,
    markdown,
    summary_table,
    table_grid,
)
from emozsl.runs import RunDir
from emozsl.train import TrainingRun, train

TINY = {"audio_hidden": 8, "visual_hidden": 8, "layers": 1}


def tiny_run(data, runs_dir, protocol: str, target: str):
    return train(RunConfig(data=str(data), protocol=protocol, target=target, epochs=1, model_options=TINY,
                           runs_dir=str(runs_dir), device="cpu"))


@pytest.fixture(scope="module")
def zsl_run(synth_mosei_dir, tmp_path_factory):
    return tiny_run(synth_mosei_dir, tmp_path_factory.mktemp("zsl"), "zsl", "fear")


@pytest.fixture(scope="module")
def fsl_run(synth_mosei_dir, tmp_path_factory):
    return tiny_run(synth_mosei_dir, tmp_path_factory.mktemp("fsl"), "fsl", "surprise")


def copy_run(run, folder, edits: dict | None = None):
    """A copy of `run` at `folder`, each file of `edits` (name -> function on its JSON) changed."""
    shutil.copytree(run, folder)
    for name, edit in (edits or {}).items():
        stored = json.loads((folder / name).read_text())
        edit(stored)
        (folder / name).write_text(json.dumps(stored))
    return folder


def header(text: str) -> list[str]:
    """A console table's column titles (separated by two spaces or more)."""
    line = next(line for line in text.splitlines() if line.startswith("emotion"))
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


def report(root, monkeypatch, *args):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # no plots: quicker, and says so
    result = CliRunner().invoke(main, ["report", str(root), *args])
    assert result.exit_code == 0, result.output
    return result.output


# ---------------------------------------------------------------- metrics as records
def test_best_epoch_follows_the_selection_metrics_direction(monkeypatch):
    brier = Metric("brier", "Brier", higher_is_better=False, compute=lambda truth, probabilities, threshold:
                   ((probabilities - truth) ** 2).mean(0))
    monkeypatch.setitem(METRICS, "brier", brier)
    scores, saved = iter([0.5, 0.3, 0.4]), []
    training = TrainingRun.__new__(TrainingRun)  # the epoch bookkeeping alone, without a model
    training.trainer = SimpleNamespace(validate=lambda epoch, metric: (1.0, next(scores)), capture_seconds=0.0,
                                       scheduler=SimpleNamespace(step=lambda loss: None),
                                       optimizer=SimpleNamespace(param_groups=[{"lr": 1e-3}]))
    training.run = SimpleNamespace(save_checkpoint=lambda model: saved.append(training.epoch),
                                   append_metrics=lambda record: None)
    training.config, training.session = SimpleNamespace(early_stop=8, epochs=3), SimpleNamespace(model=None)
    training.metric, training.label, training.best, training.best_epoch, training.epoch = "brier", "", -np.inf, 0, 0
    for epoch in (1, 2, 3):
        training.end_epoch(epoch, 0.0, time.time(), 0.0)
    assert (training.best_epoch, training.best, saved) == (2, 0.3, [1, 2])
    assert METRICS["wacc"].better(0.6, 0.5) and not METRICS["wacc"].better(float("nan"), 0.5)
    assert emotion_metrics([[1], [0]], [[0.9], [0.2]])["brier"] == pytest.approx([(0.01 + 0.04) / 2])


def test_results_missing_a_metric_or_with_an_unknown_one_still_load_and_report(zsl_run, tmp_path, monkeypatch):
    def edit(results):
        for result in (results["test"], results["test"]["calibrated"]):
            result.pop("low_resource", None)  # as written before low-resource emotions were recorded
            for row in result["per_emotion"]:
                del row["f1_positive"]
                row["kappa"] = 0.1  # no metric of this emozsl
            for values in result["summary"].values():
                del values["f1_positive"]

    run = copy_run(zsl_run, tmp_path / "runs" / "old", {"results.json": edit})
    test = RunDir.open(run).read_results().test
    assert test.metrics == ["wacc", "f1_weighted", "auc", "acc"] and test.low_resource == []
    fear = next(line for line in console_table(test).splitlines() if line.startswith("fear")).split()
    assert header(console_table(test))[:7] == ["emotion", "status", "positives", "WAcc", "wF1", "F1+", "AUC"]
    assert fear[1] == "unseen" and fear[5] == "-"  # F1+: not in the file
    output = report(tmp_path / "runs", monkeypatch, "--out", tmp_path / "report")
    assert "held-out emotion" in output
    grid = table_grid(grouped_tables(collect(tmp_path / "runs")[0])["zsl"])
    system = grid[0][1].removesuffix(" WAcc")
    assert grid[0] == ["held-out emotion", *(f"{system} {t}" for t in ("WAcc", "F1+", "AUC", "WAcc cal"))]
    assert grid[1][0] == "fear" and grid[1][2] == "-"
    with open(tmp_path / "report" / "long.csv") as f:
        metrics = {row["metric"] for row in csv.DictReader(f)}
    assert metrics == {"wacc", "f1_weighted", "auc", "acc", "wacc_cal", "f1_weighted_cal", "auc_cal", "acc_cal"}


# ---------------------------------------------------------------- few-shot emotion as its own group
def test_the_few_shot_emotion_is_its_own_group_in_every_table(fsl_run):
    test = RunDir.open(fsl_run).read_results().test
    assert test.low_resource == ["surprise"] and test.unseen == []
    rows = {row["emotion"]: row for row in test.rows()}
    assert rows["surprise"]["status"] == "low-resource" and rows["anger"]["status"] == "seen"
    summary = test.summary
    assert list(summary) == ["seen", "low_resource"]
    others = [rows[e]["auc"] for e in test.emotions if e != "surprise"]
    assert summary["seen"]["auc"] == pytest.approx(np.mean(others))
    assert summary["low_resource"]["auc"] == pytest.approx(rows["surprise"]["auc"])

    text = report_training_result(fsl_run)
    labels = [line.split("  ")[0] for line in text.splitlines()]
    assert labels[-2:] == ["seen average", "low-resource average"]
    assert not any("unseen" in line or "harmonic" in line for line in text.splitlines())
    files = {p.suffix: p.read_text() for p in (fsl_run / "eval").iterdir()}
    assert "| surprise | low-resource |" in files[".md"] and "| low-resource average |" in files[".md"]
    assert "surprise,low-resource," in files[".csv"] and "low-resource average," in files[".csv"]
    assert "unseen average" not in files[".csv"] + files[".md"]
    assert json.loads(files[".json"])["low_resource"] == ["surprise"]


def test_report_puts_few_shot_runs_in_the_low_resource_table_old_or_new(fsl_run, tmp_path):
    def as_before(results):  # written before low-resource emotions: the few-shot emotion was "seen"
        results["test"].pop("low_resource", None)
        for row in results["test"]["per_emotion"]:
            row["status"] = "seen"

    copy_run(fsl_run, tmp_path / "new")
    copy_run(fsl_run, tmp_path / "old", {"results.json": as_before, "config.json": lambda c: c.update(seed=1)})
    rows, repeats = collect(tmp_path)
    assert repeats == [] and {r["status"] for r in rows if r["emotion"] == "surprise"} == {"low-resource"}
    table = grouped_tables(rows)["fsl"]
    assert table.rows == ["surprise"] and table.seeds == [0, 1]
    assert {r["emotion"] for r in rows if r["status"] == "low_resource"} == {"(low-resource average)"}
    assert not any(r["status"] in ("unseen", "harmonic") for r in rows)


# ---------------------------------------------------------------- mean +- std in the single run's layout
def test_the_seeds_table_has_the_single_run_layout_with_calibrated_columns(zsl_run, fsl_run):
    first = RunDir.open(zsl_run).read_results().test.to_dict()
    second = copy.deepcopy(first)
    for result in (second, second["calibrated"]):
        result["per_emotion"][2]["wacc"] -= 0.1  # fear
    summary = {"folds": None, "seeds": [0, 1], "runs": ["seed0", "seed1"], **aggregate_results([first, second])}
    waccs = [first["calibrated"]["per_emotion"][2]["wacc"], second["calibrated"]["per_emotion"][2]["wacc"]]
    assert summary["calibrated"]["per_emotion"]["fear"]["wacc"]["mean"] == pytest.approx(np.mean(waccs))
    assert summary["calibrated"]["calibration"] == "standardize"

    text = summary_table(summary)
    single = console_table(EvalResult.from_dict(first))
    assert header(text) == header(single) == ["emotion", "status", "positives", "WAcc", "wF1", "F1+", "AUC",
                                              "WAcc cal", "F1+ cal"]
    fear = next(line for line in text.splitlines() if line.startswith("fear"))
    raw = [first["per_emotion"][2]["wacc"], second["per_emotion"][2]["wacc"]]
    assert "unseen" in fear and f"{np.mean(raw):.3f} +- {np.std(raw, ddof=1):.3f}" in fear
    assert f"{np.mean(waccs):.3f} +- {np.std(waccs, ddof=1):.3f}" in fear
    assert [line.split("  ")[0] for line in text.splitlines()[-4:-1]] == ["seen average", "unseen average",
                                                                         "harmonic mean"]

    few = RunDir.open(fsl_run).read_results().test.to_dict()
    text = summary_table({"folds": 3, "seeds": [0], "runs": ["a", "b"], **aggregate_results([few, few])})
    assert header(text)[-1] == "AUC" and "low-resource average" in text and "unseen" not in text
    assert next(line for line in text.splitlines() if line.startswith("surprise")).split()[1] == "low-resource"


# ---------------------------------------------------------------- emozsl report
def test_runs_differing_in_any_system_setting_are_different_systems(zsl_run, tmp_path):
    root = tmp_path / "runs"
    copy_run(zsl_run, root / "a")
    copy_run(zsl_run, root / "b", {"config.json": lambda c: c["model_options"].update(pooling="last-step-sum")})
    copy_run(zsl_run, root / "c", {"config.json": lambda c: c.update(label_words="mosei")})
    copy_run(zsl_run, root / "d", {"config.json": lambda c: c.update(emotion_words={"fear": "afraid"})})
    # the same system from elsewhere: paths differ, what they hold does not
    copy_run(zsl_run, root / "e", {"config.json": lambda c: c.update(data="/elsewhere/mosei", embeddings="/elsewhere/e.txt")})
    rows, repeats = collect(root)
    assert repeats == ["e (repeats a)"]
    systems = {r["run"]: r["system"] for r in rows}
    assert systems["a"] == "eea"  # what every system shares (epochs=1, layers=1, ...) tells none apart
    assert "/pooling=last-step-sum" in systems["b"] and "/label_words=mosei" in systems["c"]
    assert "/emotion_words.fear=afraid" in systems["d"]
    assert len(set(systems.values())) == 4 and len(grouped_tables(rows)["zsl"].systems) == 4

    copy_run(zsl_run, root / "f", {"split.json": lambda m: m.update(dataset="othermosei")})
    copy_run(zsl_run, root / "g", {"metadata.json": lambda m: m["embeddings"].update(sha256="0" * 64)})
    rows, repeats = collect(root)
    systems = {r["run"]: r["system"] for r in rows}
    assert "dataset=othermosei" in systems["f"] and "dataset=mosei" in systems["a"]
    assert systems["g"].endswith("/embeddings=00000000") and len(set(systems.values())) == 6


def test_an_old_run_whose_config_names_its_target_by_index_is_grouped_under_the_emotion(zsl_run, tmp_path):
    copy_run(zsl_run, tmp_path / "old", {"config.json": lambda c: c.update(target="2")})  # 2: fear
    rows, _ = collect(tmp_path)
    assert {r["target"] for r in rows} == {"fear"} and grouped_tables(rows)["zsl"].rows == ["fear"]


def test_report_tables_show_f1_positive_and_calibrated_columns(zsl_run, tmp_path, monkeypatch):
    copy_run(zsl_run, tmp_path / "runs" / "a")
    output = report(tmp_path / "runs", monkeypatch, "--out", tmp_path / "report")
    table = grouped_tables(collect(tmp_path / "runs")[0])["zsl"]
    system = table.systems[0]
    titles = ["WAcc", "F1+", "AUC", "WAcc cal", "F1+ cal"]
    assert f"| held-out emotion | {' | '.join(f'{system} {t}' for t in titles)} |" in output
    calibrated = RunDir.open(zsl_run).read_results().test.calibrated.rows()[2]
    assert table_grid(table)[1][4:] == [f"{calibrated['wacc']:.3f}", f"{calibrated['f1_positive']:.3f}"]
    tex = (tmp_path / "report" / "zsl.tex").read_text()
    assert "\\begin{tabular}{lccccc}" in tex and "\\multicolumn{5}{c}" in tex


def test_aggregate_is_the_mean_the_sample_std_the_count_and_the_seeds_of_the_defined_values():
    stat = aggregate([0.5, None, 0.7, float("nan"), 0.9], seeds=[3, 4, 1, 2, 1])
    assert stat["mean"] == pytest.approx(0.7) and stat["std"] == pytest.approx(np.std([0.5, 0.7, 0.9], ddof=1))
    assert (stat["n"], stat["seeds"]) == (3, [1, 3])
    assert aggregate([0.4], seeds=[7]) == {"mean": 0.4, "std": 0.0, "n": 1, "seeds": [7]}
    empty = aggregate([None, float("nan")], seeds=[0, 1])
    assert np.isnan(empty["mean"]) and (empty["n"], empty["seeds"]) == (0, [])


def test_a_cell_over_one_seed_is_marked_in_every_table_and_has_no_error_bar(zsl_run, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.container import ErrorbarContainer

    from emozsl import plots

    root = tmp_path / "runs"
    copy_run(zsl_run, root / "a0")
    copy_run(zsl_run, root / "a1", {"config.json": lambda c: c.update(seed=1)})
    copy_run(zsl_run, root / "b0", {"config.json": lambda c: c["model_options"].update(pooling="last-step-sum")})
    table = grouped_tables(collect(root)[0])["zsl"]
    two, one = table.systems  # "eea" (seeds 0 and 1), "eea/pooling=last-step-sum" (seed 0 only)
    assert table.cells[("fear", two, "auc")]["seeds"] == [0, 1] and table.cells[("fear", one, "auc")]["seeds"] == [0]
    row = dict(zip(table_grid(table)[0], table_grid(table)[1]))
    assert " +- " in row[f"{two} AUC"] and "(n=" not in row[f"{two} AUC"]
    assert row[f"{one} AUC"].endswith(" (n=1)") and "+-" not in row[f"{one} AUC"]
    text = markdown(table)
    assert text.startswith("**unseen emotion (zero-shot)**, mean +- std over seeds 0, 1\n")
    assert "(n=1): one run, no std" in text and "(n=1): one run, no std" in latex(table)
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig) or path)
    plots.unseen_auc_plot(table, tmp_path / "auc.png")
    ax = figures[0].axes[0]
    error_bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert sum(len(c.lines[2][0].get_segments()) for c in error_bars) == 1  # the two-seed bar's alone
    assert [bar.get_hatch() for bar in ax.patches] == [None, "//"]
    assert "hatched: one run, no std" in ax.get_title()


def test_report_without_matplotlib_says_so_in_its_text(zsl_run, tmp_path, monkeypatch):
    copy_run(zsl_run, tmp_path / "runs" / "a")
    output = report(tmp_path / "runs", monkeypatch, "--out", tmp_path / "report")
    assert "plots skipped: pip install 'matplotlib>=3.7' (emozsl's extra [plot])" in output.splitlines()
    assert "plots skipped" in (tmp_path / "report" / "report.md").read_text()


def test_report_imports_no_training_stack():
    check = ("import sys, emozsl.commands.report; "
             "assert 'torch' not in sys.modules and 'emozsl.train' not in sys.modules, sorted(sys.modules)")
    result = subprocess.run([sys.executable, "-c", check], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


# ---------------------------------------------------------------- eval of a subset
def test_eval_of_some_emotions_keeps_the_full_tables(zsl_run, tmp_path):
    run = copy_run(zsl_run, tmp_path / "run")
    report_training_result(run)  # what `emozsl train` leaves in RUN/eval/
    full = {p.name: p.read_text() for p in (run / "eval").iterdir()}
    text, files = evaluate_and_report(run, EvalSettings(emotions="happy,fear", device="cpu"))
    assert [f.name for f in files] == ["eval_happy_fear.csv", "eval_happy_fear.md", "eval_happy_fear.json",
                                       "eval_happy_fear.scores.csv"]
    assert {p.name: p.read_text() for p in (run / "eval").glob("eval.*")} == full
    assert json.loads((run / "eval" / "eval_happy_fear.json").read_text())["emotions"] == ["happy", "fear"]
    assert [line.split()[0] for line in text.splitlines()[2:4]] == ["happy", "fear"]
