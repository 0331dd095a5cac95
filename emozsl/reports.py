"""Tables of evaluation results: console text, CSV, Markdown and JSON."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from emozsl.config import config_from_options
from emozsl.errors import FieldError
from emozsl.fileio import dumps_json, write_text
from emozsl.metrics import (
    CALIBRATED_METRICS,
    GROUPS,
    METRICS,
    EvalResult,
    calibrated_title,
    format_mean_std,
)
from emozsl.runs import RunDir

TABLE_METRICS = ("wacc", "f1_weighted", "f1_positive", "auc")


def _cell(value: float | None, decimals: int = 3) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{decimals}f}"


def table_rows(rows: list[dict], summary: dict, calibrated: tuple[list[dict], dict] | None = None,
               cell=_cell) -> list[list[str]]:
    """Header, one row per emotion, then one per group `summary` has (seen, unseen, low-resource
    average, harmonic mean). `rows`: per emotion, a dict of "emotion", "status", "positives" and
    its metrics; `summary`: group -> metric -> value; `calibrated`: the calibrated result's rows and
    summary, shown in extra columns for the unseen emotions (seen ones keep their scores).
    `cell(value, decimals)` writes a value: a number for one run, a mean_std over runs; a metric the
    result lacks is "-"."""
    extra = [calibrated_title(m) for m in CALIBRATED_METRICS] if calibrated else []
    table = [["emotion", "status", "positives", *(METRICS[m].title for m in TABLE_METRICS), *extra]]
    calibrated_rows, calibrated_summary = calibrated or ([{}] * len(rows), {})
    for row, cal in zip(rows, calibrated_rows):
        cells = [cell(cal.get(m)) if row["status"] == "unseen" else "" for m in CALIBRATED_METRICS] if calibrated else []
        table.append([row["emotion"], row["status"], cell(row["positives"], 0), *(cell(row.get(m)) for m in TABLE_METRICS),
                      *cells])
    for group in (g for g in GROUPS if g in summary):
        cells = [cell(calibrated_summary[group].get(m)) if group in ("unseen", "harmonic") else ""
                 for m in CALIBRATED_METRICS] if calibrated else []
        table.append([GROUPS[group], "", "", *(cell(summary[group].get(m)) for m in TABLE_METRICS), *cells])
    return table


def _result_table(result: EvalResult) -> list[list[str]]:
    """table_rows of one result."""
    calibrated = result.calibrated
    return table_rows(result.rows(), result.summary, (calibrated.rows(), calibrated.summary) if calibrated else None)


def calibration_note(method: str) -> str:
    return (f"cal: unseen emotions' thresholds calibrated ({method}) on the run's validation inputs, without their "
            "labels; seen emotions unchanged")


def _console(table: list[list[str]], emotions: int, notes: list[str]) -> str:
    """A table_rows table as aligned text, rules under the header and under the `emotions` rows."""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in table]
    rule = "  ".join("-" * w for w in widths)
    lines.insert(1, rule)
    lines.insert(emotions + 2, rule)
    return "\n".join(lines + notes)


def _notes(result: EvalResult) -> list[str]:
    return [calibration_note(result.calibrated.calibration)] if result.calibrated else []


def console_table(result: EvalResult) -> str:
    return _console(_result_table(result), len(result.emotions), _notes(result))


def markdown_table(result: EvalResult) -> str:
    rows = _result_table(result)
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out + [f"\n{note}" for note in _notes(result)]) + "\n"


def csv_table(result: EvalResult) -> str:
    """Every metric of every emotion and group (an empty cell for a metric the result lacks), then
    the calibrated result's unseen rows and groups, named so."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["emotion", "status", "positives", "n", *METRICS])
    for row in result.rows():
        writer.writerow([row["emotion"], row["status"], row["positives"], row["n"], *(row.get(m) for m in METRICS)])
    for group, values in result.summary.items():
        writer.writerow([GROUPS[group], "", "", "", *(values.get(m) for m in METRICS)])
    if result.calibrated:
        calibrated = result.calibrated
        for row in calibrated.rows():
            if row["status"] == "unseen":
                writer.writerow([row["emotion"], f"unseen, calibrated {calibrated.calibration}", row["positives"],
                                 row["n"], *(row.get(m) for m in METRICS)])
        for group in ("unseen", "harmonic"):
            if group in calibrated.summary:
                writer.writerow([f"{GROUPS[group]}, calibrated", "", "", "",
                                 *(calibrated.summary[group].get(m) for m in METRICS)])
    return buffer.getvalue()


def write_tables(result: EvalResult, out_dir: str | Path, stem: str = "eval") -> list[Path]:
    """STEM.csv, STEM.md and STEM.json in `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    files = {f"{stem}.csv": csv_table(result), f"{stem}.md": markdown_table(result),
             f"{stem}.json": dumps_json(result.to_dict())}
    return [write_text(out_dir / name, text) for name, text in files.items()]


def evaluate_and_report(run_dir: str | Path, emotions: list[str] | None = None, data: str | None = None,
                        device: str = "auto", out_dir: str | Path | None = None,
                        trust_pickle: bool = False, calibration: str | None = None) -> tuple[str, list[Path]]:
    """`emozsl eval`: score the run's test set, write its tables and its per-utterance scores into
    `out_dir` (default RUN/eval/) and return the console table and the files. Every emotion of the
    run goes to eval.csv, eval.md, eval.json and eval.scores.csv (what training wrote there too); a
    subset of `emotions` to files named after it, eval_<emotion>_<emotion>... (`--emotions happy`:
    eval_happy.csv, ...), so it never replaces the full tables."""
    from emozsl.evaluate import evaluate_prediction, run_emotions  # torch: loaded once the values are checked

    emotions = run_emotions(RunDir.open(run_dir), emotions)  # as the run names them: `Fear` is fear
    prediction = evaluate_prediction(run_dir, emotions, data, device, trust_pickle=trust_pickle,
                                     calibration=calibration)
    result = prediction.results["test"]
    stem = "_".join(["eval", *emotions]) if emotions else "eval"
    folder = Path(out_dir) if out_dir else RunDir(Path(run_dir)).eval_dir
    files = write_tables(result, folder, stem)
    files.append(write_text(folder / f"{stem}.scores.csv", prediction.frame.to_csv(index=False, lineterminator="\n")))
    return console_table(result), files


def predict_and_report(run_dir: str | Path, data: str | None, out: str | Path | None, emotions: str | None = None,
                       *, overwrite: bool = False, device: str = "auto", echo=None, **options) -> tuple[str, list[Path]]:
    """`emozsl predict`: score `data` (default the run's) with the run, rows to `out` (and its
    sidecar, predict.predict_to_file) or, without `out`, as CSV lines to `echo` as they come; when
    the data label asked emotions, their table per split is returned (and written beside `out` as
    OUT.table_SPLIT.csv, .md and .json)."""
    from emozsl.predict import Predictor, predict_to_file  # torch: loaded once the command's values are checked

    data = data or RunDir.open(run_dir).read_config().data
    if out is not None:
        out = Path(out)
        stale = [p for p in out.parent.glob(f"{out.stem}.table_*") if p.suffix in (".csv", ".md", ".json")]
        if stale and not overwrite and not out.exists():  # an existing OUT is refused by predict_to_file
            raise FieldError("out", str(out), f"{stale[0].name} exists beside it; pass --overwrite to replace it")
        prediction = predict_to_file(run_dir, data, out, emotions, overwrite=overwrite, device=device, **options)
        files = list(prediction.files)
        for split, result in prediction.results.items():
            files += write_tables(result, out.parent, f"{out.stem}.table_{split}")
        for path in set(stale) - set(files):  # tables of an earlier prediction to this file, not made now
            path.unlink(missing_ok=True)
    else:
        header = []

        def sink(frame):
            echo(frame.to_csv(index=False, header=not header, lineterminator="\n").rstrip("\n"))
            header.append(True)

        prediction = Predictor.load(run_dir, device).prediction(data, emotions, sink=sink, **options)
        files = []
    tables = [f"{split}:\n{console_table(result)}" for split, result in prediction.results.items()]
    scored = f"{prediction.rows - prediction.errors} of {prediction.rows}" if prediction.errors else f"{prediction.rows}"
    summary = (f"{scored} utterances scored for {', '.join(e['emotion'] for e in prediction.emotions)}"
               + (f"; {prediction.errors} could not be (named in the error column)" if prediction.errors else ""))
    if prediction.unlabelled and prediction.results:
        summary += f"; not in the tables (the data do not label them): {', '.join(prediction.unlabelled)}"
    return "\n\n".join([*tables, summary]), files


def report_training_result(run_dir: str | Path) -> str:
    """The test table that training already scored (results.json), written like `emozsl eval`'s."""
    run = RunDir.open(run_dir)
    result = run.read_results().test
    write_tables(result, run.eval_dir)
    return console_table(result)


def summary_table(summary: dict) -> str:
    """Mean +- std over the runs of a repeated/cross-validated training (summary.json, from
    crossval.aggregate_results) in console_table's layout, each cell mean +- std."""
    scheme = f"{summary['folds']} folds x " if summary["folds"] else ""
    heading = f"test, mean +- std over {scheme}seeds {', '.join(map(str, summary['seeds']))} ({len(summary['runs'])} runs)"
    calibrated = summary.get("calibrated")
    table = table_rows(_emotion_rows(summary), summary["summary"],
                       (_emotion_rows(calibrated), calibrated["summary"]) if calibrated else None, format_mean_std)
    notes = [calibration_note(calibrated["calibration"])] if calibrated else []
    return f"{heading}\n{_console(table, len(summary['emotions']), notes)}"


def _emotion_rows(aggregate: dict) -> list[dict]:
    """An aggregate's per-emotion statistics as table_rows' rows."""
    return [{"emotion": emotion, **values} for emotion, values in aggregate["per_emotion"].items()]


def train_and_report(config_file: str | None = None, seeds: int = 1, folds: int | None = None,
                     trust_pickle: bool = False, stack: int | None = None, **options) -> str:
    """`emozsl train`: one run and its test table, or (--seeds N / --folds K) repeated runs and
    their mean +- std table (a rerun of the same command resumes them)."""
    config = config_from_options(config_file, **options)  # a bad value is refused before torch loads
    from emozsl.crossval import repeated_runs
    from emozsl.train import train

    if stack is not None and seeds == 1 and folds is None:
        raise FieldError("stack", stack, "applies to --seeds or --folds (their runs train together); one run has "
                         "nothing to stack")
    if seeds == 1 and folds is None:
        run_dir = train(config, trust_pickle)
        return f"run: {run_dir}\n\n{report_training_result(run_dir)}"
    parent, summary = repeated_runs(config, seeds, folds, trust_pickle, stack)
    return f"runs: {parent}\n\n{summary_table(summary)}"
