"""`emozsl predict`: score any data with a finished run, for any emotion words."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from emozsl.config import PredictSettings
from emozsl.errors import FieldError
from emozsl.reports import console_table, write_tables
from emozsl.runs import RunDir


def predict_and_report(run_dir: str | Path, settings: PredictSettings | None = None, *, echo=None,
                       trust_pickle: bool = False) -> tuple[str, list[Path]]:
    """`emozsl predict` (`settings`: PredictSettings, default the declared ones): score
    `settings.data_path` (default the run's data) with the run, rows to `settings.out` (and its
    sidecar, predict.predict_to_file) or, without `out`, as CSV lines to `echo` as they come; when
    the data label asked emotions, their table per split is returned (and written beside `out` as
    OUT.table_SPLIT.csv, .md and .json). Every other setting goes to Predictor.prediction by its
    name (`no_cache` as `cache`). FieldError when such tables of an earlier prediction lie beside
    `out` and `overwrite` is not given."""
    from emozsl.predict import Predictor, predict_to_file  # torch: loaded once the command's values are checked

    options = dataclasses.asdict(settings or PredictSettings())
    data, out, overwrite, device = (options.pop(name) for name in ("data_path", "out", "overwrite", "device"))
    options["cache"] = not options.pop("no_cache")
    options["words"] = {emotion.lower(): word for emotion, word in options["words"].items()}
    data = data or RunDir.open(run_dir).read_config().data
    if out is not None:
        out = Path(out)
        stale = [p for p in out.parent.glob(f"{out.stem}.table_*") if p.suffix in (".csv", ".md", ".json")]
        if stale and not overwrite and not out.exists():  # an existing OUT is refused by predict_to_file
            raise FieldError("out", str(out), f"{stale[0].name} exists beside it; pass --overwrite to replace it")
        prediction = predict_to_file(run_dir, data, out, overwrite=overwrite, device=device, trust_pickle=trust_pickle,
                                     **options)
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

        prediction = Predictor.load(run_dir, device).prediction(data, sink=sink, trust_pickle=trust_pickle, **options)
        files = []
    tables = [f"{split}:\n{console_table(result)}" for split, result in prediction.results.items()]
    scored = f"{prediction.rows - prediction.errors} of {prediction.rows}" if prediction.errors else f"{prediction.rows}"
    summary = (f"{scored} utterances scored for {', '.join(e['emotion'] for e in prediction.emotions)}"
               + (f"; {prediction.errors} could not be (named in the error column)" if prediction.errors else ""))
    if prediction.unlabelled and prediction.results:
        summary += f"; not in the tables (the data do not label them): {', '.join(prediction.unlabelled)}"
    return "\n\n".join([*tables, summary]), files
