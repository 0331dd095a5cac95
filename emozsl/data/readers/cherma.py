"""CHERMA-style folders: a JSON label file per split and one .npy feature file per utterance and
modality, with a label for each modality besides the multimodal one (Sun et al., ACL 2023).

    {split}.json   list of {"audio_file": "NAME.wav", "video_file": ..., "txt_label": ...,
                   "audio_label": ..., "visual_label": ..., "video_label": ...}
                   (video_label is the multimodal label; labels in Chinese or English)
    text/{split}/NAME.npy, audio/{split}/NAME.npy, visual/{split}/NAME.mp4.npy   (T, D) or (D,)

Splits: train and test are required; valid.json (or dev.json) is used when present, else a fixed
10% of train (chosen by a hash of the utterance name) becomes valid, since CHERMA's release has no
validation split and model selection must never look at test. Sequences are zero-padded at the end
to the longest utterance of their split; the models mask that padding."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from emozsl.data.dataset import IMPUTE_DEFAULT, FeatureValues, MultimodalDataset, SplitData
from emozsl.errors import EmozslError
from emozsl.fileio import read_json, replacing, write_text

CHERMA_EMOTIONS = ["anger", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
CHERMA_CHINESE = ["愤怒", "厌恶", "恐惧", "高兴", "平静", "悲伤", "惊奇"]
LABEL_FIELDS = {"text": "txt_label", "audio": "audio_label", "visual": "visual_label"}
MULTIMODAL_FIELD = "video_label"
FEATURE_FILES = {"text": "text/{split}/{name}.npy", "audio": "audio/{split}/{name}.npy",
                 "visual": "visual/{split}/{name}.mp4.npy"}
VALID_FILES = ("valid.json", "dev.json")
VALID_SHARE = 10  # one utterance in ten, by name hash, when there is no validation file


def is_cherma_folder(folder: Path) -> bool:
    return (folder / "train.json").exists()


def _label_index(value, where: str) -> int:
    for names in (CHERMA_CHINESE, CHERMA_EMOTIONS):
        if value in names:
            return names.index(value)
    if value == "suprise":  # a spelling found in the original code's label table
        return CHERMA_EMOTIONS.index("surprise")
    raise EmozslError(f"{where}: unknown label {value!r} (expected one of {', '.join(CHERMA_EMOTIONS)} "
                      f"or {', '.join(CHERMA_CHINESE)})")


def _read_examples(file: Path) -> list[dict]:
    examples = read_json(file, "CHERMA label file")
    if not isinstance(examples, list) or not examples:
        raise EmozslError(f"{file}: expected a non-empty list of utterances, found "
                          f"{'an empty list' if examples == [] else type(examples).__name__}")
    for i, example in enumerate(examples):
        if not isinstance(example, dict):
            raise EmozslError(f"{file}[{i}]: expected an object of fields, found {type(example).__name__}")
        missing = [k for k in ("audio_file", MULTIMODAL_FIELD, *LABEL_FIELDS.values()) if k not in example]
        if missing:
            raise EmozslError(f"{file}[{i}]: missing field(s) {', '.join(missing)}")
    return examples


def _pad(sequences: list[np.ndarray]) -> np.ndarray:
    out = np.zeros((len(sequences), max(len(s) for s in sequences), sequences[0].shape[1]), np.float32)
    for i, s in enumerate(sequences):
        out[i, :len(s)] = s
    return out


def _read_split(folder: Path, split: str, file: Path, examples: list[dict], values: FeatureValues) -> SplitData:
    names = [str(e["audio_file"]).removesuffix(".wav") for e in examples]
    one_hot = np.eye(len(CHERMA_EMOTIONS), dtype=np.float32)
    labels = one_hot[[_label_index(e[MULTIMODAL_FIELD], f"{file}[{i}].{MULTIMODAL_FIELD}")
                      for i, e in enumerate(examples)]]
    modality_labels = {m: one_hot[[_label_index(e[key], f"{file}[{i}].{key}") for i, e in enumerate(examples)]]
                       for m, key in LABEL_FIELDS.items()}
    features = {}
    for modality, pattern in FEATURE_FILES.items():
        sequences = []
        for name in names:
            path = folder / pattern.format(split=split, name=name)
            array = _load_npy(path)
            array = values.check(array[None] if array.ndim == 1 else array, str(path), f"{split}/{modality}", 2,
                                 covarep=modality == "audio")
            if sequences and array.shape[1] != sequences[0].shape[1]:
                raise EmozslError(f"{path}: feature size {array.shape[1]}, other {modality} files have "
                                  f"{sequences[0].shape[1]}")
            sequences.append(array)
        features[modality] = _pad(sequences)
    return SplitData(features, labels, np.array(names), modality_labels)


def _load_npy(path: Path) -> np.ndarray:
    if not path.exists():
        raise EmozslError(f"{path}: missing feature file")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # truncated, not .npy, or an object array
        raise EmozslError(f"{path}: not a readable .npy array ({exc})") from None


def read_cherma_folder(folder: Path, impute: str = IMPUTE_DEFAULT) -> MultimodalDataset:
    test_file = folder / "test.json"
    if not test_file.exists():
        raise EmozslError(f"{test_file}: missing file (a CHERMA folder needs train.json and test.json)")
    valid_file = next((folder / f for f in VALID_FILES if (folder / f).exists()), None)
    train_examples = _read_examples(folder / "train.json")
    splits, values = {}, FeatureValues(impute)
    if valid_file is None:
        held = [int(hashlib.sha1(str(e["audio_file"]).encode()).hexdigest(), 16) % VALID_SHARE == 0
                for e in train_examples]
        train = _read_split(folder, "train", folder / "train.json", train_examples, values)
        rows = np.array(held)
        splits["train"], splits["valid"] = train.subset(np.flatnonzero(~rows)), train.subset(np.flatnonzero(rows))
        note = "; valid = 10% of train by name hash"
    else:
        splits["train"] = _read_split(folder, "train", folder / "train.json", train_examples, values)
        splits["valid"] = _read_split(folder, valid_file.stem, valid_file, _read_examples(valid_file), values)
        note = ""
    splits["test"] = _read_split(folder, "test", test_file, _read_examples(test_file), values)
    return MultimodalDataset("cherma", list(CHERMA_EMOTIONS), splits, f"{folder}{note}", values.neg_inf_replaced,
                             imputed=values.imputed)


def write_cherma_folder(dataset: MultimodalDataset, folder: str | Path, lengths: dict[str, dict[str, np.ndarray]]) -> Path:
    """Write each utterance's first lengths[split][modality][i] steps (per-utterance files hold
    only the real steps) and its four labels, as English names."""
    folder = Path(folder)
    for split, data in dataset.splits.items():
        examples = []
        label_of = {m: data.modality_labels.get(m, data.labels).argmax(1) for m in LABEL_FIELDS}
        for i, name in enumerate(data.ids):
            for modality, pattern in FEATURE_FILES.items():
                with replacing(folder / pattern.format(split=split, name=name), durable=False) as tmp, \
                        open(tmp, "wb") as f:
                    np.save(f, data.features[modality][i, :lengths[split][modality][i]])
            examples.append({"audio_file": f"{name}.wav", "video_file": f"{name}.mp4",
                             **{key: dataset.emotions[label_of[m][i]] for m, key in LABEL_FIELDS.items()},
                             MULTIMODAL_FIELD: dataset.emotions[data.labels[i].argmax()]})
        write_text(folder / f"{split}.json", json.dumps(examples, indent=1, ensure_ascii=False) + "\n")
    return folder
