"""Raw media checked before the first epoch: the pre-flight check of every split (media_cache.
check_media), media without samples or frames, cuts counted from a warm cache as from a fresh
decode, and tables in another encoding than UTF-8. Media files are written here with soundfile,
Pillow and OpenCV."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner
from PIL import Image
from test_raw import RATE, hash_tokens, tone, write_table

from emozsl.cli import main
from emozsl.data import load_dataset
from emozsl.data.media import cache as media_cache
from emozsl.data.media.decode import MediaSettings, audio_chunks, check_samples
from emozsl.data.media.cache import check_media, prepare_split
from emozsl.errors import EmozslError

RAW_OPTIONS = ["--option", "width=1", "--option", "d=4", "--option", "heads=1", "--option", "text_dim=4"]


def empty_video(path):
    """A video file that opens (header, frame rate) but holds no frame."""
    cv2 = pytest.importorskip("cv2")
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48)).release()
    return path


def one_video_table(root, video):
    """The table of write_table with utterance test1's frames replaced by `video`."""
    table = root / "utterances.csv"
    lines = table.read_text().splitlines()
    lines[0] += ",video"
    lines[1:] = [line.replace(",frames/test1,", ",,") + f",{video.name}" if line.startswith("test1,") else line + ","
                 for line in lines[1:]]
    table.write_text("\n".join(lines) + "\n")


def test_every_fault_of_every_split_is_gathered_into_one_line(tmp_path):
    root = write_table(tmp_path)
    (root / "wav" / "test1.wav").write_bytes(b"")
    (root / "wav" / "valid0.wav").unlink()
    (root / "frames" / "train3" / "0.png").write_bytes(b"not an image")
    soundfile.write(str(root / "wav" / "train1.wav"), np.zeros(0, np.float32), RATE)
    data = load_dataset(root)
    with pytest.raises(EmozslError) as caught:
        check_media(data.splits, MediaSettings(), tmp_path / "cache")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("4 utterance(s) have unusable media: train: utterance train1: ")
    assert "train1.wav: the audio holds no samples; train: utterance train3: " in message
    assert "0.png: cannot read image (" in message
    assert "valid: utterance valid0: " in message and "valid0.wav: no such audio file" in message
    assert message.endswith("; and 1 more")  # test1's empty file: counted, not spelled out
    assert not (tmp_path / "cache").exists()  # nothing decoded


def test_empty_audio_is_named_at_the_check_and_at_decoding(tmp_path):
    root = write_table(tmp_path)
    (root / "wav" / "test1.wav").write_bytes(b"")
    data = load_dataset(root)
    for run in (lambda: check_media({"test": data.splits["test"]}, MediaSettings(), tmp_path / "cache"),
                lambda: prepare_split(data.splits["test"], MediaSettings(), hash_tokens, "test", tmp_path / "cache")):
        with pytest.raises(EmozslError, match=r"utterance test1: .*test1.wav: empty audio file"):
            run()
    soundfile.write(str(root / "wav" / "test1.wav"), np.zeros(0, np.float32), RATE)  # a header, no samples
    for run in (lambda: check_media({"test": data.splits["test"]}, MediaSettings(), tmp_path / "cache"),
                lambda: prepare_split(data.splits["test"], MediaSettings(), hash_tokens, "test", tmp_path / "cache")):
        with pytest.raises(EmozslError, match=r"utterance test1: .*test1.wav: the audio holds no samples$"):
            run()
    with pytest.raises(EmozslError, match="utterance u: audio samples: the audio holds no samples$"):
        check_samples(np.zeros((0, 2)), RATE, "u", "audio samples")


def test_video_without_frames_is_named_at_the_check_and_at_decoding(tmp_path):
    root = write_table(tmp_path)
    one_video_table(root, empty_video(root / "empty.avi"))
    data = load_dataset(root)
    message = r"utterance test1: .*empty.avi: the video opens but decodes no frame"
    with pytest.raises(EmozslError, match=f"1 utterance\\(s\\) have unusable media: test: {message}$"):
        check_media(data.splits, MediaSettings(), tmp_path / "cache")
    with pytest.raises(EmozslError, match=message):
        prepare_split(data.splits["test"], MediaSettings(), hash_tokens, "test", tmp_path / "cache")


def test_stated_sample_rate_is_checked_from_the_header(tmp_path):
    root = write_table(tmp_path)
    table = root / "utterances.csv"
    lines = table.read_text().splitlines()
    table.write_text("\n".join([lines[0] + ",sample_rate"] + [line + ",22050" for line in lines[1:]]) + "\n")
    with pytest.raises(EmozslError, match=r"^8 utterance\(s\) have unusable media: train: utterance train0: "
                                          r".*train0.wav: sample rate 16000 Hz, but the data say 22050 Hz; "):
        check_media(load_dataset(root).splits, MediaSettings(), tmp_path / "cache")


def test_cached_utterances_are_not_checked_again(tmp_path, monkeypatch):
    root = write_table(tmp_path)
    data = load_dataset(root)
    cache = tmp_path / "cache"
    headers = []
    for name in ("audio_info", "check_image"):
        original = getattr(media_cache, name)
        monkeypatch.setattr(media_cache, name, lambda *a, _f=original, **k: headers.append(a[0]) or _f(*a, **k))
    check_media(data.splits, MediaSettings(), cache)
    assert len(headers) == 16  # cold: the audio and the first frame of 8 utterances
    for split in ("train", "valid"):
        prepare_split(data.splits[split], MediaSettings(), hash_tokens, split, cache)
    headers.clear()
    check_media(data.splits, MediaSettings(), cache)
    assert sorted(p.name for p in headers) == ["0.png", "0.png", "test0.wav", "test1.wav"]  # only the test split's
    headers.clear()
    check_media(data.splits, MediaSettings(log_mel=False), cache)
    assert len(headers) == 10  # other audio settings: all 8 audio files, and the test frames still


def test_cuts_are_counted_alike_from_a_fresh_decode_and_a_warm_cache(tmp_path):
    data = load_dataset(write_table(tmp_path))
    settings = MediaSettings(max_chunks=1, max_frames=1)  # every utterance: 2-3 chunks and 2 frames
    cold = prepare_split(data.splits["train"], settings, hash_tokens, "train", tmp_path / "cache")
    warm = prepare_split(data.splits["train"], settings, hash_tokens, "train", tmp_path / "cache")
    assert cold.report["entries decoded"] == 8 and warm.report["entries cached"] == 8
    for prepared in (cold, warm):
        assert prepared.report["audio cut at max_chunks"] == 4 and prepared.report["frames cut at max_frames"] == 4
        assert prepared.lengths["audio"].tolist() == [1, 1, 1, 1] and prepared.lengths["visual"].tolist() == [1] * 4
    with np.load(cold.audio[3]) as entry:  # 0.8 s: 65 mel frames, 3 chunks, 2 of them cut
        assert entry["chunks"].shape == (1, 128, 32) and int(entry["cut"]) == 2
    chunks, cut = audio_chunks(tone(3.0), RATE, MediaSettings(max_chunks=2))
    assert len(chunks) == 2 and cut == 6  # 241 mel frames: 8 chunks


def test_lengths_are_the_decoded_counts_not_the_values(tmp_path):
    root = write_table(tmp_path)
    soundfile.write(str(root / "wav" / "train0.wav"), np.zeros(RATE, np.float32), RATE)  # 1 s of silence
    for f in (root / "frames" / "train0").iterdir():
        Image.fromarray(np.zeros((48, 48, 3), np.uint8)).save(f)  # black crops
    prepared = prepare_split(load_dataset(root).splits["train"], MediaSettings(), hash_tokens, "train",
                             tmp_path / "cache")
    assert prepared.lengths["audio"][0] == 3 and prepared.lengths["visual"][0] == 2  # 81 mel frames; 2 images


def test_a_bad_test_clip_stops_train_before_the_first_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOZSL_CACHE", str(tmp_path / "cache"))
    root = write_table(tmp_path / "data")
    (root / "wav" / "test1.wav").write_bytes(b"")
    runner = CliRunner()
    args = ["-q", "train", "--model", "fe2e", "--data", str(root), "--epochs", "1", "--device", "cpu",
            "--runs-dir", str(tmp_path / "runs"), *RAW_OPTIONS]
    result = runner.invoke(main, args)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith("Error: 1 utterance(s) have unusable media: test: utterance test1: ")
    assert lines[0].endswith("test1.wav: empty audio file")
    made = [p for p in tmp_path.rglob("*") if p.is_file() and "data" not in p.relative_to(tmp_path).parts]
    assert not made, made  # no run folder, and not one utterance decoded: training never began
    write_table(tmp_path / "data")  # the same run with the clip repaired trains and is scored
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "runs").iterdir()] and list((tmp_path / "runs").rglob("results.json"))


def test_a_table_in_another_encoding_is_one_line_naming_the_row_and_the_fix(tmp_path):
    root = write_table(tmp_path)
    table = root / "utterances.csv"
    text = table.read_text().replace("words of utterance train2", "un café crème")
    table.write_bytes(text.encode("cp1252"))  # how a Windows spreadsheet (or MELD's CSV) saves it
    with pytest.raises(EmozslError) as caught:
        load_dataset(root)
    assert str(caught.value) == (
        f"{table}: line 4 is not UTF-8 (byte 0xe9 at column 20); save the table as UTF-8 (for a Windows-1252 "
        f"table, in Python: p = pathlib.Path({str(table)!r}); p.write_text(p.read_text(encoding='cp1252'), "
        "encoding='utf-8'))")
    table.write_text(table.read_text(encoding="cp1252"), encoding="utf-8")  # the fix the error gives
    assert load_dataset(root).splits["train"].features["text"].items[2] == "un café crème"
    table.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))  # a spreadsheet's UTF-8
    assert load_dataset(root).splits["train"].ids.tolist()[2] == "train2"
