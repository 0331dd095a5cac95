import numpy as np
import pytest

from emozsl.data import load_dataset
from emozsl.data.readers.iemocap import IEMOCAP4_EMOTIONS
from emozsl.data.generated.synth import MOSEI_SIZES, synth_mosei, write_synth
from emozsl.errors import EmozslError


def test_synth_mosei_is_in_the_real_format_with_mosei_like_labels(synth_mosei_dir):
    data = load_dataset(synth_mosei_dir)
    assert {s: len(d) for s, d in data.splits.items()} == MOSEI_SIZES["small"]
    train = data.splits["train"]
    assert {m: a.shape[1:] for m, a in train.features.items()} == {"text": (20, 300), "audio": (20, 74), "visual": (20, 35)}
    prevalence = dict(zip(data.emotions, train.presence.mean(0)))
    assert prevalence["happy"] == max(prevalence.values())
    assert {"fear", "surprise"} == set(sorted(prevalence, key=prevalence.get)[:2])
    assert train.labels.max() <= 3.34 and train.labels.min() >= 0
    together = np.corrcoef(train.presence.T.astype(float))
    names = data.emotions
    assert together[names.index("anger"), names.index("disgust")] > 0.15
    assert together[names.index("anger"), names.index("happy")] < 0
    assert sum(data.neg_inf_replaced.values()) > 0  # COVAREP-like -inf, set to 0 by the reader


def test_no_label_is_copied_into_any_feature_column(synth_mosei_dir):
    train = load_dataset(synth_mosei_dir).splits["train"]
    labels = train.presence.astype(float)
    for modality, array in train.features.items():
        per_step = array.reshape(len(array), -1)
        centred = (per_step - per_step.mean(0)) / (per_step.std(0) + 1e-9)
        y = (labels - labels.mean(0)) / labels.std(0)
        correlation = np.abs(centred.T @ y / len(y))
        assert correlation.max() < 0.5, modality


def test_synth_is_seeded():
    a, b, c = (synth_mosei(seed=s) for s in (0, 0, 1))
    assert np.array_equal(a.splits["valid"].features["text"], b.splits["valid"].features["text"])
    assert not np.array_equal(a.splits["valid"].labels, c.splits["valid"].labels)


def test_synth_iemocap_writes_mult_and_nine_class_files(tmp_path):
    write_synth("iemocap", tmp_path, seed=0, unaligned=True)
    four = load_dataset(tmp_path / "iemocap_data.pkl", trust_pickle=True)
    nine = load_dataset(tmp_path / "iemocap9", trust_pickle=True)
    noalign = load_dataset(tmp_path / "iemocap_data_noalign.pkl", trust_pickle=True)
    assert four.emotions == IEMOCAP4_EMOTIONS
    main = [nine.emotions.index(e) for e in ("neutral", "happy", "sad", "anger")]
    for split in ("train", "valid", "test"):
        assert len(four.splits[split]) == nine.splits[split].presence[:, main].any(1).sum()
        assert (four.splits[split].labels.sum(1) == 1).all()
    for split in ("train", "valid", "test"):  # the same utterances in both copies, as in MulT's pickles
        assert list(noalign.splits[split].ids) == list(four.splits[split].ids)
        assert np.array_equal(noalign.splits[split].labels, four.splits[split].labels)
    assert noalign.splits["train"].features["audio"].shape[1] > 20
    assert noalign.splits["train"].features["visual"].shape[1] > noalign.splits["train"].features["audio"].shape[1]


def test_synth_rejects_unknown_choices(tmp_path):
    with pytest.raises(EmozslError, match="size=huge: choose one of small, full"):
        write_synth("mosei", tmp_path, size="huge")
    with pytest.raises(EmozslError, match="format=sims: choose one of mosei"):
        write_synth("sims", tmp_path)
