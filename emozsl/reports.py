"""Results as tables: every table emozsl prints or writes, numpy only (reading and tabulating runs
never loads the training stack; torch is imported only by checking a run's config).

One aggregation of runs (`aggregate`: mean, sample std, count and the seeds it covers), one table
model (`Table`: rows x systems x columns, each cell an aggregate) and its renderings (console text,
CSV, Markdown, LaTeX; the plots are emozsl/plots.py). The tables: a system's per-emotion table of
one run (train, eval, predict) or of repeated runs (--seeds, --folds), `results_table`; and
`emozsl report`'s tables of the finished runs under a folder (`collect`, `grouped_tables`): the
unseen-emotion table of zero-shot runs (rows: held-out emotion; per system: WAcc, F1+, AUC of that
emotion, and WAcc cal, F1+ cal when the runs scored it calibrated), the low-resource table of
few-shot runs, and the seen-emotion table (the seen average of the same runs).

A system is what a run's settings make it: each config.SYSTEM_FIELDS setting, the data set (the
split manifest's) and the word vectors (their file's sha256); runs of one system differ only in
seed or fold, and are averaged."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from emozsl.config import SYSTEM_FIELDS, RunConfig
from emozsl.errors import EmozslError
from emozsl.fileio import dumps_json, write_text
from emozsl.metrics import CALIBRATED_METRICS, GROUPS, METRICS, EvalResult
from emozsl.runs import RunDir, find_runs

CALIBRATED = "_cal"  # the suffix of a metric scored on calibrated logits (unseen emotions only)
PROTOCOL_TABLES = {"zsl": ("unseen", "unseen emotion (zero-shot)"),
                   "fsl": ("low-resource", "low-resource emotion (few-shot)")}


# ---------------------------------------------------------------- the one aggregation of runs
def aggregate(values: Sequence[float | None], seeds: Sequence[int] | None = None) -> dict:
    """The values of one quantity in several runs -> {"mean", "std", "n", "seeds"}, NaN and None
    left out: the sample standard deviation (ddof 1; 0 for a single value), the count of values used
    and the sorted distinct seeds of the runs that gave them (`seeds`: each value's run's seed; []
    when not given). Mean and std are NaN when no value is left."""
    array = np.asarray(values, dtype=float)
    defined = ~np.isnan(array)
    kept = array[defined]
    if not len(kept):
        return {"mean": math.nan, "std": math.nan, "n": 0, "seeds": []}
    covered = sorted({int(s) for s, d in zip(seeds, defined) if d}) if seeds is not None else []
    return {"mean": float(kept.mean()), "std": float(kept.std(ddof=1)) if len(kept) > 1 else 0.0,
            "n": len(kept), "seeds": covered}


def aggregate_results(results: list[dict], seeds: Sequence[int] | None = None) -> dict:
    """Test results (EvalResult.to_dict) of several runs (`seeds`: each run's seed) -> per emotion
    its status and the aggregate of its positives and of each metric the runs hold, per group the
    aggregate of each metric, and the same of the runs' calibrated results when they have them.
    EmozslError when the runs scored different emotion lists."""
    emotions = results[0]["emotions"]
    if any(r["emotions"] != emotions for r in results):
        raise EmozslError("runs scored different emotion lists: they cannot be averaged together")
    runs = list(zip(results, seeds if seeds is not None else [None] * len(results)))

    def over(having: list[tuple[dict, int | None]], value) -> dict:
        """The aggregate of value(result) over the runs `having`, with their seeds when known."""
        return aggregate([value(r) for r, _ in having], None if seeds is None else [s for _, s in having])

    rows = [r["per_emotion"] for r in results]
    metrics = [m for m in METRICS if any(m in row for run_rows in rows for row in run_rows)]
    per_emotion = {e: {"status": rows[0][k]["status"],
                       **{key: over(runs, lambda r, k=k, key=key: r["per_emotion"][k].get(key))
                          for key in ("positives", *metrics)}}
                   for k, e in enumerate(emotions)}
    groups = {}
    for group in (g for g in GROUPS if any(g in r["summary"] for r in results)):
        having = [(r, s) for r, s in runs if group in r["summary"]]
        groups[group] = {m: over(having, lambda r, m=m, g=group: r["summary"][g].get(m)) for m in metrics}
    calibrated = [(r["calibrated"], s) for r, s in runs if r.get("calibrated")]
    return {"emotions": emotions, "unseen": results[0]["unseen"], "low_resource": results[0]["low_resource"],
            "per_emotion": per_emotion, "summary": groups,
            **({"calibration": results[0]["calibration"]} if results[0].get("calibration") else {}),
            **({"calibrated": aggregate_results([r for r, _ in calibrated],
                                                None if seeds is None else [s for _, s in calibrated])}
               if calibrated else {})}


# ---------------------------------------------------------------- the one table model
@dataclass(frozen=True)
class Column:
    """A column of each system: its cells' key (a metric's name, that name + CALIBRATED, or
    "positives"), its title and the decimals its cells are written with."""
    key: str
    title: str
    decimals: int = 3


@dataclass
class Table:
    """Rows x (systems x columns), each cell an `aggregate` of runs.

    `rows`: the row keys, top to bottom, each the first label cell, `labels` giving a row's further
    label cells (under `headers[1:]`); `cells`: (row, system, column key) -> aggregate, None where
    the column does not apply to the row (written blank), absent where no run gave a value (written
    "-"); `systems`: [""] for one system's table; `title` and `caption`: the table's heading (a
    single run's table has none); `rule_before`: the first row of the groups, under a rule in
    console text; `repeated`: the cells aggregate repeated runs (their std and count are written)."""
    rows: list[str]
    systems: list[str]
    columns: list[Column]
    cells: dict[tuple[str, str, str], dict | None]
    headers: list[str]
    labels: dict[str, list[str]] = field(default_factory=dict)
    title: str = ""
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    rule_before: int | None = None
    repeated: bool = False

    @property
    def seeds(self) -> list[int]:
        """Every seed a cell covers, sorted."""
        return sorted({s for stat in self.cells.values() if stat for s in stat["seeds"]})

    @property
    def runs_per_cell(self) -> int:
        """The most runs a cell aggregates: a cell over fewer says how many."""
        return max((stat["n"] for stat in self.cells.values() if stat), default=0)

    def cell(self, row: str, system: str, column: Column) -> dict | None:
        """A cell's aggregate: one of no value where no run gave one, None where it does not apply."""
        return self.cells.get((row, system, column.key), aggregate([]))

    def all_notes(self) -> list[str]:
        """The table's notes, and what a cell over fewer runs than the others shows."""
        full = self.runs_per_cell
        fewer = any(stat and 0 < stat["n"] < full for stat in self.cells.values())
        fewer_note = (f"(n=K): a cell over K runs, fewer than the {full} of the others (a run missing, or its "
                      "value undefined); (n=1): one run, no std")
        return self.notes + ([fewer_note] if fewer else [])


def over_seeds(table: Table) -> str:
    """A caption for a table of cells aggregated over seeds: the seeds, and the runs per cell where
    that is not one per seed; a table of one run per cell says so, as its cells have no std."""
    seeds, full = table.seeds, table.runs_per_cell
    listed = ", ".join(map(str, seeds))
    if full <= 1:
        return f"one run per cell (seeds {listed}): no std"
    return f"mean +- std over seeds {listed}" + (f", {full} runs per cell" if full != len(seeds) else "")


def metric_columns(table: str, calibrated: Collection[str] = ()) -> list[Column]:
    """The metric columns of a table kind (metrics.TABLES), from the METRICS records; then, the one
    rule for calibrated columns, a column "TITLE cal" for each of CALIBRATED_METRICS that
    `calibrated` (the metrics the runs scored calibrated) holds."""
    return ([Column(m.name, m.title) for m in METRICS.values() if table in m.tables]
            + [Column(m + CALIBRATED, f"{METRICS[m].title} cal") for m in CALIBRATED_METRICS if m in calibrated])


def calibration_applies(status: str) -> bool:
    """Whether calibrated values exist for a row of this status or group: an unseen emotion, the
    unseen average and the harmonic mean (calibration changes nothing else)."""
    return status in ("unseen", "harmonic")


def cell_text(stat: dict | None, full: int, decimals: int = 3, sep: str = " +- ") -> str:
    """An aggregate as 'mean +- std': blank for None (the column does not apply), '-' without a
    value, the mean alone for one run (its std says nothing), and ' (n=K)' after a cell over fewer
    than the `full` runs of the table's other cells."""
    if stat is None:
        return ""
    if stat["n"] == 0:
        return "-"
    text = f"{stat['mean']:.{decimals}f}" + (f"{sep}{stat['std']:.{decimals}f}" if stat["n"] > 1 else "")
    return text if stat["n"] >= full else f"{text} (n={stat['n']})"


def table_grid(table: Table, sep: str = " +- ") -> list[list[str]]:
    """The header, then one row of label and cell texts per row."""
    full = table.runs_per_cell
    header = table.headers + [f"{s} {c.title}".strip() for s in table.systems for c in table.columns]
    body = [[row, *table.labels.get(row, [])]
            + [cell_text(table.cell(row, s, c), full, c.decimals, sep) for s in table.systems for c in table.columns]
            for row in table.rows]
    return [header, *body]


def _heading(table: Table, bold: bool = False) -> list[str]:
    title = f"**{table.title}**" if bold and table.title else table.title
    return [", ".join(part for part in (title, table.caption) if part)] if table.title or table.caption else []


def console(table: Table) -> str:
    """Aligned text: the label columns left, the cells right; rules under the header and above the
    groups; the heading above, the notes below."""
    grid = table_grid(table)
    widths = [max(len(r[i]) for r in grid) for i in range(len(grid[0]))]
    labels = len(table.headers)
    lines = ["  ".join(c.ljust(w) if i < labels else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in grid]
    rule = "  ".join("-" * w for w in widths)
    lines.insert(1, rule)
    if table.rule_before is not None:
        lines.insert(table.rule_before + 2, rule)
    return "\n".join(_heading(table) + lines + table.all_notes())


def markdown(table: Table) -> str:
    grid = table_grid(table)
    heading = _heading(table, bold=True)
    lines = [*heading, *([""] if heading else []), "| " + " | ".join(grid[0]) + " |", "|" + "---|" * len(grid[0])]
    lines += ["| " + " | ".join(row) + " |" for row in grid[1:]]
    return "\n".join(lines + [f"\n{note}" for note in table.all_notes()])


def latex(table: Table) -> str:
    """A booktabs tabular: one multicolumn heading per system when there are several systems."""
    escape = lambda text: "".join(f"\\{c}" if c in "_&%#$" else c for c in text)
    grid = table_grid(table, sep=" $\\pm$ ")
    labels, systems, columns = len(table.headers), table.systems, table.columns
    lines = ["\\begin{tabular}{" + "l" * labels + "c" * len(columns) * len(systems) + "}", "\\toprule"]
    if systems != [""]:
        lines.append("&" * (labels - 1) + " & " + " & ".join(
            f"\\multicolumn{{{len(columns)}}}{{c}}{{{escape(s)}}}" for s in systems) + " \\\\")
        grid[0] = table.headers + [c.title for _ in systems for c in columns]
    lines += [" & ".join(escape(cell) for cell in grid[0]) + " \\\\", "\\midrule"]
    lines += [" & ".join([*map(escape, row[:labels]), *row[labels:]]) + " \\\\" for row in grid[1:]]
    lines += ["\\bottomrule", "\\end{tabular}"]
    lines += [f"% {escape(line)}".replace("+-", "$\\pm$") for line in (*_heading(table), *table.all_notes())]
    return "\n".join(lines)


def csv_text(table: Table) -> str:
    """The cells as full-precision numbers (blank where there is none; a count as an integer); with
    `repeated`, each column's std (blank for one run) and count beside its mean."""
    parts = ("", " std", " n") if table.repeated else ("",)
    header = table.headers + [f"{s} {c.title}{part}".strip() for s in table.systems for c in table.columns
                              for part in parts]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in table.rows:
        values = []
        for system in table.systems:
            for column in table.columns:
                stat = table.cell(row, system, column)
                if stat and stat["n"]:
                    mean = int(stat["mean"]) if column.decimals == 0 and stat["mean"].is_integer() else stat["mean"]
                    numbers = [mean, stat["std"] if stat["n"] > 1 else "", stat["n"]]
                else:
                    numbers = ["", "", 0 if stat else ""]
                values += numbers[:len(parts)]
        writer.writerow([row, *table.labels.get(row, []), *values])
    return buffer.getvalue()


# ---------------------------------------------------------------- a system's per-emotion table
def calibration_note(method: str) -> str:
    return (f"cal: unseen emotions' thresholds calibrated ({method}) on the run's validation inputs, without their "
            "labels; seen emotions unchanged")


def results_table(aggregated: dict, title: str = "", caption: str = "", repeated: bool = False) -> Table:
    """The per-emotion table of an aggregate_results: one row per emotion (its status, positives and
    each metric of the "result" table), then one per group it has (seen, unseen, low-resource
    average, harmonic mean); calibrated columns for the unseen emotions and groups when the runs
    have calibrated results."""
    calibrated = aggregated.get("calibrated") or {"per_emotion": {}, "summary": {}}
    held = {m for values in calibrated["per_emotion"].values() for m in values}
    columns = [Column("positives", "positives", 0), *metric_columns("result", held)]
    groups = [g for g in GROUPS if g in aggregated["summary"]]
    rows = list(aggregated["per_emotion"]) + [GROUPS[g] for g in groups]
    cells: dict = {}
    for row, status, values, calibrated_values in (
            [(e, v["status"], v, calibrated["per_emotion"].get(e, {})) for e, v in aggregated["per_emotion"].items()]
            + [(GROUPS[g], g, {"positives": None, **aggregated["summary"][g]}, calibrated["summary"].get(g, {}))
               for g in groups]):
        for column in columns:
            raw = column.key.removesuffix(CALIBRATED)
            if column.key == raw:
                value = values.get(raw, aggregate([]))
            else:
                value = calibrated_values.get(raw, aggregate([])) if calibration_applies(status) else None
            cells[(row, "", column.key)] = value
    statuses = {e: [v["status"]] for e, v in aggregated["per_emotion"].items()}
    return Table(rows, [""], columns, cells, ["emotion", "status"], {**statuses, **{GROUPS[g]: [""] for g in groups}},
                 title, caption, [calibration_note(calibrated["calibration"])] if "calibration" in calibrated else [],
                 rule_before=len(statuses), repeated=repeated)


def run_table(result: EvalResult) -> Table:
    """The table of one run's result."""
    return results_table(aggregate_results([result.to_dict()]))


def console_table(result: EvalResult) -> str:
    return console(run_table(result))


def summary_table(summary: dict) -> str:
    """Mean +- std over the runs of a repeated/cross-validated training (summary.json, from
    aggregate_results) in console_table's layout, each cell mean +- std."""
    scheme = f"{summary['folds']} folds x " if summary["folds"] else ""
    caption = f"mean +- std over {scheme}seeds {', '.join(map(str, summary['seeds']))} ({len(summary['runs'])} runs)"
    return console(results_table(summary, "test", caption, repeated=True))


def write_tables(result: EvalResult, out_dir: str | Path, stem: str = "eval") -> list[Path]:
    """STEM.csv, STEM.md and STEM.json (every metric, EvalResult.to_dict) in `out_dir`; returns their
    paths."""
    out_dir, table = Path(out_dir), run_table(result)
    files = {f"{stem}.csv": csv_text(table), f"{stem}.md": markdown(table) + "\n",
             f"{stem}.json": dumps_json(result.to_dict())}
    return [write_text(out_dir / name, text) for name, text in files.items()]


# ---------------------------------------------------------------- `emozsl report`'s runs and tables
@dataclass
class _Run:
    name: str  # the folder, relative to the report's root
    system: dict  # setting -> value: what makes the run's system
    protocol: str
    target: str  # the held-out emotion's name; "" for a supervised run
    seed: int
    fold: int | None
    test: EvalResult


def _read(run: RunDir, root: Path) -> _Run:
    config, manifest, metadata = run.read_config().to_dict(), run.read_manifest(), run.read_metadata()
    params = manifest.get("params", {})
    system = {**{key: config[key] for key in SYSTEM_FIELDS},
              # what the split holds, not what the config says: a split file (--split) sets them
              "split_seed": manifest.get("seed", config["split_seed"]), "shots": params.get("shots", config["shots"]),
              "fraction": params.get("fraction", config["fraction"]),
              "dataset": manifest["dataset"], "embeddings": metadata.embeddings["sha256"],
              # the data themselves: two data sets of one name (two generated seeds, two extractions) differ here
              "data": manifest.get("sources", {}).get("data", {}).get("fingerprint", "")}
    test = run.read_results().test
    # results written before low-resource emotions were recorded call them seen: the split knows them
    test = dataclasses.replace(test, low_resource=[e for e in test.emotions if e in manifest.get("low_resource", [])])
    return _Run(str(run.path.relative_to(root)), system, manifest["protocol"], manifest["target"] or "",
                config["seed"], config["fold"], test)


@cache
def _defaults(model: str) -> dict:
    """RunConfig's defaults for `model` (its epochs, its backbone's options)."""
    return RunConfig(model=model, check_build=False).to_dict()


def _text(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def system_labels(systems: list[dict]) -> list[str]:
    """Each system's label: the model, then each setting that differs from the defaults (RunConfig's,
    a model option from its backbone's) as key=value: a model option as its own key=value
    (`eea/pooling=last-step-sum`), an entry of another table as key.entry=value; then the data set
    and the data's fingerprint and the word vectors' sha256 (each hash the shortest prefix of at least
    8 that tells them apart) when the
    systems differ in them; a setting all the systems share is left out. Equal systems get one
    label, different ones different labels."""
    shown = [key for key in ("dataset", "data", "embeddings") if len({s[key] for s in systems}) > 1]
    digits = {key: next(n for n in range(8, 65) if len({s[key][:n] for s in systems}) == len({s[key] for s in systems}))
              for key in ("data", "embeddings")}
    labels = []
    for system in systems:
        defaults = _defaults(system["model"])
        parts = [system["model"]]
        for key in SYSTEM_FIELDS:
            value, default = system[key], defaults[key]
            if isinstance(value, dict):
                prefix = "" if key == "model_options" else f"{key}."
                parts += [f"{prefix}{k}={_text(v)}" for k, v in sorted(value.items()) if default.get(k) != v]
            elif key != "model" and value != default:
                parts.append(f"{key}={_text(value)}")
        parts += [f"{key}={system[key][:digits[key]] if key in digits else system[key]}" for key in shown]
        labels.append(parts)
    # a setting every system shares tells none apart: it would only widen every column
    shared = set.intersection(*(set(parts[1:]) for parts in labels)) if labels else set()
    return ["/".join(p for p in parts if p not in shared) for parts in labels]


def _long_rows(base: dict, result: EvalResult, calibrated: bool = False) -> list[dict]:
    """One row per emotion and group of `result` and metric it holds; of a calibrated result, only the
    rows calibration applies to, each metric suffixed CALIBRATED."""
    suffix = CALIBRATED if calibrated else ""
    rows = [{**base, "emotion": entry["emotion"], "status": entry["status"], "metric": m + suffix, "value": entry[m]}
            for entry in result.rows() if not calibrated or calibration_applies(entry["status"]) for m in result.metrics]
    rows += [{**base, "emotion": f"({GROUPS[group]})", "status": group, "metric": m + suffix, "value": value}
             for group, values in result.summary.items() if not calibrated or calibration_applies(group)
             for m, value in values.items()]
    return rows


def collect(root: str | Path) -> tuple[list[dict], list[str]]:
    """Long format: one row per run, emotion (or group) and metric; and the runs left out because they
    repeat a run already counted (same system, protocol, held-out emotion, fold and seed: a rerun of
    one seed must not count twice in a mean over seeds). EmozslError for a missing folder or one
    without a finished run."""
    root = Path(root)
    if not root.is_dir():
        raise EmozslError(f"{root}: no such folder")
    found = find_runs(root)
    if not found:
        raise EmozslError(f"{root}: no finished run (no */results.json) below it")
    runs = [_read(run, root) for run in found]
    rows, counted, repeats = [], {}, []
    for run, label in zip(runs, system_labels([r.system for r in runs])):
        base = {"run": run.name, "system": label, "model": run.system["model"], "protocol": run.protocol,
                "target": run.target, "seed": run.seed, "fold": "" if run.fold is None else run.fold}
        key = tuple(base[k] for k in ("system", "protocol", "target", "fold", "seed"))
        if key in counted:
            repeats.append(f"{base['run']} (repeats {counted[key]})")
            continue
        counted[key] = base["run"]
        rows += _long_rows(base, run.test)
        if run.test.calibrated:
            rows += _long_rows(base, run.test.calibrated, calibrated=True)
    return rows, repeats


def grouped_tables(rows: list[dict]) -> dict[str, Table]:
    """Table name -> Table of `collect`'s rows: per protocol, the held-out emotion's table (rows:
    held-out emotion; per system the "comparison" metrics, and calibrated ones when its runs have
    them) and the seen average's, each cell aggregated over the system's runs of that emotion."""
    tables = {}
    for protocol, (status, title) in PROTOCOL_TABLES.items():
        ours = [r for r in rows if r["protocol"] == protocol]
        held_out = [r for r in ours if r["status"] == status and r["emotion"] == r["target"]]
        seen = [r for r in ours if r["status"] == "seen" and r["emotion"] == f"({GROUPS['seen']})"]
        for name, chosen, heading in ((protocol, held_out, title),
                                      (f"{protocol}_seen", seen, f"seen emotions' average, {title} runs")):
            if not chosen:
                continue
            values = defaultdict(list)
            for r in chosen:
                values[(r["target"], r["system"], r["metric"])].append((r["value"], r["seed"]))
            calibrated = {r["metric"].removesuffix(CALIBRATED) for r in chosen if r["metric"].endswith(CALIBRATED)}
            table = Table(list(dict.fromkeys(r["target"] for r in chosen)), sorted({r["system"] for r in chosen}),
                          metric_columns("comparison", calibrated),
                          {key: aggregate(*zip(*pairs)) for key, pairs in values.items()}, ["held-out emotion"],
                          title=heading, repeated=True)
            tables[name] = dataclasses.replace(table, caption=over_seeds(table))
    return tables
