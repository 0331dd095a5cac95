"""Raw media (FE2E/MESM inputs): readers of the released MESM layout and of the pickle-free table,
preprocessing, the cache, bad inputs, and the generated raw data. Files are written here in the
exact layouts, independently of emozsl's writers."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from emozsl.data import load_dataset
from emozsl.data.media.decode import (
    MediaSettings,
    audio_chunks,
    face_crop,
    mel_filterbank,
    power_spectrogram,
    video_frames,
)
from emozsl.data.media.cache import prepare_split
from emozsl.data.readers.mesm import iemocap_side
from emozsl.errors import EmozslError

RATE = 16000


def tone(seconds: float, rate: int = RATE, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path, seconds=1.0, rate=RATE, freq=440.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), tone(seconds, rate, freq), rate)
    return path


def write_image(path, size=(48, 48), value=None, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8) if value is None else np.full((*size, 3), value, np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def words(tokens):
    return [list(t) for t in tokens]


def hash_tokens(texts):
    return [np.arange(1, len(t.split()) + 1) for t in texts]


# ---- the pickle-free table --------------------------------------------------------------------

def write_table(root, n_per_split=(4, 2, 2), fmt="csv", vector=False):
    rows = []
    names = ["anger", "fear", "joy"]
    k = 0
    for split, n in zip(("train", "valid", "test"), n_per_split):
        for i in range(n):
            uid = f"{split}{i}"
            write_wav(root / "wav" / f"{uid}.wav", 0.5 + 0.1 * i, freq=300 + 50 * k)
            for f in range(2):
                write_image(root / "frames" / uid / f"{f}.png", seed=k * 10 + f)
            label = names[k % 3]
            row = {"id": uid, "split": split, "text": f"words of utterance {uid}", "audio": f"wav/{uid}.wav",
                   "frames": f"frames/{uid}"}
            if vector:
                row.update({f"label_{e}": float(e == label) for e in names})
            else:
                row["labels"] = label
            rows.append(row)
            k += 1
    if fmt == "csv":
        columns = list(rows[0])
        lines = [",".join(columns)] + [",".join(str(r[c]) for c in columns) for r in rows]
        (root / "utterances.csv").write_text("\n".join(lines) + "\n")
    else:
        (root / "utterances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


@pytest.mark.parametrize("fmt,vector", [("csv", False), ("jsonl", False), ("csv", True)])
def test_table_reader(tmp_path, fmt, vector):
    data = load_dataset(write_table(tmp_path, fmt=fmt, vector=vector))
    assert data.kind == "raw" and data.name == "raw"
    assert data.emotions == ["anger", "fear", "joy"]
    assert [len(data.splits[s]) for s in ("train", "valid", "test")] == [4, 2, 2]
    train = data.splits["train"]
    assert train.ids.tolist() == ["train0", "train1", "train2", "train3"]
    assert train.labels.tolist()[:3] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert train.features["audio"].items[1].path == str(tmp_path / "wav" / "train1.wav")
    assert train.features["text"].items[0] == "words of utterance train0"
    assert data.input_dims() == {"text": 1, "audio": 128, "visual": 3}
    assert data.fingerprint() == load_dataset(tmp_path).fingerprint()


def test_table_with_uni_modal_labels_and_video(tmp_path):
    cv2 = pytest.importorskip("cv2")
    video = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for k in range(20):  # 2 s at 10 fps
        writer.write(np.full((48, 64, 3), 10 * k, np.uint8))
    writer.release()
    write_wav(tmp_path / "a.wav")
    lines = ["id,split,text,audio,video,labels,audio_labels"]
    lines += [f"{s},{s},hello there,a.wav,v.avi,anger,fear" for s in ("train", "valid", "test")]
    (tmp_path / "utterances.csv").write_text("\n".join(lines) + "\n")
    data = load_dataset(tmp_path)
    assert data.splits["test"].modality_labels["audio"].tolist() == [[0, 1]]
    frames, cut = video_frames(video, "train", 0.5, 100)
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3) and cut == 0
    frames, cut = video_frames(video, "train", 0.5, 3)
    assert len(frames) == 3 and cut == 1  # the frame at 1.5 s is cut, and counted
    prepared = prepare_split(data.splits["train"], MediaSettings(), hash_tokens, "train", tmp_path / "cache")
    assert prepared.lengths["visual"].tolist() == [4]
    assert prepared.report["face fallbacks"] == 4  # flat grey frames hold no face: centre crops, counted


@pytest.mark.parametrize("mutate,message", [
    (lambda root: (root / "wav" / "train1.wav").unlink(), r"utterance train1: .*train1.wav: no such audio file"),
    (lambda root: (root / "wav" / "train1.wav").write_bytes(b"not audio"), r"utterance train1: .*cannot read audio"),
    (lambda root: (root / "frames" / "valid0" / "1.png").write_bytes(b"garbage"), r"utterance valid0: .*1.png: cannot read image"),
    (lambda root: [p.unlink() for p in (root / "frames" / "test1").iterdir()] and (root / "frames" / "test1").rmdir(),
     r"utterance test1: .*test1: no such frames folder"),
])
def test_bad_media_name_the_utterance_and_file(tmp_path, mutate, message):
    root = write_table(tmp_path)
    mutate(root)
    data = load_dataset(root)
    with pytest.raises(EmozslError, match=message):
        for split in ("train", "valid", "test"):
            prepare_split(data.splits[split], MediaSettings(), hash_tokens, split, tmp_path / "cache")


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.replace("words of utterance train2", " "), "utterance train2: empty transcript"),
    (lambda t: t.replace("train1,train", "train1,training"), "utterance train1: split 'training' is not one of"),
    (lambda t: t.replace("valid1,", "valid0,", 1), "utterance valid0: the id appears twice"),
    (lambda t: t.replace(",frames,", ",pictures,", 1), "give exactly one of frames"),
    (lambda t: t.replace("id,", "key,", 1), "no 'id' column"),
])
def test_bad_table_rows_are_errors(tmp_path, edit, message):
    root = write_table(tmp_path)
    table = root / "utterances.csv"
    table.write_text(edit(table.read_text()))
    with pytest.raises(EmozslError, match=message):
        load_dataset(root)


def test_stated_sample_rate_must_match_the_file(tmp_path):
    write_wav(tmp_path / "a.wav", rate=22050)
    write_image(tmp_path / "f" / "0.png")
    lines = ["id,split,text,audio,frames,labels,sample_rate"]
    lines += [f"{s},{s},hi,a.wav,f,anger,16000" for s in ("train", "valid", "test")]
    (tmp_path / "utterances.csv").write_text("\n".join(lines) + "\n")
    data = load_dataset(tmp_path)
    with pytest.raises(EmozslError, match=r"utterance train: .*a.wav: sample rate 22050 Hz, but the data say 16000 Hz"):
        prepare_split(data.splits["train"], MediaSettings(), hash_tokens, "train", tmp_path / "cache")


def test_empty_frames_folder_keeps_its_utterance_and_is_counted(tmp_path):
    root = write_table(tmp_path)
    for p in (root / "frames" / "test0").iterdir():
        p.unlink()
    data = load_dataset(root)
    prepared = prepare_split(data.splits["test"], MediaSettings(), hash_tokens, "test", tmp_path / "cache")
    assert prepared.lengths["visual"].tolist() == [0, 2]  # the test set keeps both utterances
    assert prepared.report["no frames"] == 1


# ---- the released MESM layout ------------------------------------------------------------------

def write_mesm_iemocap(root):
    processed, splits = root / "IEMOCAP_RAW_PROCESSED", root / "IEMOCAP_SPLIT"
    meta = {}
    ids = {"train": ["Ses01F_impro01_F000", "Ses01F_impro01_M001", "Ses02M_script01_1_M002", "Ses02M_script01_1_F003"],
           "valid": ["Ses03F_impro02_F000"], "test": ["Ses04F_script01_1_M024"]}
    codes = ["ang", "exc", "fru", "hap", "neu", "sad"]
    k = 0
    for split, names in ids.items():
        for uid in names:
            dialog = uid.rsplit("_", 1)[0]
            folder = processed / dialog / uid
            write_wav(folder / "audio.wav", 0.6)
            write_wav(folder / "audio_L.wav", 0.6, freq=200)
            write_wav(folder / "audio_R.wav", 0.7, freq=900)
            for i in range(30):  # 1 s of frames at 30 fps, per side
                write_image(folder / f"image_L_{i}.jpg", value=50)
                write_image(folder / f"image_R_{i}.jpg", value=200)
            meta[uid] = {"start_time": 0.0, "end_time": 0.6, "label": codes[k % 6], "text": f"utterance {uid}",
                         "sr": 16000, "fps": 30.0}
            k += 1
        splits.mkdir(parents=True, exist_ok=True)
        (splits / f"{split}_split.txt").write_text("\n".join(names) + "\n")
    with open(processed / "meta.pkl", "wb") as f:
        pickle.dump(meta, f)
    return root


def test_iemocap_side_follows_the_session_and_speaker_tokens():
    assert iemocap_side("Ses01F_impro01_F000") == "L"
    assert iemocap_side("Ses01F_impro01_M001") == "R"
    assert iemocap_side("Ses02M_script01_1_M002") == "L"
    assert iemocap_side("Ses02M_script01_1_F003") == "R"


def test_mesm_iemocap_layout(tmp_path):
    root = write_mesm_iemocap(tmp_path)
    with pytest.raises(EmozslError, match="meta.pkl: pickle files run code when loaded; pass --trust-pickle"):
        load_dataset(root)
    data = load_dataset(root, trust_pickle=True)
    assert data.name == "iemocap6"
    assert data.emotions == ["anger", "excited", "frustrated", "happy", "neutral", "sad"]
    train = data.splits["train"]
    assert train.labels.argmax(1).tolist() == [0, 1, 2, 3]
    sides = [ref.path.rsplit("/", 1)[1] for ref in train.features["audio"].items]
    assert sides == ["audio_L.wav", "audio_R.wav", "audio_L.wav", "audio_R.wav"]
    prepared = prepare_split(train, MediaSettings(), hash_tokens, "train", tmp_path / "cache")
    assert prepared.lengths["visual"].tolist() == [2, 2, 2, 2]  # 30 frames at 30 fps: one per 500 ms
    crops = [np.load(p)["frames"] for p in prepared.visual]
    assert crops[0].mean() < 100 < crops[1].mean()  # the L images for F000 in Ses01F, R for M001
    assert load_dataset(root / "IEMOCAP_RAW_PROCESSED", trust_pickle=True).fingerprint() == data.fingerprint()


def test_mesm_mosei_layout(tmp_path):
    processed, splits = tmp_path / "MOSEI_RAW_PROCESSED", tmp_path / "MOSEI_SPLIT"
    meta = {}
    for split, uid in (("train", "-3g5yACwYnA_10"), ("valid", "abc_1"), ("test", "xyz_2")):
        write_wav(processed / uid / "audio.wav", 0.8)
        for i in range(3):
            write_image(processed / uid / f"image_{i}.jpg", seed=i)
        meta[uid] = {"text": f"text of {uid}", "label": np.array([0, 1, 0, 1, 0, 0])}
        splits.mkdir(parents=True, exist_ok=True)
        (splits / f"{split}_split.txt").write_text(uid + "\n")
    with open(processed / "meta.pkl", "wb") as f:
        pickle.dump(meta, f)
    data = load_dataset(tmp_path, trust_pickle=True)
    assert data.name == "mosei" and data.emotions[:3] == ["anger", "disgust", "fear"]
    assert data.splits["train"].labels.tolist() == [[0, 1, 0, 1, 0, 0]]
    prepared = prepare_split(data.splits["train"], MediaSettings(), hash_tokens, "train", tmp_path / "cache")
    assert prepared.lengths["visual"].tolist() == [3]  # released at 2 fps: every frame is kept


# ---- preprocessing -----------------------------------------------------------------------------

def test_power_spectrogram_and_mel_match_torch_stft():
    samples = np.random.default_rng(0).normal(size=5000)
    ours = power_spectrogram(samples, 400, 200)
    window = torch.hann_window(400, periodic=True, dtype=torch.float64)
    theirs = torch.stft(torch.from_numpy(samples), 400, 200, window=window, center=True, pad_mode="reflect",
                        return_complex=True).abs().pow(2).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8)
    bank = mel_filterbank(RATE, 400, 128)
    assert bank.shape == (128, 201)
    # 128 mel bins over 201 FFT bins: a few of the narrowest low filters fall between FFT bins (as in
    # torchaudio with these settings); every other one covers some frequency, centres ascending.
    assert (bank.sum(1) > 0).sum() >= 120
    centres = bank.argmax(1)[bank.sum(1) > 0]
    assert (np.diff(centres) >= 0).all()


def test_audio_chunks_shapes_resampling_and_log_mel():
    settings = MediaSettings()
    chunks, cut = audio_chunks(tone(1.0), RATE, settings)
    assert chunks.shape == (3, 128, 32) and not cut  # 81 frames -> 3 chunks, the last padded
    assert (chunks[2, :, 17:] == 0).all()
    resampled, _ = audio_chunks(tone(1.0, 22050), 22050, settings)
    assert resampled.shape == chunks.shape
    power, _ = audio_chunks(tone(1.0), RATE, MediaSettings(log_mel=False))
    assert power.min() >= 0 and chunks.min() < 0
    peak = np.argmax(power[0].mean(1))
    assert abs(peak - np.argmax(chunks[0].mean(1))) <= 1  # the 440 Hz band dominates either way


def test_face_crop_keeps_crops_and_falls_back_to_the_centre():
    crop = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    same, fallback = face_crop(crop)
    assert same is crop and not fallback
    frame = np.zeros((120, 200, 3), np.uint8)
    frame[:, 40:160] = 255  # no face anywhere: the centre square is used
    centre, fallback = face_crop(frame)
    assert fallback and centre.shape == (48, 48, 3) and centre.mean() > 250


def test_cache_decodes_once_and_notices_changes(tmp_path):
    root = write_table(tmp_path)
    data = load_dataset(root)
    cache = tmp_path / "cache"
    first = prepare_split(data.splits["train"], MediaSettings(), hash_tokens, "train", cache)
    assert first.report["entries decoded"] == 8 and first.report["entries cached"] == 0
    again = prepare_split(data.splits["train"], MediaSettings(), hash_tokens, "train", cache)
    assert again.report["entries decoded"] == 0 and again.report["entries cached"] == 8
    assert again.audio == first.audio
    write_wav(root / "wav" / "train1.wav", 0.9, freq=1000)  # new content: a new entry
    changed = prepare_split(data.splits["train"], MediaSettings(), hash_tokens, "train", cache)
    assert changed.report["entries decoded"] == 1 and changed.audio[1] != first.audio[1]
    power = prepare_split(data.splits["train"], MediaSettings(log_mel=False), hash_tokens, "train", cache)
    assert power.report["entries decoded"] == 4  # other settings: the audio is computed again, the frames reused


def test_mesm_layout_converts_to_an_equivalent_pickle_free_table(tmp_path):
    from click.testing import CliRunner

    from emozsl.cli import main

    root = write_mesm_iemocap(tmp_path / "mesm")
    table = tmp_path / "iemocap.csv"
    result = CliRunner().invoke(main, ["data", "convert", str(root), str(table), "--trust-pickle"])
    assert result.exit_code == 0, result.output
    original, copy = load_dataset(root, trust_pickle=True), load_dataset(table)
    assert copy.fingerprint() == original.fingerprint()  # split manifests apply to both
    a = prepare_split(original.splits["train"], MediaSettings(), hash_tokens, "train", tmp_path / "cache")
    b = prepare_split(copy.splits["train"], MediaSettings(), hash_tokens, "train", tmp_path / "cache")
    assert a.audio == b.audio and a.visual == b.visual and b.report["entries decoded"] == 0  # same media, from the cache
    result = CliRunner().invoke(main, ["data", "convert", str(root), str(tmp_path / "x.h5"), "--trust-pickle"])
    assert result.exit_code == 2 and "name it .csv" in result.output


def test_a_damaged_cache_entry_is_one_error_saying_how_to_recover(tmp_path):
    data = load_dataset(write_table(tmp_path))
    cache = tmp_path / "cache"
    first = prepare_split(data.splits["valid"], MediaSettings(), hash_tokens, "valid", cache)
    first.visual[0].write_bytes(b"not an npz")
    with pytest.raises(EmozslError, match=r"unreadable preprocessing cache entry .*delete it and run again"):
        prepare_split(data.splits["valid"], MediaSettings(), hash_tokens, "valid", cache)
