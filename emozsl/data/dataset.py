"""The in-memory data-set type every reader yields.

A data set holds, per split, one float32 array per modality (each modality may have its own
sequence length), a label matrix whose columns follow `emotions`, and sample ids. An emotion is
present in a sample when its label value is > 0 (MOSEI labels are intensities, IEMOCAP 0/1).
Some data sets (CHERMA) also label each modality on its own: `modality_labels`, same columns.
Data without labels (`labelled` False: what `emozsl predict` scores) have no emotions, (N, 0) label
matrices, and any of the splits, or the one split UNSPLIT when the data come without splits.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emozsl.data.corpora import Corpus
from emozsl.errors import EmozslError
from emozsl.numeric import largest_beyond_float32

MODALITIES = ("text", "audio", "visual")
SPLITS = ("train", "valid", "test")
UNSPLIT = "all"  # the one split of unlabelled data that come without splits (a folder of clips)


@dataclass
class SplitData:
    features: dict[str, np.ndarray]  # modality -> (N, T_m, D_m) float32, or a raw.MediaColumn (N references)
    labels: np.ndarray  # (N, K) float32; present when > 0
    ids: np.ndarray  # (N,) str
    modality_labels: dict[str, np.ndarray] = field(default_factory=dict)  # modality -> (N, K), optional

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def presence(self) -> np.ndarray:
        return self.labels > 0

    @property
    def any_presence(self) -> np.ndarray:
        """Present by the shared label or any uni-modal one: a zero-shot split drops all of these,
        so no modality's loss ever sees the held-out emotion."""
        present = self.presence
        for labels in self.modality_labels.values():
            present = present | (labels > 0)
        return present

    def subset(self, rows: np.ndarray) -> SplitData:
        return SplitData({m: a[rows] for m, a in self.features.items()}, self.labels[rows], self.ids[rows],
                         {m: a[rows] for m, a in self.modality_labels.items()})


@dataclass
class MultimodalDataset:
    name: str  # "mosei", "iemocap4", "iemocap9"
    emotions: list[str]
    splits: dict[str, SplitData]
    source: str = ""
    neg_inf_replaced: dict[str, int] = field(default_factory=dict)  # "split/modality" -> count
    # Samples a reader left out, by cause ("no words", "not in a standard fold", ...) -> count; a
    # reader that drops anything says so here, and `data info` prints it.
    dropped: dict[str, int] = field(default_factory=dict)
    imputed: dict[str, int] = field(default_factory=dict)  # "split/modality" -> values set to 0 by --impute zero
    notes: list[str] = field(default_factory=list)  # a reader's choices, said in `data info` (which file it used, ...)
    labelled: bool = True  # False: data to score only (`emozsl predict`); no emotions, (N, 0) labels
    # The corpus whose protocol the data follow, as their format declares it (load_dataset sets it);
    # None for a data set built in code, whose HDF5 copy then records none.
    corpus: Corpus | None = None

    def __post_init__(self):
        """Every reader's output obeys one shape contract, checked once here: the three splits (for
        unlabelled data, any of them, or UNSPLIT alone), the same modalities with the same feature
        sizes in each, and one row per sample everywhere."""
        where = self.source or self.name
        if self.labelled:
            missing = [s for s in SPLITS if s not in self.splits]
            if missing:
                raise EmozslError(f"{where}: no {', '.join(missing)} split")
        else:
            if self.emotions:
                raise EmozslError(f"{where}: unlabelled data name emotions ({', '.join(self.emotions)})")
            names = list(self.splits)
            if not names:
                raise EmozslError(f"{where}: no split")
            if names != [UNSPLIT] and not set(names) <= set(SPLITS):
                raise EmozslError(f"{where}: splits {', '.join(names)}: expected some of {', '.join(SPLITS)}, "
                                  f"or {UNSPLIT} alone")
        order = self._split_order()
        first_name = order[0]
        first = self.splits[first_name]
        if not first.features:
            raise EmozslError(f"{where}: no modality in the {first_name} split")
        raw = {m for m, a in first.features.items() if not isinstance(a, np.ndarray)}
        if raw and raw != set(first.features):
            raise EmozslError(f"{where}: mixes raw media ({', '.join(sorted(raw))}) with feature arrays")
        for split in order:
            data = self.splits[split]
            if list(data.features) != list(first.features):
                raise EmozslError(f"{where}: the {split} split holds modalities {', '.join(data.features)}, "
                                  f"the {first_name} split {', '.join(first.features)}")
            for modality, array in data.features.items():
                size, expected = array.shape[-1], first.features[modality].shape[-1]
                if size != expected:
                    raise EmozslError(f"{where}: {modality} has {size} features per step in the {split} split "
                                      f"but {expected} in the {first_name} split")
            for name, labels in {"labels": data.labels, **{f"{m} labels": a for m, a in data.modality_labels.items()}}.items():
                if labels.ndim != 2 or labels.shape[1] != len(self.emotions):
                    raise EmozslError(f"{where}: {split} {name} have shape {labels.shape}, expected "
                                      f"(N, {len(self.emotions)}) for emotions {', '.join(self.emotions)}")
            check_same_n({**data.features, "labels": data.labels, "ids": data.ids,
                          **{f"{m} labels": a for m, a in data.modality_labels.items()}}, f"{where} ({split} split)")

    def _split_order(self) -> list[str]:
        """The splits present, in SPLITS order (UNSPLIT stands alone)."""
        return [s for s in (*SPLITS, UNSPLIT) if s in self.splits]

    @property
    def has_splits(self) -> bool:
        """False for data that come without splits (UNSPLIT is their one split)."""
        return list(self.splits) != [UNSPLIT]

    @property
    def kind(self) -> str:
        """'features' (pre-extracted arrays) or 'raw' (media references: FE2E/MESM inputs)."""
        first = next(iter(self.splits.values())).features
        return "features" if all(isinstance(a, np.ndarray) for a in first.values()) else "raw"

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(next(iter(self.splits.values())).features)

    def input_dims(self) -> dict[str, int]:
        first = next(iter(self.splits.values()))
        return {m: int(a.shape[-1]) for m, a in first.features.items()}

    def fingerprint(self) -> str:
        """Hash of what a split depends on: emotions, ids, labels and feature shapes, per split.

        Features themselves are left out on purpose: hashing gigabytes would make every
        `split`/`train` call slow, and a split is a function of the labels and sample order."""
        h = hashlib.sha256()
        h.update(self.name.encode())
        h.update("\0".join(self.emotions).encode())
        for split in sorted(self.splits):
            data = self.splits[split]
            h.update(split.encode())
            h.update(np.ascontiguousarray(data.labels, dtype=np.float32).tobytes())
            h.update("\0".join(map(str, data.ids)).encode())
            for m in sorted(data.features):
                h.update(f"{m}{data.features[m].shape}".encode())
            for m in sorted(data.modality_labels):
                h.update(m.encode())
                h.update(np.ascontiguousarray(data.modality_labels[m], dtype=np.float32).tobytes())
        if self.imputed:  # the features were changed: a split made from them says so
            h.update(("imputed" + "".join(f"{k}={v}" for k, v in sorted(self.imputed.items()))).encode())
        return h.hexdigest()[:16]

    def summary(self) -> dict:
        """Shapes, dims and per-emotion positive counts per split (what `data info` prints); the
        positives of unlabelled data are empty."""
        out = {"name": self.name, "kind": self.kind, "source": self.source, "labelled": self.labelled,
               "emotions": list(self.emotions),
               "fingerprint": self.fingerprint(), "neg_inf_replaced": dict(self.neg_inf_replaced),
               "dropped": dict(self.dropped), "imputed": dict(self.imputed), "notes": list(self.notes), "splits": {}}
        for split, data in self.splits.items():
            out["splits"][split] = {
                "n": len(data),
                "shapes": {m: list(a.shape) for m, a in data.features.items()},
                "positives": {e: int(c) for e, c in zip(self.emotions, data.presence.sum(0))},
            }
            if data.modality_labels:
                out["splits"][split]["modality_disagreement"] = {
                    m: round(float(((a > 0) != data.presence).any(1).mean()), 4) for m, a in data.modality_labels.items()}
        return out


IMPUTE_CHOICES = ("none", "zero")
IMPUTE_DEFAULT = "none"  # refuse non-finite features: a reader's, `load_dataset`'s and `--impute`'s default
IMPUTE_HINT = "pass --impute zero to set them to 0, as the field's loaders do"


def nonfinite_message(array: np.ndarray, where: str) -> str | None:
    """The one message form for NaN and infinities: file and field, count and sign; None when finite."""
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return None
    counts = {"NaN": int(np.isnan(array).sum()), "+inf": int(np.isposinf(array).sum()),
              "-inf": int(np.isneginf(array).sum())}
    return f"{where}: holds " + ", ".join(f"{n} {sign}" for sign, n in counts.items() if n)


def check_array(array, where: str, rank: int, last_dim: int | None = None) -> np.ndarray:
    """One array read from `where` (file and field) as float32: numeric, of the given rank (and
    last dimension), finite, and within float32's range (checked before the cast, so a number
    beyond it is an error, never a silent infinity). Feature arrays go through FeatureValues."""
    array = np.asarray(array)
    if array.dtype.kind not in "fiub":
        raise EmozslError(f"{where}: expected a numeric array, found dtype {array.dtype}")
    if array.ndim != rank:
        raise EmozslError(f"{where}: expected rank {rank}, found shape {array.shape}")
    if last_dim is not None and array.shape[-1] != last_dim:
        raise EmozslError(f"{where}: expected last dimension {last_dim}, found shape {array.shape}")
    message = nonfinite_message(array, where)
    if message:  # features go through FeatureValues first: what reaches here is labels
        raise EmozslError(f"{message} (labels are never imputed: fix the file)")
    largest = largest_beyond_float32(array)
    if largest is not None:
        raise EmozslError(f"{where}: holds values outside float32's range (largest magnitude {largest:.3g})")
    return np.asarray(array, dtype=np.float32)


@dataclass
class FeatureValues:
    """The one rule for non-finite feature values, which every reader applies:
    - COVAREP audio -inf (the log of silence) is set to 0 and counted, as the field's loaders do
      (`neg_inf_replaced`);
    - any other NaN, +inf or -inf is refused in one line naming file, field, count and sign, unless
      `impute` is "zero" (`--impute zero`): then it is set to 0 and counted (`imputed`), which
      the data's fingerprint and the run's config record."""
    impute: str = IMPUTE_DEFAULT
    neg_inf_replaced: dict[str, int] = field(default_factory=dict)  # "split/modality" -> count
    imputed: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        if self.impute not in IMPUTE_CHOICES:
            raise EmozslError(f"impute {self.impute!r}: choose one of {', '.join(IMPUTE_CHOICES)}")

    def check(self, array, where: str, key: str, rank: int = 3, *, covarep: bool = False) -> np.ndarray:
        """`array` from `where` as float32 with the rule applied; `key` ("split/modality") is what
        the counts are recorded under."""
        array = np.asarray(array)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            neg_inf = np.isneginf(array) if covarep else None
            if neg_inf is not None and neg_inf.any():
                self.neg_inf_replaced[key] = self.neg_inf_replaced.get(key, 0) + int(neg_inf.sum())
                array = np.where(neg_inf, 0, array)
            message = nonfinite_message(array, where)
            if message and self.impute == "none":
                raise EmozslError(f"{message}; {IMPUTE_HINT}")
            if message:
                bad = ~np.isfinite(array)
                self.imputed[key] = self.imputed.get(key, 0) + int(bad.sum())
                array = np.where(bad, 0, array)
        return check_array(array, where, rank)


def check_same_n(arrays: dict[str, np.ndarray], where: str) -> None:
    sizes = {name: len(a) for name, a in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise EmozslError(f"{where}: sample counts differ across fields: {sizes}")


PICKLE_REFUSAL = ("{path}: pickle files run code when loaded; pass --trust-pickle if you trust this "
                  "file (then `emozsl data convert` writes a safe HDF5 copy)")


def load_pickle(file: Path, trust_pickle: bool):
    """A pickle file's content, only when the user trusts it (unpickling runs code)."""
    if not trust_pickle:
        raise EmozslError(PICKLE_REFUSAL.format(path=file))
    if not file.exists():
        raise EmozslError(f"{file}: missing file")
    try:
        with open(file, "rb") as f:
            return pickle.load(f, encoding="latin1")  # latin1: the Python-2 pickles hold numpy bytes
    except Exception as exc:  # any unpickling failure is a bad file, reported as such
        raise EmozslError(f"{file}: cannot be unpickled ({type(exc).__name__}: {exc})") from None
