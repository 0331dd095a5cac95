"""PNG plots for `emozsl report` (matplotlib, the optional extra [plot]): renderings of its
tables (emozsl.reports.Table) and of runs' emotion embeddings. torch and a run's model are
imported only by the plot that loads one (embedding_spaces)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from emozsl.fileio import replacing
from emozsl.reports import Table
from emozsl.runs import RunDir, RunMetadata


def unseen_auc_plot(table: Table, path: Path) -> Path:
    """Grouped bars: the held-out emotion's AUC (mean, std as error bar) per emotion and system of
    `emozsl report`'s zero-shot table. A bar of one run has no error bar and is hatched; a bar over
    fewer runs than the others is labelled with its count."""
    targets, systems, full = table.rows, table.systems, table.runs_per_cell
    auc = next(c for c in table.columns if c.key == "auc")
    width = 0.8 / len(systems)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(targets) * max(1, len(systems) / 3)), 4))
    for i, system in enumerate(systems):
        stats = [table.cell(t, system, auc) for t in targets]
        x = np.arange(len(targets)) + i * width - 0.4 + width / 2
        means = np.array([s["mean"] if s["n"] else np.nan for s in stats])
        bars = ax.bar(x, means, width, label=system)
        spread = np.array([s["n"] > 1 for s in stats])
        ax.errorbar(x[spread], means[spread], yerr=[s["std"] for s in stats if s["n"] > 1], fmt="none",
                    ecolor="black", capsize=2, linewidth=1)
        for bar, stat in zip(bars, stats):
            if stat["n"] == 1 and full > 1:
                bar.set_hatch("//")
            if 0 < stat["n"] < full:
                ax.annotate(f"n={stat['n']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), fontsize=6,
                            ha="center", va="bottom", xytext=(0, 2), textcoords="offset points")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(np.arange(len(targets)), targets)
    ax.set_ylim(0.4, 1.0)
    ax.set_ylabel("AUC of the held-out emotion")
    one_run = "; hatched: one run, no std" if full > 1 and any(
        table.cell(t, s, auc)["n"] == 1 for t in targets for s in systems) else ""
    ax.set_title(f"zero-shot: unseen-emotion AUC\n{table.caption}{one_run}", fontsize=9)
    ax.legend(fontsize=7, ncol=min(4, len(systems)))
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    with replacing(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return path


def _pca2(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def embedding_spaces(run: RunDir) -> tuple[RunMetadata, dict[str, np.ndarray]]:
    """A run's metadata and its emotion embeddings: title -> (K, d) points, the word vectors and
    their learned images in every space of the backbone (audio, visual, or the fused one) other than
    the word space."""
    import torch

    from emozsl.evaluate import load_run_model

    model, vectors, metadata = load_run_model(run)
    with torch.no_grad():
        images = model.head.mapped(vectors)
    # A space whose map is the identity (text in EmoEmbs) is the word space itself: shown once.
    return metadata, {"word vectors": vectors.numpy(), **{f"{s} space": v.numpy() for s, v in images.items()
                                                          if not isinstance(model.head.maps[s], torch.nn.Identity)}}


def embedding_space_plot(runs: dict[str, RunDir], path: Path) -> Path:
    """One row of panels per system (`runs`: system label -> the run shown for it), one panel per
    space, each a 2-D PCA of the emotions' word vectors or of their learned images in that space;
    unseen emotions in red."""
    rows = {system: (run, *embedding_spaces(run)) for system, run in runs.items()}
    width = max(len(spaces) for _, _, spaces in rows.values())
    fig, axes = plt.subplots(len(rows), width, figsize=(4 * width, 4 * len(rows)), squeeze=False)
    for panels, (system, (run, metadata, spaces)) in zip(axes, rows.items()):
        for ax, (title, points) in zip(panels, spaces.items()):
            xy = _pca2(np.asarray(points, dtype=float))
            for (x, y), emotion in zip(xy, metadata.emotions):
                ax.scatter(x, y, color="tab:red" if emotion in metadata.unseen else "tab:blue")
                ax.annotate(emotion, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
            ax.set_title(f"{system}: {title}\n({run.path.name})", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in panels[len(spaces):]:
            ax.axis("off")
    fig.suptitle("emotion embeddings, 2-D PCA per space, one row per system (red: unseen)", fontsize=9)
    return _save(fig, path)
