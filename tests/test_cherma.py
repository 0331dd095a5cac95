"""CHERMA-style folders (uni-modal labels), the generated CHERMA-like data and their splits."""

import json

import numpy as np
import pytest

from emozsl.data import load_dataset, write_safe_h5
from emozsl.data.readers.cherma import CHERMA_EMOTIONS
from emozsl.data.generated.synth import write_synth
from emozsl.errors import EmozslError
from emozsl.splits import apply_split, make_split
from tests.conftest import CHERMA_CHINESE, write_cherma


def test_reader_gives_padded_features_and_four_label_sets(tmp_path):
    folder = write_cherma(tmp_path / "c", splits=("train", "valid", "test"))
    data = load_dataset(folder)
    assert data.name == "cherma" and data.emotions == CHERMA_EMOTIONS
    examples = json.loads((folder / "test.json").read_text(encoding="utf-8"))
    test = data.splits["test"]
    assert list(test.ids) == [e["audio_file"].removesuffix(".wav") for e in examples]
    for i, example in enumerate(examples):
        assert CHERMA_EMOTIONS[test.labels[i].argmax()] == CHERMA_EMOTIONS[CHERMA_CHINESE.index(example["video_label"])]
        assert test.modality_labels["text"][i].argmax() == CHERMA_CHINESE.index(example["txt_label"])
        assert test.modality_labels["visual"][i].argmax() == CHERMA_CHINESE.index(example["visual_label"])
        visual = np.load(folder / "visual" / "test" / f"{test.ids[i]}.mp4.npy")
        np.testing.assert_array_equal(test.features["visual"][i, :len(visual)], visual)
        assert not test.features["visual"][i, len(visual):].any()  # padded at the end with zeros
    assert data.input_dims() == {"text": 8, "audio": 5, "visual": 4}


def test_missing_validation_split_is_carved_from_train_by_name(tmp_path):
    data = load_dataset(write_cherma(tmp_path / "c"))
    train, valid = set(data.splits["train"].ids), set(data.splits["valid"].ids)
    assert valid and not train & valid and len(train | valid) == 30
    assert "valid = 10% of train" in data.source
    assert set(load_dataset(tmp_path / "c").splits["valid"].ids) == valid  # deterministic


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "test.json").unlink(), "test.json: missing file"),
    (lambda f: (f / "audio" / "train" / "train_003.npy").unlink(), "train_003.npy: missing feature file"),
    (lambda f: np.save(f / "text" / "train" / "train_004.npy", np.ones((3, 9), np.float32)), "feature size 9"),
    (lambda f: np.save(f / "text" / "train" / "train_004.npy", np.full((3, 8), np.nan, np.float32)), "NaN"),
    (lambda f: _edit(f, "txt_label", "furious"), r"train.json\[0\].txt_label: unknown label 'furious'"),
    (lambda f: _edit(f, "video_label", None, drop=True), r"train.json\[0\]: missing field\(s\) video_label"),
    (lambda f: (f / "train.json").write_text("{", encoding="utf-8"), "train.json: not valid JSON"),
])
def test_bad_cherma_input_is_named(tmp_path, damage, message):
    folder = write_cherma(tmp_path / "c")
    damage(folder)
    with pytest.raises(EmozslError, match=message):
        load_dataset(folder)


def _edit(folder, key, value, drop=False):
    examples = json.loads((folder / "train.json").read_text(encoding="utf-8"))
    if drop:
        del examples[0][key]
    else:
        examples[0][key] = value
    (folder / "train.json").write_text(json.dumps(examples), encoding="utf-8")


def test_safe_copy_keeps_unimodal_labels(tmp_path):
    data = load_dataset(write_cherma(tmp_path / "c"))
    copy = load_dataset(write_safe_h5(data, tmp_path / "c.h5"))
    assert copy.fingerprint() == data.fingerprint()
    np.testing.assert_array_equal(copy.splits["train"].modality_labels["audio"], data.splits["train"].modality_labels["audio"])


def test_zero_shot_split_drops_the_target_from_every_label_set(tmp_path):
    data = load_dataset(write_cherma(tmp_path / "c"))
    task = apply_split(make_split(data, "zsl", "fear", 0), data)
    fear = CHERMA_EMOTIONS.index("fear")
    train = task.splits["train"]
    assert not train.labels[:, fear].any()
    assert all(not a[:, fear].any() for a in train.modality_labels.values())
    # rows where only one modality said fear are gone too
    text_only = (data.splits["train"].modality_labels["text"][:, fear] > 0) & (data.splits["train"].labels[:, fear] == 0)
    assert text_only.any() and not set(data.splits["train"].ids[text_only]) & set(train.ids)
    assert len(task.splits["test"]) == len(data.splits["test"])


def test_generated_cherma_labels_disagree_at_the_asked_rate_and_lengths_vary(tmp_path):
    write_synth("cherma", tmp_path / "s", disagreement=0.3)
    data = load_dataset(tmp_path / "s")
    train = data.splits["train"]
    for labels in train.modality_labels.values():
        differs = (labels.argmax(1) != train.labels.argmax(1)).mean()
        assert 0.25 < differs < 0.35
    real_steps = (np.abs(train.features["audio"]).max(-1) > 0).sum(1)
    assert real_steps.min() < real_steps.max() == train.features["audio"].shape[1]
    with pytest.raises(EmozslError, match="disagreement=1.5: must be within"):
        write_synth("cherma", tmp_path / "t", disagreement=1.5)
