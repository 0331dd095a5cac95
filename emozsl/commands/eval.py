"""`emozsl eval`: a finished run's test table, on its data or other data of the same split."""

from __future__ import annotations

from pathlib import Path

from emozsl.config import EvalSettings
from emozsl.fileio import write_text
from emozsl.reports import console_table, write_tables
from emozsl.runs import RunDir


def evaluate_and_report(run_dir: str | Path, settings: EvalSettings | None = None,
                        trust_pickle: bool = False) -> tuple[str, list[Path]]:
    """`emozsl eval` (`settings`: EvalSettings, default the declared ones): score the run's test
    set, write its tables and its per-utterance scores into `settings.out` (default RUN/eval/) and
    return the console table and the files. Every emotion of the run goes to eval.csv, eval.md,
    eval.json and eval.scores.csv (what training wrote there too); a subset (`emotions`, comma-
    separated) to files named after it, eval_<emotion>_<emotion>... (`--emotions happy`:
    eval_happy.csv, ...), so it never replaces the full tables. FieldError naming an emotion the
    run lacks; EmozslError for a folder that is no finished run."""
    from emozsl.evaluate import evaluate_prediction, run_emotions  # torch: loaded once the values are checked

    settings = settings or EvalSettings()
    asked = [e.strip() for e in settings.emotions.split(",") if e.strip()] if settings.emotions else None
    emotions = run_emotions(RunDir.open(run_dir), asked)  # as the run names them: `Fear` is fear
    prediction = evaluate_prediction(run_dir, emotions, settings.data_path, settings.device, trust_pickle=trust_pickle,
                                     calibration=settings.calibration)
    result = prediction.results["test"]
    stem = "_".join(["eval", *emotions]) if emotions else "eval"
    folder = Path(settings.out) if settings.out else RunDir(Path(run_dir)).eval_dir
    files = write_tables(result, folder, stem)
    files.append(write_text(folder / f"{stem}.scores.csv", prediction.frame.to_csv(index=False, lineterminator="\n")))
    return console_table(result), files
