"""`emozsl report RUNS_DIR`: every finished run under a folder, as one long CSV and as tables of
mean +- std over seeds (and folds): the unseen-emotion table (rows: held-out emotion; columns per
system: WAcc, F1+, AUC of that emotion, and WAcc cal, F1+ cal when the runs scored it calibrated),
the low-resource table for few-shot runs, and the seen-emotion table (the seen average of the same
runs). Markdown, CSV and LaTeX; PNG plots when matplotlib is installed (the extra [plot]).

A system is what a run's settings make it: each config.SYSTEM_FIELDS setting, the data set (the
split manifest's) and the word vectors (their file's sha256); runs of one system differ only in
seed or fold, and are averaged. Reading runs needs no training stack (torch is imported only by
checking a run's config and by the embedding-space plot)."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from emozsl.config import SYSTEM_FIELDS, RunConfig
from emozsl.errors import EmozslError
from emozsl.extras import install_hint
from emozsl.fileio import write_text
from emozsl.metrics import (
    CALIBRATED_METRICS,
    GROUPS,
    METRICS,
    EvalResult,
    calibrated_title,
    format_mean_std,
    mean_std,
)
from emozsl.runs import RunDir, find_runs

TABLE_METRICS = ("wacc", "f1_positive", "auc")
CALIBRATED = "_cal"  # long.csv's suffix of a metric scored on calibrated logits (unseen emotions only)
PROTOCOL_TABLES = {"zsl": ("unseen", "unseen emotion (zero-shot)"),
                   "fsl": ("low-resource", "low-resource emotion (few-shot)")}
PLOTS_SKIPPED = f"plots skipped: {install_hint('plot')}"


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
              "dataset": manifest["dataset"], "embeddings": metadata.embeddings["sha256"]}
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
    and the word vectors' sha256 (the shortest prefix of at least 8 that tells them apart) when the
    systems differ in them; a setting all the systems share is left out. Equal systems get one
    label, different ones different labels."""
    shown = [key for key in ("dataset", "embeddings") if len({s[key] for s in systems}) > 1]
    hashes = {s["embeddings"] for s in systems}
    digits = next(n for n in range(8, 65) if len({h[:n] for h in hashes}) == len(hashes))
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
        parts += [f"{key}={system[key][:digits] if key == 'embeddings' else system[key]}" for key in shown]
        labels.append(parts)
    # a setting every system shares tells none apart: it would only widen every column
    shared = set.intersection(*(set(parts[1:]) for parts in labels)) if labels else set()
    return ["/".join(p for p in parts if p not in shared) for parts in labels]


def _long_rows(base: dict, result: EvalResult, calibrated: bool = False) -> list[dict]:
    """One row per emotion and group of `result` and metric it holds; of a calibrated result, only the
    unseen emotions and the unseen and harmonic groups (calibration changes nothing else), each
    metric suffixed CALIBRATED."""
    suffix = CALIBRATED if calibrated else ""
    rows = [{**base, "emotion": entry["emotion"], "status": entry["status"], "metric": m + suffix, "value": entry[m]}
            for entry in result.rows() if not calibrated or entry["status"] == "unseen" for m in result.metrics]
    rows += [{**base, "emotion": f"({GROUPS[group]})", "status": group, "metric": m + suffix, "value": value}
             for group, values in result.summary.items() if not calibrated or group in ("unseen", "harmonic")
             for m, value in values.items()]
    return rows


def collect(root: str | Path) -> tuple[list[dict], list[str]]:
    """Long format: one row per run, emotion (or group) and metric; and the runs left out because they
    repeat a run already counted (same system, protocol, held-out emotion, fold and seed: a rerun of
    one seed must not count twice in a mean over seeds)."""
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


def grouped_tables(rows: list[dict]) -> dict[str, dict]:
    """table name -> {"title", "systems", "targets", "columns": [(metric, title)], "cells": {(target,
    system, metric): mean_std}, "seeds"}: per protocol, the held-out emotion's table (with calibrated
    columns when its runs have them) and the seen average's."""
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
                values[(r["target"], r["system"], r["metric"])].append(r["value"])
            scored = {r["metric"] for r in chosen}
            columns = [(m, METRICS[m].title) for m in TABLE_METRICS]
            columns += [(m + CALIBRATED, calibrated_title(m)) for m in CALIBRATED_METRICS if m + CALIBRATED in scored]
            tables[name] = {"title": heading, "systems": sorted({r["system"] for r in chosen}),
                            "targets": list(dict.fromkeys(r["target"] for r in chosen)), "columns": columns,
                            "cells": {k: mean_std(v) for k, v in values.items()},
                            "seeds": sorted({r["seed"] for r in chosen})}
    return tables


def table_grid(table: dict, latex: bool = False) -> list[list[str]]:
    sep = " $\\pm$ " if latex else " +- "
    columns = table["columns"]
    header = ["held-out emotion"] + [f"{s} {title}" for s in table["systems"] for _, title in columns]
    body = [[t] + [format_mean_std(table["cells"].get((t, s, m)), sep=sep) for s in table["systems"] for m, _ in columns]
            for t in table["targets"]]
    return [header, *body]


def markdown(table: dict) -> str:
    grid = table_grid(table)
    lines = [f"**{table['title']}**, mean +- std over seeds {', '.join(map(str, table['seeds']))}", "",
             "| " + " | ".join(grid[0]) + " |", "|" + "---|" * len(grid[0])]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in grid[1:]])


def latex(table: dict) -> str:
    grid = table_grid(table, latex=True)
    systems, columns = table["systems"], table["columns"]
    escape = lambda text: text.replace("_", "\\_")
    lines = ["\\begin{tabular}{l" + "c" * len(columns) * len(systems) + "}", "\\toprule",
             " & " + " & ".join(f"\\multicolumn{{{len(columns)}}}{{c}}{{{escape(s)}}}" for s in systems) + " \\\\",
             "held-out & " + " & ".join(title for _ in systems for _, title in columns) + " \\\\", "\\midrule"]
    lines += [" & ".join([escape(row[0]), *row[1:]]) + " \\\\" for row in grid[1:]]
    lines += ["\\bottomrule", "\\end{tabular}",
              f"% {table['title']}; mean $\\pm$ std over seeds {', '.join(map(str, table['seeds']))}"]
    return "\n".join(lines)


def write_report(root: str | Path, out: str | Path | None = None) -> tuple[str, list[Path]]:
    """Write the long CSV, the tables (md, csv, tex), the plots (or plots-skipped.txt without
    matplotlib) and report.md; returns the report's text and the files."""
    root = Path(root)
    rows, repeats = collect(root)
    out = Path(out) if out else root / "report"
    files = [_write_csv(out / "long.csv", list(rows[0]), [list(r.values()) for r in rows])]
    tables = grouped_tables(rows)
    sections = []
    for name, table in tables.items():
        sections.append(markdown(table))
        header, *body = table_grid(table)
        files += [write_text(out / f"{name}.md", sections[-1] + "\n"), write_text(out / f"{name}.tex", latex(table) + "\n"),
                  _write_csv(out / f"{name}.csv", header, body)]
    text = "\n\n".join(sections) if sections else "no zero- or few-shot runs: see long.csv"
    if repeats:
        text += "\n\nleft out (each repeats a run already counted): " + "; ".join(repeats)
    plots = _plots(root, out, rows, tables)
    if plots is None:
        text += f"\n\n{PLOTS_SKIPPED}"
        files.append(write_text(out / "plots-skipped.txt", PLOTS_SKIPPED + "\n"))
    else:
        files += plots
    files.append(write_text(out / "report.md", text + "\n"))
    return text, files


def _write_csv(path: Path, header: list, rows: list[list]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def _plots(root: Path, out: Path, rows: list[dict], tables: dict) -> list[Path] | None:
    """The PNG plots; None without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    from emozsl.plots import embedding_space_plot, unseen_auc_plot

    files = []
    if "zsl" in tables:
        files.append(unseen_auc_plot(tables["zsl"], out / "unseen_auc.png"))
        first_zsl_run = RunDir.open(root / next(r["run"] for r in rows if r["protocol"] == "zsl"))
        files.append(embedding_space_plot(first_zsl_run, out / "embedding_space.png"))
    return files
