"""`emozsl report RUNS_DIR`: every finished run under a folder as one long CSV, its tables (mean +-
std over seeds and folds; Markdown, CSV, LaTeX) and PNG plots when matplotlib is installed (the
extra [plot]). Imports no training stack (a test checks): torch loads only for the embedding-space
plot."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from emozsl.extras import install_hint
from emozsl.fileio import write_text
from emozsl.reports import collect, csv_text, grouped_tables, latex, markdown
from emozsl.runs import RunDir

PLOTS_SKIPPED = f"plots skipped: {install_hint('plot')}"


def write_report(root: str | Path, out: str | Path | None = None) -> tuple[str, list[Path]]:
    """Write the long CSV, the tables (md, csv, tex), the plots (or plots-skipped.txt without
    matplotlib) and report.md into `out` (default ROOT/report); returns the report's text and the
    files. EmozslError for a folder without finished runs."""
    root = Path(root)
    rows, repeats = collect(root)
    out = Path(out) if out else root / "report"
    files = [write_text(out / "long.csv", _long_csv(rows))]
    tables = grouped_tables(rows)
    sections = []
    for name, table in tables.items():
        sections.append(markdown(table))
        files += [write_text(out / f"{name}.md", sections[-1] + "\n"), write_text(out / f"{name}.tex", latex(table) + "\n"),
                  write_text(out / f"{name}.csv", csv_text(table))]
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


def _long_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _plots(root: Path, out: Path, rows: list[dict], tables: dict) -> list[Path] | None:
    """The PNG plots; None without matplotlib. The embedding space shows, for each system, its first
    zero-shot run of the emotion the first run held out (else its first zero-shot run)."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    from emozsl.plots import embedding_space_plot, unseen_auc_plot

    if "zsl" not in tables:
        return []
    zsl = [r for r in rows if r["protocol"] == "zsl"]
    target = zsl[0]["target"]
    shown: dict[str, str] = {}
    for r in sorted(zsl, key=lambda r: r["target"] != target):  # stable: the first run's emotion first
        shown.setdefault(r["system"], r["run"])
    runs = {system: RunDir.open(root / shown[system]) for system in tables["zsl"].systems}
    return [unseen_auc_plot(tables["zsl"], out / "unseen_auc.png"),
            embedding_space_plot(runs, out / "embedding_space.png")]
