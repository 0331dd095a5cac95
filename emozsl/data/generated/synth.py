"""Generated data sets in the real on-disk formats, for running everything without the real data.

How a sample is made (the only route from labels to features):
1. labels: a Gaussian copula gives MOSEI-like prevalence and co-occurrence (happy common, fear and
   surprise rare; anger, disgust and sad together); IEMOCAP is one class per utterance.
2. latent: u = sum_k intensity_k * e_k / |e_k| + noise, e_k the emotion's GloVe vector. This is what
   makes zero-shot transfer learnable: an unseen emotion sits in the same word space.
3. per modality: a hidden random non-linear map tanh(A u + b) B (never written anywhere), present
   only inside a random window of the sequence, plus a per-sample nuisance offset and noise.
   Audio gets occasional -inf values, as real COVAREP features do.
CHERMA-like data also label each modality; a modality's features follow its own label.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emozsl.data.readers.cherma import CHERMA_EMOTIONS, write_cherma_folder
from emozsl.data.dataset import SPLITS, MultimodalDataset, SplitData
from emozsl.data.readers.iemocap import IEMOCAP4_EMOTIONS, IEMOCAP9_EMOTIONS
from emozsl.data.readers.mosei import MOSEI_EMOTIONS
from emozsl.data.generated.raw_synth import synth_raw
from emozsl.data.generated.labels import INTENSITY_LEVELS, mosei_intensities, unit_rows
from emozsl.data.generated.writers import (
    write_iemocap9_folder,
    write_mosei_folder,
    write_mult_pickle,
)
from emozsl.embeddings import load_embeddings
from emozsl.errors import FieldError
from emozsl.fileio import write_json
from emozsl.label_words import label_vectors

FEATURE_DIMS = {"text": 300, "audio": 74, "visual": 35}
SIGNAL_STRENGTH = {"text": 1.0, "audio": 0.6, "visual": 0.8}
HIDDEN_UNITS = 64
LATENT_NOISE = 0.3

MOSEI_SIZES = {"small": {"train": 1600, "valid": 300, "test": 600},
               "full": {"train": 15290, "valid": 2291, "test": 4832}}
# IEMOCAP 9-class per-class counts (train, valid, test), docs/protocols.md.
IEMOCAP9_COUNTS = {"anger": (735, 136, 227), "excited": (686, 206, 141), "fear": (19, 9, 12),
                   "sad": (690, 188, 193), "surprised": (65, 17, 25), "frustrated": (1235, 319, 278),
                   "happy": (338, 116, 135), "neutral": (954, 358, 383), "disgust": (1, 0, 1)}
IEMOCAP_SMALL_FRACTION = 0.3
# CHERMA-like: 7 classes, per-utterance lengths; sizes are emozsl's, not the real corpus's.
CHERMA_SIZES = {"small": {"train": 1400, "valid": 300, "test": 600},
                "full": {"train": 14000, "valid": 3000, "test": 6000}}
CHERMA_PREVALENCE = np.array([0.16, 0.08, 0.06, 0.20, 0.30, 0.12, 0.08])
CHERMA_STEPS = {"text": 24, "audio": 40, "visual": 30}
CHERMA_DISAGREEMENT = 0.25
SYNTH_FORMATS = ("mosei", "iemocap", "cherma", "raw")
IEMOCAP_UNALIGNED_STEPS = {"small": {"text": 20, "audio": 50, "visual": 60},
                           "full": {"text": 20, "audio": 400, "visual": 500}}


class HiddenMaps:
    """Random per-modality non-linear maps from the 50-d word space to feature space."""

    def __init__(self, prototypes: np.ndarray, rng: np.random.Generator):
        word_dim = prototypes.shape[1]
        self.maps = {}
        for modality, dim in FEATURE_DIMS.items():
            a = rng.normal(0, 1.5 / np.sqrt(word_dim), (word_dim, HIDDEN_UNITS))
            b = rng.normal(0, 0.3, HIDDEN_UNITS)
            out = rng.normal(0, 1 / np.sqrt(HIDDEN_UNITS), (HIDDEN_UNITS, dim))
            # Fixed per-modality scale (from the prototypes), so every split shares one map.
            scale = SIGNAL_STRENGTH[modality] / (np.tanh(prototypes @ a + b) @ out).std()
            self.maps[modality] = (a, b, out * scale)

    def __call__(self, modality: str, latent: np.ndarray) -> np.ndarray:
        a, b, out = self.maps[modality]
        return np.tanh(latent @ a + b) @ out


def _sequences(signal: np.ndarray, steps: int, rng: np.random.Generator) -> np.ndarray:
    """(N, D) per-sample signal -> (N, steps, D): signal inside a random window, nuisance, noise."""
    n, dim = signal.shape
    length = rng.integers(max(2, steps // 4), steps + 1, n)
    start = rng.integers(0, steps - length + 1)
    t = np.arange(steps)
    inside = (t >= start[:, None]) & (t < (start + length)[:, None])
    nuisance = rng.normal(0, 0.5, (n, 1, dim))
    noise = rng.normal(0, 1.0, (n, steps, dim))
    return (inside[..., None] * signal[:, None, :] + nuisance + noise).astype(np.float32)


def _features(latent: np.ndarray | dict[str, np.ndarray], maps: HiddenMaps, steps: dict[str, int],
              rng) -> dict[str, np.ndarray]:
    """`latent`: one for every modality, or one per modality (uni-modal labels)."""
    latents = latent if isinstance(latent, dict) else dict.fromkeys(FEATURE_DIMS, latent)
    features = {m: _sequences(maps(m, latents[m]), steps[m], rng) for m in FEATURE_DIMS}
    audio = features["audio"]
    rows = np.flatnonzero(rng.random(len(audio)) < 0.02)  # a few utterances with COVAREP's -inf
    audio[rows, rng.integers(0, audio.shape[1], len(rows)), rng.integers(0, audio.shape[2], len(rows))] = -np.inf
    return features


def synth_mosei(size: str = "small", seed: int = 0, embeddings: str | None = None) -> MultimodalDataset:
    rng = np.random.default_rng(seed)
    prototypes = unit_rows(label_vectors(load_embeddings(embeddings), MOSEI_EMOTIONS))
    maps = HiddenMaps(prototypes, rng)
    splits = {}
    for split in SPLITS:
        n = MOSEI_SIZES[size][split]
        intensity = mosei_intensities(n, rng)
        latent = intensity @ prototypes + rng.normal(0, LATENT_NOISE, (n, prototypes.shape[1]))
        features = _features(latent, maps, {m: 20 for m in FEATURE_DIMS}, rng)
        ids = np.array([f"{split}/{i}" for i in range(n)])
        splits[split] = SplitData(features, intensity.astype(np.float32), ids)
    return MultimodalDataset("mosei", list(MOSEI_EMOTIONS), splits, f"synth:mosei:{size}:{seed}")


def synth_iemocap9(size: str = "small", seed: int = 0, embeddings: str | None = None,
                   steps: dict[str, int] | None = None) -> MultimodalDataset:
    """One class per utterance over the 9 IEMOCAP emotions, at the real per-class counts."""
    rng = np.random.default_rng(seed)
    prototypes = unit_rows(label_vectors(load_embeddings(embeddings), IEMOCAP9_EMOTIONS))
    maps = HiddenMaps(prototypes, rng)
    scale = 1.0 if size == "full" else IEMOCAP_SMALL_FRACTION
    utterances = {}
    for s, split in enumerate(SPLITS):
        counts = [max(1, round(IEMOCAP9_COUNTS[e][s] * scale)) if IEMOCAP9_COUNTS[e][s] else 0
                  for e in IEMOCAP9_EMOTIONS]
        classes = rng.permutation(np.repeat(np.arange(len(counts)), counts))
        strength = rng.choice(INTENSITY_LEVELS[:6], size=len(classes)) + 0.5
        noise = rng.normal(0, LATENT_NOISE, (len(classes), prototypes.shape[1]))
        utterances[split] = (classes, strength[:, None] * prototypes[classes] + noise)
    # Features from a stream of their own, drawn after every label: the aligned and unaligned
    # copies (different lengths, so different draws) then hold the same utterances, as MulT's do.
    feature_rng = np.random.default_rng([seed, 1])
    splits = {}
    for s, (split, (classes, latent)) in enumerate(utterances.items()):
        features = _features(latent, maps, steps or {m: 20 for m in FEATURE_DIMS}, feature_rng)
        labels = np.eye(len(IEMOCAP9_EMOTIONS), dtype=np.float32)[classes]
        ids = np.array([f"Ses{s}_{split}_{i:05d}" for i in range(len(classes))])
        splits[split] = SplitData(features, labels, ids)
    return MultimodalDataset("iemocap9", list(IEMOCAP9_EMOTIONS), splits, f"synth:iemocap:{size}:{seed}")


def iemocap4_subset(dataset9: MultimodalDataset) -> MultimodalDataset:
    """The MulT 4-class data: the utterances of neutral, happy, sad and anger (named 'angry')."""
    columns = [dataset9.emotions.index("anger" if e == "angry" else e) for e in IEMOCAP4_EMOTIONS]
    splits = {}
    for split, data in dataset9.splits.items():
        labels = data.labels[:, columns]
        rows = np.flatnonzero(labels.sum(1) > 0)
        splits[split] = SplitData({m: a[rows] for m, a in data.features.items()}, labels[rows], data.ids[rows])
    return MultimodalDataset("iemocap4", list(IEMOCAP4_EMOTIONS), splits, dataset9.source)


def synth_cherma(size: str = "small", seed: int = 0, embeddings: str | None = None,
                 disagreement: float = CHERMA_DISAGREEMENT) -> tuple[MultimodalDataset, dict]:
    """One class per utterance over CHERMA's 7 emotions. Each modality has its own label, which
    differs from the multimodal one with probability `disagreement`, and its features come from
    its own label (as a face may stay neutral while the words are angry). Returns the data set and
    each utterance's real length per modality (the per-utterance files hold only those steps)."""
    if not 0 <= disagreement < 1:
        raise FieldError("disagreement", disagreement, "must be within [0, 1)")
    rng = np.random.default_rng(seed)
    prototypes = unit_rows(label_vectors(load_embeddings(embeddings), CHERMA_EMOTIONS))
    maps = HiddenMaps(prototypes, rng)
    k = len(CHERMA_EMOTIONS)
    splits, lengths = {}, {}
    for split in SPLITS:
        n = CHERMA_SIZES[size][split]
        classes = rng.choice(k, size=n, p=CHERMA_PREVALENCE)
        strength = (rng.choice(INTENSITY_LEVELS[:6], size=n) + 0.5)[:, None]
        modality_classes, latents = {}, {}
        for m in FEATURE_DIMS:
            differs = rng.random(n) < disagreement
            other = (classes + rng.integers(1, k, n)) % k  # any class but the multimodal one
            modality_classes[m] = np.where(differs, other, classes)
            latents[m] = strength * prototypes[modality_classes[m]] + rng.normal(0, LATENT_NOISE, (n, prototypes.shape[1]))
        features = _features(latents, maps, CHERMA_STEPS, rng)
        lengths[split] = {m: rng.integers(CHERMA_STEPS[m] // 3, CHERMA_STEPS[m] + 1, n) for m in FEATURE_DIMS}
        for m, array in features.items():  # steps past an utterance's length are padding
            array[np.arange(CHERMA_STEPS[m])[None, :] >= lengths[split][m][:, None]] = 0
        one_hot = np.eye(k, dtype=np.float32)
        ids = np.array([f"{split}_{i:05d}" for i in range(n)])
        splits[split] = SplitData(features, one_hot[classes], ids, {m: one_hot[c] for m, c in modality_classes.items()})
    return MultimodalDataset("cherma", list(CHERMA_EMOTIONS), splits, f"synth:cherma:{size}:{seed}"), lengths


def write_synth(fmt: str, out: str | Path, size: str = "small", seed: int = 0,
                embeddings: str | None = None, unaligned: bool = False,
                disagreement: float = CHERMA_DISAGREEMENT) -> list[Path]:
    """Generate and write a data set; returns the paths a user passes to `--data` / `--extra`."""
    if size not in MOSEI_SIZES:
        raise FieldError("size", size, f"choose one of {', '.join(MOSEI_SIZES)}")
    if seed < 0:
        raise FieldError("seed", seed, "must be at least 0")
    out = Path(out)
    if fmt == "mosei":
        written = [write_mosei_folder(synth_mosei(size, seed, embeddings), out)]
    elif fmt == "iemocap":
        dataset9 = synth_iemocap9(size, seed, embeddings)
        written = [write_mult_pickle(iemocap4_subset(dataset9), out / "iemocap_data.pkl"),
                   write_iemocap9_folder(dataset9, out / "iemocap9")]
        if unaligned:
            noalign = synth_iemocap9(size, seed, embeddings, IEMOCAP_UNALIGNED_STEPS[size])
            written.append(write_mult_pickle(iemocap4_subset(noalign), out / "iemocap_data_noalign.pkl"))
    elif fmt == "raw":
        written = [synth_raw(out, size, seed, embeddings)]
    elif fmt == "cherma":
        dataset, lengths = synth_cherma(size, seed, embeddings, disagreement)
        written = [write_cherma_folder(dataset, out, lengths)]
    else:
        raise FieldError("format", fmt, f"choose one of {', '.join(SYNTH_FORMATS)}")
    write_json(out / "synth.json", {
        "format": fmt, "size": size, "seed": seed, "unaligned": unaligned,
        **({"disagreement": disagreement} if fmt == "cherma" else {}),
        "note": "generated by emozsl data synth; features (or media) come from emotion word vectors through hidden "
                "random maps"})
    return written
