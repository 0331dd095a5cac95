import pickle

import numpy as np
import pytest
from conftest import N_MOSEI, write_h5, write_iemocap9, write_mosei, write_mult

from emozsl.data import load_dataset, write_safe_h5
from emozsl.data.readers.iemocap import IEMOCAP9_EMOTIONS
from emozsl.data.readers.mosei import MOSEI_EMOTIONS
from emozsl.errors import EmozslError


def test_mosei_folder_reads_shapes_labels_and_replaces_neg_inf(mosei_dir):
    data = load_dataset(mosei_dir)
    assert data.name == "mosei" and data.emotions == MOSEI_EMOTIONS
    for split, n in N_MOSEI.items():
        part = data.splits[split]
        assert part.features["text"].shape == (n, 20, 300)
        assert part.features["audio"].shape == (n, 20, 74)
        assert part.features["visual"].shape == (n, 20, 35)
        assert part.labels.shape == (n, 6) and part.features["audio"].dtype == np.float32
        assert np.isfinite(part.features["audio"]).all()
        assert part.features["audio"][0, 3, 5] == 0
    assert data.neg_inf_replaced == {"train/audio": 1, "valid/audio": 1, "test/audio": 1}
    raw = load_dataset(mosei_dir).splits["train"].labels
    assert ((raw > 0) == data.splits["train"].presence).all()


def test_modalities_may_have_their_own_lengths(tmp_path):
    folder = write_mosei(tmp_path / "m")
    for split in N_MOSEI:
        write_h5(folder / f"video_{split}.h5", np.zeros((N_MOSEI[split], 7, 35), np.float32))
    data = load_dataset(folder)
    assert data.splits["test"].features["visual"].shape[1] == 7
    assert data.splits["test"].features["text"].shape[1] == 20


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "ey_valid.h5").unlink(), "ey_valid.h5: missing file"),
    (lambda f: write_h5(f / "audio_train.h5", np.zeros((40, 20, 74)), key="data"), "no array 'd1'"),
    (lambda f: write_h5(f / "video_test.h5", np.zeros((16, 35))), "video_test.h5:d1: expected rank 3"),
    (lambda f: write_h5(f / "text_train_emb.h5", np.zeros((39, 20, 300))), "sample counts differ"),
    (lambda f: write_h5(f / "ey_train.h5", np.zeros((40, 5))), "ey_train.h5:d1: expected last dimension 6"),
    # the CMU SDK's 7-column 'All Labels' (sentiment first) gets a pointer, not a shape error
    (lambda f: write_h5(f / "ey_train.h5", np.zeros((40, 7))), "ey_train.h5:d1: 7 columns look like the CMU SDK's 'All Labels'"),
    (lambda f: write_h5(f / "video_valid.h5", np.full((12, 20, 35), np.nan)), "video_valid.h5:d1: holds 8400 NaN"),
    (lambda f: write_h5(f / "video_valid.h5", np.full((12, 20, 35), -np.inf)), "video_valid.h5:d1: holds 8400 -inf; pass --impute zero"),
])
def test_mosei_bad_input_is_one_clear_error(mosei_dir, damage, message):
    damage(mosei_dir)
    with pytest.raises(EmozslError, match=message.replace("(", r"\(")):
        load_dataset(mosei_dir)


def test_mult_pickle_needs_trust_and_reads_labels_and_ids(tmp_path):
    path = write_mult(tmp_path / "iemocap_data.pkl")
    with pytest.raises(EmozslError, match="--trust-pickle"):
        load_dataset(path)
    data = load_dataset(path, trust_pickle=True)
    assert data.emotions == ["neutral", "happy", "sad", "angry"]
    with open(path, "rb") as f:
        raw = pickle.load(f)
    for split, part in data.splits.items():
        assert (part.labels == raw[split]["labels"][..., 1]).all()
        assert part.labels.sum(1).tolist() == [1.0] * len(part)
        assert part.ids[0] == f"Ses01F_{split}_0_x"
        assert part.features["visual"].shape[-1] == 35


def test_unaligned_mult_pickle_keeps_each_length(tmp_path):
    data = load_dataset(write_mult(tmp_path / "noalign.pkl", steps=(20, 40, 50)), trust_pickle=True)
    assert {m: a.shape[1] for m, a in data.splits["train"].features.items()} == {"text": 20, "audio": 40, "visual": 50}


def test_sentiment_pickle_is_refused_with_reason(tmp_path):
    rng = np.random.default_rng(0)
    data = {s: {"text": rng.normal(size=(4, 50, 300)), "audio": rng.normal(size=(4, 50, 74)),
                "vision": rng.normal(size=(4, 50, 35)), "labels": rng.normal(size=(4, 1, 1))}
            for s in ("train", "valid", "test")}
    path = tmp_path / "mosei_senti_data.pkl"
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(EmozslError, match="sentiment"):
        load_dataset(path, trust_pickle=True)


def test_mult_pickle_missing_key_is_named(tmp_path):
    path = write_mult(tmp_path / "x.pkl")
    data = pickle.loads(path.read_bytes())
    del data["valid"]["vision"]
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(EmozslError, match="split 'valid' has no key 'vision'"):
        load_dataset(path, trust_pickle=True)


def test_iemocap9_drops_last_step_and_outer_columns(tmp_path):
    folder = write_iemocap9(tmp_path / "nine")
    data = load_dataset(folder, trust_pickle=True)
    assert data.emotions == IEMOCAP9_EMOTIONS
    train = data.splits["train"]
    assert train.features["text"].shape == (45, 20, 300)
    raw_text = pickle.loads((folder / "text_train.p").read_bytes(), encoding="latin1")
    assert np.allclose(train.features["text"], raw_text[:, :20])
    raw_y = pickle.loads((folder / "y_train.p").read_bytes(), encoding="latin1")
    assert (train.labels == raw_y[:, 1:10]).all()


def test_iemocap9_wrong_step_count_is_named(tmp_path):
    folder = write_iemocap9(tmp_path / "nine")
    (folder / "facet_test.p").write_bytes(pickle.dumps(np.zeros((18, 20, 35)), protocol=2))
    with pytest.raises(EmozslError, match="facet_test.p: expected 21 time steps"):
        load_dataset(folder, trust_pickle=True)


def test_safe_copy_round_trips_without_trust(tmp_path):
    original = load_dataset(write_mult(tmp_path / "a.pkl"), trust_pickle=True)
    copy = load_dataset(write_safe_h5(original, tmp_path / "a.h5"))
    assert copy.fingerprint() == original.fingerprint()
    assert copy.emotions == original.emotions
    for split in original.splits:
        for m in original.modalities:
            assert np.array_equal(copy.splits[split].features[m], original.splits[split].features[m])
        assert list(copy.splits[split].ids) == list(original.splits[split].ids)


def test_unknown_paths_are_errors(tmp_path):
    with pytest.raises(EmozslError, match="no such file or folder"):
        load_dataset(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmozslError, match="not a data folder emozsl reads .*a processed CMU-MOSEI folder"):
        load_dataset(tmp_path / "empty")
    write_h5(tmp_path / "plain.h5", np.zeros(3))
    with pytest.raises(EmozslError, match="not an emozsl data file"):
        load_dataset(tmp_path / "plain.h5")


def test_an_mmsa_pickle_gets_a_pointer_not_a_missing_key(tmp_path):
    """MMSA's MOSI/MOSEI pickles hold sentiment ('regression_labels'), no emotion labels."""
    rng = np.random.default_rng(0)
    part = {"text": rng.normal(size=(4, 50, 768)).astype(np.float32), "audio": rng.normal(size=(4, 50, 74)),
            "vision": rng.normal(size=(4, 50, 35)), "raw_text": ["a"] * 4, "id": ["v$_$0"] * 4,
            "regression_labels": rng.normal(size=4), "classification_labels": np.ones(4)}
    path = tmp_path / "aligned_50.pkl"
    path.write_bytes(pickle.dumps({s: part for s in ("train", "valid", "test")}))
    with pytest.raises(EmozslError, match=r"aligned_50.pkl: an MMSA pickle \(split 'train' holds regression_labels, "
                                          r"classification_labels\): sentiment labels, no emotion labels; .*\.csd folder$"):
        load_dataset(path, trust_pickle=True)


def test_negative_mosei_intensities_and_upper_case_suffixes(tmp_path, mosei_dir):
    labels = np.ones((16, 6), np.float32)
    labels[4, 2] = -2
    write_h5(mosei_dir / "ey_test.h5", labels)
    with pytest.raises(EmozslError, match=r"ey_test.h5:d1: row 4, fear: intensity -2 is negative \(1 such values\)"):
        load_dataset(mosei_dir)
    pickled = write_mult(tmp_path / "IEMOCAP_DATA.PKL")
    assert load_dataset(pickled, trust_pickle=True).name == "iemocap4"
