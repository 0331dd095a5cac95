"""`emozsl report RUNS_DIR`: every finished run under a folder, as one long CSV and as tables of
mean +- std over seeds (and folds): the unseen-emotion table (rows: held-out emotion; columns per
backbone: WAcc, F1, AUC of that emotion), the low-resource table for few-shot runs, and the
seen-emotion table (the seen average of the same runs). Markdown, CSV and LaTeX; PNG plots when
matplotlib is installed (pip install 'emozsl[plot]')."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

from emozsl.config import RunConfig
from emozsl.crossval import mean_std
from emozsl.errors import EmozslError
from emozsl.fileio import write_text
from emozsl.metrics import METRICS
from emozsl.runs import RunDir, find_runs

TABLE_COLUMNS = (("wacc", "WAcc"), ("f1_positive", "F1"), ("auc", "AUC"))
# Settings that make two runs of one backbone different systems (named in the column label).
VARIANT_FIELDS = ("head", "similarity", "emotion_map", "modalities")
PROTOCOL_TABLES = {"zsl": ("unseen", "unseen emotion (zero-shot)"), "fsl": ("low_resource", "low-resource emotion (few-shot)")}


def _label(config: dict, defaults: dict) -> str:
    changed = [config.get(key) for key in VARIANT_FIELDS if config.get(key) != defaults[key]]
    return "/".join([config["model"], *(",".join(v) if isinstance(v, list) else str(v) for v in changed)])


def collect(root: str | Path) -> tuple[list[dict], list[str]]:
    """Long format: one row per run, emotion and metric; and the runs left out because they repeat
    a run already counted (same system, protocol, target, fold and seed: a rerun of one seed must
    not count twice in a mean over seeds)."""
    root = Path(root)
    if not root.is_dir():
        raise EmozslError(f"{root}: no such folder")
    runs = find_runs(root)
    if not runs:
        raise EmozslError(f"{root}: no finished run (no */results.json) below it")
    defaults = RunConfig().to_dict()
    rows, counted, repeats = [], {}, []
    for run in runs:
        config, test = run.read_config().to_dict(), run.read_results().test.to_dict()
        base = {"run": str(run.path.relative_to(root)), "system": _label(config, defaults), "model": config["model"],
                "protocol": config["protocol"], "target": "" if config["target"] is None else str(config["target"]),
                "seed": config["seed"], "fold": "" if config.get("fold") is None else config["fold"]}
        key = tuple(base[k] for k in ("system", "protocol", "target", "fold", "seed"))
        if key in counted:
            repeats.append(f"{base['run']} (repeats {counted[key]})")
            continue
        counted[key] = base["run"]
        for entry in test["per_emotion"]:
            low_resource = config["protocol"] == "fsl" and entry["emotion"] == config["target"]
            status = "low_resource" if low_resource else entry["status"]
            for metric in METRICS:
                rows.append({**base, "emotion": entry["emotion"], "status": status, "metric": metric, "value": entry[metric]})
        for group, values in test["summary"].items():
            for metric in METRICS:
                rows.append({**base, "emotion": f"({group} average)" if group != "harmonic" else "(harmonic mean)",
                             "status": group, "metric": metric, "value": values[metric]})
    return rows, repeats


def grouped_tables(rows: list[dict]) -> dict[str, dict]:
    """table name -> {"title", "systems", "targets", "cells": {(target, system, metric): mean_std}, "seeds"}."""
    tables = {}
    for protocol, (status, title) in PROTOCOL_TABLES.items():
        picked = [r for r in rows if r["protocol"] == protocol and r["status"] == status and r["emotion"] == r["target"]]
        seen = [r for r in rows if r["protocol"] == protocol and r["status"] == "seen" and r["emotion"] == "(seen average)"]
        for name, chosen, heading in ((protocol, picked, title), (f"{protocol}_seen", seen, f"seen emotions' average, {title} runs")):
            if not chosen:
                continue
            values = defaultdict(list)
            for r in chosen:
                values[(r["target"], r["system"], r["metric"])].append(r["value"])
            tables[name] = {"title": heading, "systems": sorted({r["system"] for r in chosen}),
                            "targets": list(dict.fromkeys(r["target"] for r in chosen)),
                            "cells": {k: mean_std(v) for k, v in values.items()},
                            "seeds": sorted({r["seed"] for r in chosen})}
    return tables


def _cell(stat: dict | None, latex: bool = False) -> str:
    if not stat or stat["n"] == 0:
        return "-"
    sep = " $\\pm$ " if latex else " +- "
    return f"{stat['mean']:.3f}" + (f"{sep}{stat['std']:.3f}" if stat["n"] > 1 else "")


def table_grid(table: dict, latex: bool = False) -> list[list[str]]:
    header = ["held-out emotion"] + [f"{s} {title}" for s in table["systems"] for _, title in TABLE_COLUMNS]
    body = [[t] + [_cell(table["cells"].get((t, s, m)), latex) for s in table["systems"] for m, _ in TABLE_COLUMNS]
            for t in table["targets"]]
    return [header, *body]


def markdown(table: dict) -> str:
    grid = table_grid(table)
    lines = [f"**{table['title']}**, mean +- std over seeds {', '.join(map(str, table['seeds']))}", "",
             "| " + " | ".join(grid[0]) + " |", "|" + "---|" * len(grid[0])]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in grid[1:]])


def latex(table: dict) -> str:
    grid = table_grid(table, latex=True)
    systems = table["systems"]
    escape = lambda text: text.replace("_", "\\_")
    lines = ["\\begin{tabular}{l" + "ccc" * len(systems) + "}", "\\toprule",
             " & " + " & ".join(f"\\multicolumn{{3}}{{c}}{{{escape(s)}}}" for s in systems) + " \\\\",
             "held-out & " + " & ".join(title for _ in systems for _, title in TABLE_COLUMNS) + " \\\\", "\\midrule"]
    lines += [" & ".join([escape(row[0]), *row[1:]]) + " \\\\" for row in grid[1:]]
    lines += ["\\bottomrule", "\\end{tabular}",
              f"% {table['title']}; mean $\\pm$ std over seeds {', '.join(map(str, table['seeds']))}"]
    return "\n".join(lines)


def write_report(root: str | Path, out: str | Path | None = None) -> tuple[str, list[Path]]:
    """Write the long CSV, the tables (md, csv, tex) and the plots; returns the Markdown and the files."""
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
    files.append(write_text(out / "report.md", text + "\n"))
    files += _plots(root, out, rows, tables)
    return text, files


def _write_csv(path: Path, header: list, rows: list[list]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def _plots(root: Path, out: Path, rows: list[dict], tables: dict) -> list[Path]:
    try:
        import matplotlib
    except ImportError:
        return [write_text(out / "plots-skipped.txt", "plots need matplotlib: pip install 'emozsl[plot]'\n")]
    matplotlib.use("Agg")
    from emozsl.plots import embedding_space_plot, unseen_auc_plot

    files = []
    if "zsl" in tables:
        files.append(unseen_auc_plot(tables["zsl"], out / "unseen_auc.png"))
        first_zsl_run = RunDir.open(root / next(r["run"] for r in rows if r["protocol"] == "zsl"))
        files.append(embedding_space_plot(first_zsl_run, out / "embedding_space.png"))
    return files


