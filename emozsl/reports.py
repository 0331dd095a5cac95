"""Tables of evaluation results: console text, CSV, Markdown and JSON."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from emozsl.config import config_from_options
from emozsl.crossval import repeated_runs
from emozsl.errors import FieldError
from emozsl.evaluate import evaluate_run
from emozsl.fileio import dumps_json, write_text
from emozsl.metrics import METRIC_TITLES, METRICS
from emozsl.runs import RunDir
from emozsl.scoring import EvalResult
from emozsl.train import train

TABLE_METRICS = ("wacc", "f1_weighted", "f1_positive", "auc")
CALIBRATED_METRICS = ("wacc", "f1_positive")  # AUC is the same by construction
SUMMARY_LABELS = {"seen": "seen average", "unseen": "unseen average", "harmonic": "harmonic mean"}


def _cell(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def table_rows(result: EvalResult) -> list[list[str]]:
    """Header, one row per emotion, then the seen / unseen / harmonic-mean rows; with calibrated
    columns for the unseen emotions when the result has them (seen emotions keep their scores)."""
    calibrated = result.calibrated
    extra = [f"{METRIC_TITLES[m]} cal" for m in CALIBRATED_METRICS] if calibrated else []
    rows = [["emotion", "status", "positives", *(METRIC_TITLES[m] for m in TABLE_METRICS), *extra]]
    calibrated_rows = calibrated.rows() if calibrated else [{}] * len(result.emotions)
    for row, cal in zip(result.rows(), calibrated_rows):
        cells = [_cell(cal[m]) if row["status"] == "unseen" else "" for m in CALIBRATED_METRICS] if calibrated else []
        rows.append([row["emotion"], row["status"], str(row["positives"]), *(_cell(row[m]) for m in TABLE_METRICS),
                     *cells])
    for key, label in SUMMARY_LABELS.items():
        cells = [_cell(calibrated.summary[key][m]) if key != "seen" else "" for m in CALIBRATED_METRICS] \
            if calibrated else []
        rows.append([label, "", "", *(_cell(result.summary[key][m]) for m in TABLE_METRICS), *cells])
    return rows


def calibration_note(result: EvalResult) -> str:
    return (f"cal: unseen emotions' thresholds calibrated ({result.calibrated.calibration}) on validation, without "
            "their labels; seen emotions unchanged" if result.calibrated else "")


def console_table(result: EvalResult) -> str:
    rows = table_rows(result)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(len(result.emotions) + 2, "  ".join("-" * w for w in widths))
    return "\n".join(lines + ([calibration_note(result)] if result.calibrated else []))


def markdown_table(result: EvalResult) -> str:
    rows = table_rows(result)
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out + ([f"\n{calibration_note(result)}"] if result.calibrated else [])) + "\n"


def csv_table(result: EvalResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["emotion", "status", "positives", "n", *METRICS])
    for row in result.rows():
        writer.writerow([row["emotion"], row["status"], row["positives"], row["n"], *(row[m] for m in METRICS)])
    for key, label in SUMMARY_LABELS.items():
        writer.writerow([label, "", "", "", *(result.summary[key][m] for m in METRICS)])
    if result.calibrated:  # the calibrated result's unseen rows and summaries, named so
        for row in result.calibrated.rows():
            if row["status"] == "unseen":
                writer.writerow([row["emotion"], f"unseen, calibrated {result.calibrated.calibration}", row["positives"],
                                 row["n"], *(row[m] for m in METRICS)])
        for key in ("unseen", "harmonic"):
            writer.writerow([f"{SUMMARY_LABELS[key]}, calibrated", "", "", "", *(result.calibrated.summary[key][m] for m in METRICS)])
    return buffer.getvalue()


def write_tables(result: EvalResult, out_dir: str | Path, stem: str = "eval") -> list[Path]:
    out_dir = Path(out_dir)
    files = {f"{stem}.csv": csv_table(result), f"{stem}.md": markdown_table(result),
             f"{stem}.json": dumps_json(result.to_dict())}
    return [write_text(out_dir / name, text) for name, text in files.items()]


def evaluate_and_report(run_dir: str | Path, emotions: list[str] | None = None, data: str | None = None,
                        device: str = "auto", out_dir: str | Path | None = None,
                        trust_pickle: bool = False, calibration: str | None = None) -> tuple[str, list[Path]]:
    """`emozsl eval`: score the run's test set, write CSV / Markdown / JSON, return the console table."""
    result = evaluate_run(run_dir, emotions, data, device, trust_pickle=trust_pickle, calibration=calibration)
    files = write_tables(result, out_dir or RunDir(Path(run_dir)).eval_dir)
    return console_table(result), files


def report_training_result(run_dir: str | Path) -> str:
    """The test table that training already scored (results.json), written like `emozsl eval`'s."""
    run = RunDir.open(run_dir)
    result = run.read_results().test
    write_tables(result, run.eval_dir)
    return console_table(result)


def summary_table(summary: dict) -> str:
    """Mean +- std over the runs of a repeated/cross-validated training (summary.json)."""
    scheme = f"{summary['folds']} folds x " if summary["folds"] else ""
    lines = [f"test, mean +- std over {scheme}seeds {', '.join(map(str, summary['seeds']))} ({len(summary['runs'])} runs)"]
    width = max(len(e) + 2 for e in [*summary["emotions"], *SUMMARY_LABELS.values()])
    lines.append(f"{'emotion':<{width}}  " + "  ".join(f"{METRIC_TITLES[m]:>15}" for m in METRICS))
    rows = [(("* " if e in summary["unseen"] else "") + e, summary["per_emotion"][e]) for e in summary["emotions"]]
    rows += [(SUMMARY_LABELS.get(group, group), values) for group, values in summary["summary"].items()]
    for label, values in rows:
        lines.append(f"{label:<{width}}  " + "  ".join(
            f"{_cell(values[m]['mean']):>7} +- {_cell(values[m]['std'])}" for m in METRICS))
    if summary["unseen"]:
        lines.append("* unseen in training")
    return "\n".join(lines)


def train_and_report(config_file: str | None = None, seeds: int = 1, folds: int | None = None,
                     trust_pickle: bool = False, stack: int | None = None, **options) -> str:
    """`emozsl train`: one run and its test table, or (--seeds N / --folds K) repeated runs and
    their mean +- std table (a rerun of the same command resumes them)."""
    config = config_from_options(config_file, **options)
    if stack is not None and seeds == 1 and folds is None:
        raise FieldError("stack", stack, "applies to --seeds or --folds (their runs train together); one run has "
                         "nothing to stack")
    if seeds == 1 and folds is None:
        run_dir = train(config, trust_pickle)
        return f"run: {run_dir}\n\n{report_training_result(run_dir)}"
    parent, summary = repeated_runs(config, seeds, folds, trust_pickle, stack)
    return f"runs: {parent}\n\n{summary_table(summary)}"
