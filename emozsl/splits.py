"""Zero-shot / few-shot / supervised splits (docs/protocols.md), saved as JSON manifests.

A manifest lists, per split, the rows taken from the main data (and, for IEMOCAP, from the
9-class data that supplies the extra emotion), the evaluated emotions in column order, which of
them are trained on, and the fingerprints of the data it was made from. Making one is a pure
function of (data, protocol, target, seed, shots/fraction): same inputs, byte-identical file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emozsl.data.corpora import IEMOCAP
from emozsl.data.dataset import IMPUTE_DEFAULT, SPLITS, MultimodalDataset, SplitData
from emozsl.data.formats import default_data_path, load_dataset
from emozsl.data.readers.iemocap import IEMOCAP4_EMOTIONS
from emozsl.data.media.refs import MediaColumn
from emozsl.errors import EmozslError, FieldError, check_choice
from emozsl.fileio import read_json, write_text
from emozsl.numeric import AT_LEAST_0, AT_LEAST_1, CLOSED_UNIT, check_number

MANIFEST_FORMAT = "emozsl-split/1"
PROTOCOLS = ("zsl", "fsl", "supervised")
# IEMOCAP 4-class names that the 9-class files spell differently.
IEMOCAP9_NAME = {"angry": "anger"}


@dataclass
class Task:
    """A manifest applied to data: what training and evaluation consume."""
    emotions: list[str]  # every evaluated emotion, label column order
    train_emotions: list[str]  # emotions with a training signal
    unseen: list[str]
    splits: dict[str, SplitData]
    dataset: str  # main data's name (mosei, iemocap4, ...)
    manifest: dict

    def input_dims(self) -> dict[str, int]:
        return {m: int(a.shape[-1]) for m, a in self.splits["train"].features.items()}

    @property
    def kind(self) -> str:
        """'features' or 'raw' (media references), as MultimodalDataset.kind."""
        features = self.splits["train"].features.values()
        return "raw" if any(isinstance(a, MediaColumn) for a in features) else "features"


def resolve_target(target: str | int, choices: list[str], what: str = "target") -> str:
    """An emotion given by name or by index into `choices`."""
    text = str(target).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if 0 <= index < len(choices):
            return choices[index]
    elif text.lower() in choices:
        return text.lower()
    listing = ", ".join(f"{i} {e}" for i, e in enumerate(choices))
    raise FieldError(what, target, f"not an emotion of this data (choices: {listing})")


def _keep_count(positives: int, shots: int | None, fraction: float, where: str) -> int:
    """How many of a split's `positives` a few-shot split keeps: `shots`, else ceil(F*P)+1."""
    if shots is not None:
        if shots > positives:  # keeping them all would be no few-shot split at all
            raise FieldError("shots", shots, f"{where} has only {positives} positives to keep shots of")
        return shots
    return min(positives, math.ceil(fraction * positives) + 1)


def _few_shot_rows(presence: np.ndarray, keep: int, rng: np.random.Generator) -> np.ndarray:
    """All rows negative for the target plus `keep` positives chosen at random, in data order."""
    positives = np.flatnonzero(presence)
    chosen = rng.choice(positives, size=keep, replace=False) if keep else np.array([], int)
    return np.sort(np.concatenate([np.flatnonzero(~presence), chosen])).astype(int)


# What a split's numbers must be, declared once: RunConfig's settings of the same names take them.
SPLIT_RULES = {"split_seed": AT_LEAST_0, "shots": AT_LEAST_1, "fraction": CLOSED_UNIT}


def check_protocol(protocol: str, target: str | int | None, shots: int | None, manifest: bool = False) -> None:
    """The rules between a split's protocol and its other settings: `shots` is few-shot only, and a
    zero- or few-shot protocol needs a target emotion (unless a `manifest` gives it). FieldError
    naming shots or target."""
    if shots is not None and protocol != "fsl":  # kept, it would split one system in two reports
        raise FieldError("shots", shots, f"applies to the few-shot protocol only (this is {protocol})")
    if protocol == "supervised" and target is not None:
        raise FieldError("target", target, "the supervised protocol has no target emotion")
    if protocol != "supervised" and target is None and not manifest:
        raise FieldError("target", None, f"protocol {protocol} needs a target emotion")


def make_split(data: MultimodalDataset, protocol: str, target: str | int | None = None, seed: int = 0,
               shots: int | None = None, fraction: float = 0.01,
               extra: MultimodalDataset | None = None) -> dict:
    """Build a manifest. Without `extra`, the target is one of the data's own emotions (MOSEI):
    zsl drops its positives from train and valid. With `extra` (IEMOCAP 9-class), the target is an
    emotion the main data lacks: its positives are appended (zsl: test only; fsl: a few in train
    and valid too) as a new label column."""
    check_choice("protocol", protocol, PROTOCOLS)
    for name, value in (("split_seed", seed), ("shots", shots), ("fraction", fraction)):
        check_number(name, value, SPLIT_RULES[name])
    check_protocol(protocol, target, shots)
    rng = np.random.default_rng(seed)
    sources = {"data": {"name": data.name, "fingerprint": data.fingerprint()}}
    rows: dict[str, dict[str, list[int]]] = {}
    emotions = list(data.emotions)

    if protocol == "supervised":
        rows = {s: {"data": list(range(len(data.splits[s])))} for s in SPLITS}
    elif extra is None:
        target = resolve_target(target, emotions)
        column = emotions.index(target)
        for split in SPLITS:
            presence = data.splits[split].any_presence[:, column]
            if split == "test":
                kept = np.arange(len(presence))
            elif protocol == "zsl":
                kept = np.flatnonzero(~presence)
            else:
                keep = _keep_count(int(presence.sum()), shots, fraction, f"the {split} split of {target}")
                kept = _few_shot_rows(presence, keep, rng)
            rows[split] = {"data": kept.tolist()}
    else:
        sources["extra"] = {"name": extra.name, "fingerprint": extra.fingerprint()}
        choices = [e for e in extra.emotions if e not in {IEMOCAP9_NAME.get(m, m) for m in emotions}]
        target = resolve_target(target, extra.emotions)
        if target not in choices:
            raise FieldError("target", target, "already an emotion of the main data; choose an extra emotion "
                             f"({', '.join(f'{extra.emotions.index(c)} {c}' for c in choices)})")
        _check_combinable(data, extra)
        column = extra.emotions.index(target)
        emotions.append(target)
        for split in SPLITS:
            presence = extra.splits[split].presence[:, column]
            if split == "test":
                appended = np.flatnonzero(presence)
            elif protocol == "zsl":
                appended = np.array([], int)
            else:
                positives = np.flatnonzero(presence)
                keep = _keep_count(len(positives), shots, fraction, f"the {split} split of {target} in {extra.source}")
                appended = np.sort(rng.choice(positives, size=keep, replace=False))
            rows[split] = {"data": list(range(len(data.splits[split]))), "extra": appended.astype(int).tolist()}

    for split in SPLITS:  # refused here, not when training finds it: a manifest on disk must be usable
        if not sum(map(len, rows[split].values())):
            n = len(data.splits[split])
            if protocol == "zsl" and extra is None and n:
                raise EmozslError(f"{data.source}: the {split} split would be empty: zero-shot on {target} removes "
                                  f"all {n} of its samples (each has {target})")
            raise EmozslError(f"{data.source}: the {split} split is empty")
    seen = [e for e in emotions if not (protocol == "zsl" and e == target)]
    manifest = {
        "format": MANIFEST_FORMAT, "protocol": protocol, "dataset": data.name, "target": target,
        "emotions": emotions, "train_emotions": seen,
        "seen": [e for e in seen if not (protocol == "fsl" and e == target)],  # the few-shot one is low-resource
        "unseen": [target] if protocol == "zsl" else [],
        "low_resource": [target] if protocol == "fsl" else [],
        "seed": seed, "params": {"shots": shots, "fraction": fraction}, "sources": sources, "rows": rows,
    }
    # Counts from the labels alone: applying the split would copy every feature array.
    manifest["positives"] = {s: {e: int(c) for e, c in zip(emotions, (_split_labels(manifest, data, extra, s) > 0).sum(0))}
                             for s in SPLITS}
    return manifest


def _check_combinable(data: MultimodalDataset, extra: MultimodalDataset) -> None:
    main, other = data.splits["train"].features, extra.splits["train"].features
    for modality in main:
        if modality not in other or main[modality].shape[1:] != other[modality].shape[1:]:
            raise EmozslError(
                f"{data.source} and {extra.source}: {modality} shapes differ "
                f"({main[modality].shape[1:]} vs {other.get(modality, np.empty((0,))).shape[1:]}); "
                "only the aligned data can be combined with the 9-class files")


def _extra_labels(extra: MultimodalDataset, emotions: list[str], rows: np.ndarray, split: str) -> np.ndarray:
    """Labels of appended rows in the manifest's column order (main emotions, then the target)."""
    presence = extra.splits[split].presence[rows]
    columns = [extra.emotions.index(IEMOCAP9_NAME.get(e, e)) for e in emotions]
    return presence[:, columns].astype(np.float32)


def _manifest_rows(manifest: dict, split: str) -> tuple[np.ndarray, np.ndarray]:
    rows = manifest["rows"][split]
    return np.asarray(rows["data"], dtype=int), np.asarray(rows.get("extra", []), dtype=int)


def _split_labels(manifest: dict, data: MultimodalDataset, extra: MultimodalDataset | None, split: str) -> np.ndarray:
    """One split's label matrix in the manifest's column order, without touching any feature."""
    rows, extra_rows = _manifest_rows(manifest, split)
    labels = np.zeros((len(rows), len(manifest["emotions"])), np.float32)
    labels[:, :len(data.emotions)] = data.splits[split].labels[rows]
    if len(extra_rows):
        labels = np.concatenate([labels, _extra_labels(extra, manifest["emotions"], extra_rows, split)])
    return labels


def apply_split(manifest: dict, data: MultimodalDataset, extra: MultimodalDataset | None = None,
                where: str = "split manifest") -> Task:
    """Turn a manifest and the data it was made from into a Task; other data, or a manifest that
    contradicts its own protocol, is an error naming `where`."""
    _check_source(manifest, "data", data)
    if "extra" in manifest["sources"]:
        if extra is None:
            raise EmozslError("this split appends rows from extra data (IEMOCAP 9-class): pass --extra DIR")
        _check_source(manifest, "extra", extra)
    _check_protocol(manifest, data, where)
    emotions = manifest["emotions"]
    splits = {}
    for split in SPLITS:
        rows, extra_rows = _manifest_rows(manifest, split)
        _check_rows(rows, len(data.splits[split]), f"{where}: rows.{split}.data")
        if len(extra_rows):
            _check_rows(extra_rows, len(extra.splits[split]), f"{where}: rows.{split}.extra")
        source = data.splits[split]
        features = {m: a[rows] for m, a in source.features.items()}
        ids = source.ids[rows]
        if len(extra_rows):
            added = extra.splits[split].subset(extra_rows)
            features = {m: np.concatenate([a, added.features[m]]) for m, a in features.items()}
            ids = np.concatenate([ids, added.ids])
        labels = _split_labels(manifest, data, extra, split)
        # Uni-modal labels in the manifest's columns; appended extra rows carry only the shared label.
        modality_labels = {}
        for m, array in source.modality_labels.items():
            modality_labels[m] = labels.copy()
            modality_labels[m][:len(rows), :array.shape[1]] = array[rows]
        splits[split] = SplitData(features, labels, ids, modality_labels)
    _check_applied(manifest, splits, where)
    return Task(list(emotions), list(manifest["train_emotions"]), list(manifest["unseen"]), splits,
                manifest["dataset"], manifest)


def _check_protocol(manifest: dict, data: MultimodalDataset, where: str) -> None:
    """The emotion lists must be the ones the protocol gives for this data and target."""
    protocol, target, emotions = manifest["protocol"], manifest["target"], manifest["emotions"]
    check_choice(f"{where}: protocol", protocol, PROTOCOLS)
    expected = list(data.emotions) + ([target] if "extra" in manifest["sources"] else [])
    if emotions != expected:
        raise EmozslError(f"{where}: emotions {emotions} are not this data's {expected}")
    if (protocol == "supervised") != (target is None) or (target is not None and target not in emotions):
        raise EmozslError(f"{where}: target {target!r} does not fit protocol {protocol} on emotions {emotions}")
    lists = {"train_emotions": [e for e in emotions if not (protocol == "zsl" and e == target)],
             "unseen": [target] if protocol == "zsl" else [],
             "low_resource": [target] if protocol == "fsl" else []}
    for key, value in lists.items():
        if manifest.get(key, value) != value:
            raise EmozslError(f"{where}: {key} {manifest[key]} contradicts protocol {protocol} on "
                              f"{target or 'no target'} (expected {value})")


def _check_rows(rows: np.ndarray, available: int, where: str) -> None:
    if len(rows) and (rows.min() < 0 or rows.max() >= available):
        bad = rows[(rows < 0) | (rows >= available)][0]
        raise EmozslError(f"{where}: row {bad} is outside 0..{available - 1}")
    if len(np.unique(rows)) != len(rows):
        raise EmozslError(f"{where}: lists a row more than once")


def _check_applied(manifest: dict, splits: dict[str, SplitData], where: str) -> None:
    """What training relies on: no empty split, no sample in two splits, and in zero-shot no
    positive of an unseen emotion where training or model selection could see it."""
    for split, part in splits.items():
        if not len(part):
            raise EmozslError(f"{where}: the {split} split is empty (nothing to {'train on' if split == 'train' else 'score'})")
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        shared = np.intersect1d(splits[a].ids, splits[b].ids)
        if len(shared):
            raise EmozslError(f"{where}: {len(shared)} sample(s) are in both {a} and {b} (e.g. id {str(shared[0])!r})")
    for emotion in manifest["unseen"]:
        column = manifest["emotions"].index(emotion)
        for split in ("train", "valid"):
            count = int(splits[split].any_presence[:, column].sum())
            if count:
                raise EmozslError(f"{where}: {count} {split} sample(s) are positive for the unseen emotion "
                                  f"{emotion}; zero-shot keeps them out of train and valid")


def _check_source(manifest: dict, role: str, data: MultimodalDataset) -> None:
    expected, actual = manifest["sources"][role]["fingerprint"], data.fingerprint()
    if actual != expected:
        imputed = (f"; --impute zero set {sum(data.imputed.values())} values of this data to 0, which the "
                   "fingerprint records: make the split from this data, with --impute zero") if data.imputed else ""
        raise EmozslError(f"{data.source}: this split was made from other data (fingerprint {expected}, "
                          f"this data {actual}){imputed}")


def fold_dataset(data: MultimodalDataset, folds: int, fold: int, seed: int) -> MultimodalDataset:
    """k-fold cross-validation: all rows pooled and dealt into `folds` folds by a permutation from
    `seed` (so every training seed sees the same folds); fold `fold` is test, the next one valid,
    the rest train. Splits (zero-/few-shot) then apply to this data as to any other."""
    pooled = _concat_splits([data.splits[s] for s in SPLITS])
    order = np.random.default_rng([seed, folds]).permutation(len(pooled))
    assignment = np.empty(len(pooled), int)
    assignment[order] = np.arange(len(pooled)) % folds
    roles = {"test": [fold], "valid": [(fold + 1) % folds],
             "train": [f for f in range(folds) if f not in (fold, (fold + 1) % folds)]}
    parts = {role: pooled.subset(np.flatnonzero(np.isin(assignment, members))) for role, members in roles.items()}
    return MultimodalDataset(data.name, list(data.emotions), parts, f"{data.source} (fold {fold} of {folds}, seed {seed})",
                             dict(data.neg_inf_replaced))


def _concat_splits(parts: list[SplitData]) -> SplitData:
    def cat(arrays):  # modalities may differ in length across splits: pad to the longest with zeros
        if isinstance(arrays[0], MediaColumn):  # raw media: references, nothing to pad
            return MediaColumn.concat(arrays)
        steps = max(a.shape[1] for a in arrays)
        return np.concatenate([np.pad(a, ((0, 0), (0, steps - a.shape[1]), (0, 0))) for a in arrays])

    first = parts[0]
    return SplitData({m: cat([p.features[m] for p in parts]) for m in first.features},
                     np.concatenate([p.labels for p in parts]), np.concatenate([p.ids for p in parts]),
                     {m: np.concatenate([p.modality_labels[m] for p in parts]) for m in first.modality_labels})


def manifest_name(manifest: dict) -> str:
    """dataset_protocol[_target][_Nshots | _fractionF]_seedS.json: splits that differ in how many
    few-shot positives they keep never share a file."""
    target = f"_{manifest['target']}" if manifest["target"] else ""
    if manifest["protocol"] == "fsl":
        shots, fraction = manifest["params"]["shots"], manifest["params"]["fraction"]
        target += f"_{shots}shots" if shots is not None else f"_fraction{fraction:g}"
    return f"{manifest['dataset']}_{manifest['protocol']}{target}_seed{manifest['seed']}.json"


def dumps_manifest(manifest: dict) -> str:
    """Deterministic JSON: sorted keys, one top-level key per line, row lists kept compact."""
    lines = [f"  {json.dumps(k)}: {json.dumps(manifest[k], sort_keys=True)}" for k in sorted(manifest)]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def save_manifest(manifest: dict, path: str | Path) -> Path:
    return write_text(path, dumps_manifest(manifest))


MANIFEST_FIELDS = {"protocol": str, "dataset": str, "emotions": list, "train_emotions": list, "unseen": list,
                   "rows": dict, "sources": dict}


def load_manifest(path: str | Path) -> dict:
    """A manifest file, its structure checked (its consistency with the data is checked when it
    is applied)."""
    path = Path(path)
    manifest = read_json(path, "split manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise EmozslError(f"{path}: not an emozsl split manifest (field 'format' is not {MANIFEST_FORMAT})")
    missing = set(MANIFEST_FIELDS) - set(manifest)
    if missing:
        raise EmozslError(f"{path}: missing field(s) {', '.join(sorted(missing))}")
    for key, kind in MANIFEST_FIELDS.items():
        if not isinstance(manifest[key], kind):
            raise EmozslError(f"{path}: field {key} must be a {kind.__name__}")
    if "target" not in manifest or not isinstance(manifest["sources"].get("data"), dict):
        raise EmozslError(f"{path}: missing field target or sources.data")
    for split in SPLITS:
        rows = manifest["rows"].get(split)
        if not isinstance(rows, dict) or "data" not in rows or set(rows) - {"data", "extra"}:
            raise EmozslError(f"{path}: rows.{split} must hold a 'data' row list (and optionally 'extra')")
        for source, values in rows.items():
            if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                raise EmozslError(f"{path}: rows.{split}.{source} must be a list of row numbers")
    return manifest


def protocol_from_options(zsl: str | None, fsl: str | None) -> tuple[str, str | None]:
    """--zsl K / --fsl K / neither -> (protocol, target)."""
    if zsl is not None and fsl is not None:
        raise FieldError("fsl", fsl, f"give one protocol: --zsl {zsl} or --fsl {fsl}, not both")
    if zsl is not None:
        return "zsl", zsl
    return ("fsl", fsl) if fsl is not None else ("supervised", None)


def needs_extra(data: MultimodalDataset) -> bool:
    """Whether zero- and few-shot splits of `data` need the 9-class files (`extra`): IEMOCAP's
    4-class label set (its declared corpus and its emotions, never its name) holds no emotion to
    leave out; the zero-shot emotions come from the 9-class files."""
    return data.corpus is IEMOCAP and set(data.emotions) == set(IEMOCAP4_EMOTIONS)


def write_split(data_path: str | None, extra: str | None, zsl: str | None, fsl: str | None,
                shots: int | None, fraction: float, split_seed: int, out: str | None, trust_pickle: bool = False,
                dataset: str | None = None, impute: str = IMPUTE_DEFAULT) -> tuple[Path, dict]:
    """`emozsl split` (the settings: config.SplitSettings, by the same names): read the data
    (`impute`: data.FeatureValues) and the 9-class `extra` data, make the manifest, save it to
    `out` (default splits/<name>.json). `dataset`: the corpus (data/corpora.py) the data must
    follow. FieldError naming dataset; EmozslError for a split the data cannot give."""
    protocol, target = protocol_from_options(zsl, fsl)
    data = load_dataset(data_path or default_data_path(), trust_pickle, impute)
    extra_data = load_dataset(extra, trust_pickle, impute) if extra else None
    if dataset and data.corpus.name != dataset:
        raise FieldError("dataset", dataset, f"{data.source} holds {data.corpus.name} data")
    if needs_extra(data) and protocol != "supervised" and extra_data is None:
        raise EmozslError("IEMOCAP zero-/few-shot emotions come from the 9-class files: pass --extra DIR "
                          "(the folder of text_train.p, covarep_train.p, facet_train.p, y_train.p)")
    manifest = make_split(data, protocol, target, split_seed, shots, fraction, extra_data)
    path = Path(out or Path("splits") / manifest_name(manifest))
    if path.exists():  # the default name says protocol, emotion and seed, not which data: never replace another's
        try:
            before = load_manifest(path)["sources"]
        except EmozslError:
            before = None
        if before != manifest["sources"]:
            raise EmozslError(f"{path}: holds a split of other data (or is no split manifest); pass --out to write "
                              "this one elsewhere, or delete the file")
    return save_manifest(manifest, path), manifest
