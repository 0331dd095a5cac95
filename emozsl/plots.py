"""PNG plots for `emozsl report` (matplotlib, the optional extra [plot]). torch
and a run's model are imported only by the plot that loads one (embedding_space_plot)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from emozsl.fileio import replacing
from emozsl.runs import RunDir


def unseen_auc_plot(table: dict, path: Path) -> Path:
    """Grouped bars: the held-out emotion's AUC (mean, std as error bar) per emotion and backbone."""
    targets, systems = table["targets"], table["systems"]
    width = 0.8 / len(systems)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(targets) * max(1, len(systems) / 3)), 4))
    for i, system in enumerate(systems):
        stats = [table["cells"].get((t, system, "auc"), {"mean": np.nan, "std": 0.0}) for t in targets]
        ax.bar(np.arange(len(targets)) + i * width - 0.4 + width / 2, [s["mean"] for s in stats], width,
               yerr=[s["std"] for s in stats], label=system, capsize=2)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xticks(np.arange(len(targets)), targets)
    ax.set_ylim(0.4, 1.0)
    ax.set_ylabel("AUC of the held-out emotion")
    ax.set_title(f"zero-shot: unseen-emotion AUC (seeds {', '.join(map(str, table['seeds']))})")
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


def embedding_space_plot(run: RunDir, path: Path) -> Path:
    """One panel per space, each a 2-D PCA: the emotions' word vectors, and their learned images in
    every space of the backbone (audio, visual, or the fused one); unseen emotions in red."""
    import torch

    from emozsl.evaluate import load_run_model

    model, vectors, metadata = load_run_model(run)
    emotions, unseen = metadata.emotions, metadata.unseen
    with torch.no_grad():
        images = model.head.mapped(vectors)
    vectors = vectors.numpy()
    # A space whose map is the identity (text in EmoEmbs) is the word space itself: shown once.
    spaces = {"word vectors": vectors, **{f"{s} space": v.numpy() for s, v in images.items()
                                          if not isinstance(model.head.maps[s], torch.nn.Identity)}}
    fig, axes = plt.subplots(1, len(spaces), figsize=(4 * len(spaces), 4), squeeze=False)
    for ax, (title, points) in zip(axes[0], spaces.items()):
        xy = _pca2(np.asarray(points, dtype=float))
        for (x, y), emotion in zip(xy, emotions):
            colour = "tab:red" if emotion in unseen else "tab:blue"
            ax.scatter(x, y, color=colour)
            ax.annotate(emotion, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{run.path.name}: emotion embeddings, 2-D PCA per space (red: unseen)", fontsize=9)
    return _save(fig, path)
