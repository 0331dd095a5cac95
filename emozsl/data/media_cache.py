"""The preprocessing cache of raw media: each utterance's audio chunks and face crops are computed
once and stored on disk under a key that hashes the input bytes (file contents, or samples) and the
preprocessing settings, so a second epoch, a second run or another model with the same settings
never decodes media again, and changed media or settings never reuse a stale entry.

Layout: CACHE/audio/<key>.npy (float32, chunks x mels x frames) and CACHE/visual/<key>.npz
(uint8 frames x 48 x 48 x 3, and how many used the centre-crop fallback). CACHE is $EMOZSL_CACHE,
else ~/.cache/emozsl/media. Entries are written atomically; two processes filling one cache at
once both write the same bytes."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emozsl.data.dataset import SplitData
from emozsl.data.media import (
    MediaSettings,
    audio_chunks,
    check_samples,
    face_crop,
    frame_files,
    read_audio,
    read_image,
    sample_every,
    video_frames,
)
from emozsl.data.raw import AudioRef, FramesRef
from emozsl.errors import EmozslError, first_line
from emozsl.fileio import cache_root, replacing

log = logging.getLogger("emozsl")
CACHE_FORMAT = "1"


@dataclass
class PreparedSplit:
    """A raw split ready to stream: per utterance its cache files, lengths and token ids."""
    audio: list[Path]
    visual: list[Path]
    text: list[np.ndarray]
    lengths: dict[str, np.ndarray]  # modality -> (N,) chunks, frames or tokens
    report: dict[str, int] = field(default_factory=dict)  # decoded, cached, face fallbacks, cut, no frames


def _file_bytes(path: str, utterance: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise EmozslError(f"utterance {utterance}: {path}: no such {what} file") from None
    except OSError as exc:
        raise EmozslError(f"utterance {utterance}: {path}: cannot read ({os.strerror(exc.errno or 0)})") from None


def _key(*parts: bytes | str) -> str:
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


def _save(path: Path, arrays: dict[str, np.ndarray] | np.ndarray) -> None:
    with replacing(path, durable=False) as tmp, open(tmp, "wb") as f:
        if isinstance(arrays, dict):
            np.savez(f, **arrays)
        else:
            np.save(f, arrays)


def _read_entry(path: Path, what: str):
    """A cache entry written earlier; an unreadable one (a damaged disk, a hand-edited file) is an
    error that says how to recover, never a traceback."""
    try:
        return np.load(path, mmap_mode="r") if what == "audio" else np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise EmozslError(f"{path}: unreadable preprocessing cache entry ({first_line(exc)}); delete it and run "
                          "again") from None


def _audio_entry(uid: str, ref: AudioRef, settings: MediaSettings, root: Path, report: dict) -> tuple[Path, int]:
    """The utterance's cache file and its number of chunks."""
    if ref.path is not None:
        content = _file_bytes(ref.path, uid, "audio")
        key = _key(settings.key("audio"), content, str(ref.rate))
    else:
        samples, rate = check_samples(ref.samples, ref.rate, uid, "audio samples")
        key = _key(settings.key("audio"), samples.astype(np.float64).tobytes(), str(rate))
    path = root / "audio" / f"{key}.npy"
    if path.exists():
        report["cached"] += 1
        return path, _read_entry(path, "audio").shape[0]
    if ref.path is not None:
        samples, rate = read_audio(Path(ref.path), uid, ref.rate)
        samples, rate = check_samples(samples, rate, uid, ref.path)
    chunks, cut = audio_chunks(samples, rate, settings)
    report["decoded"] += 1
    report["audio cut at max_chunks"] += int(cut)
    _save(path, chunks)
    return path, len(chunks)


def _visual_entry(uid: str, ref: FramesRef, settings: MediaSettings, root: Path, report: dict) -> tuple[Path, int, int]:
    """The utterance's cache file, its number of frames and how many of them fell back to the centre."""
    if ref.video is not None:
        key = _key(settings.key("visual"), _file_bytes(ref.video, uid, "video"))
        files = None
    else:
        files = sample_every(frame_files(Path(ref.folder), uid, ref.prefix), ref.fps, settings.frame_interval)
        files = files[:settings.max_frames]
        key = _key(settings.key("visual"), *(part for f in files for part in (f.name, _file_bytes(str(f), uid, "image"))))
    path = root / "visual" / f"{key}.npz"
    if path.exists():
        report["cached"] += 1
        with _read_entry(path, "visual") as entry:
            return path, entry["frames"].shape[0], int(entry["fallbacks"])
    images = (video_frames(Path(ref.video), uid, settings.frame_interval, settings.max_frames) if files is None
              else [read_image(f, uid) for f in files])
    crops = [face_crop(image, settings.face_size) for image in images]
    frames = (np.stack([c for c, _ in crops]) if crops
              else np.zeros((0, settings.face_size, settings.face_size, 3), np.uint8))
    fallbacks = sum(int(f) for _, f in crops)
    report["decoded"] += 1
    _save(path, {"frames": frames.astype(np.uint8), "fallbacks": np.array(fallbacks)})
    return path, len(frames), fallbacks


def prepare_split(split: SplitData, settings: MediaSettings, tokenize, name: str, root: Path | None = None) -> PreparedSplit:
    """Fill the cache for one split (decoding only what is missing) and tokenise its transcripts
    with `tokenize` (list of str -> list of int arrays, the text encoder's)."""
    root = root or cache_root()
    report = dict.fromkeys(("decoded", "cached", "face fallbacks", "audio cut at max_chunks", "no frames"), 0)
    ids = split.ids
    audio, visual, lengths = [], [], {"audio": [], "visual": []}
    features = split.features
    for i in tqdm(range(len(split)), desc=f"preprocessing {name}", leave=False, disable=None):
        uid = str(ids[i])
        if "audio" in features:
            path, count = _audio_entry(uid, features["audio"].items[i], settings, root, report)
            audio.append(path)
            lengths["audio"].append(count)
        if "visual" in features:
            path, count, fallbacks = _visual_entry(uid, features["visual"].items[i], settings, root, report)
            visual.append(path)
            lengths["visual"].append(count)
            report["face fallbacks"] += fallbacks
            report["no frames"] += int(count == 0)
    text = tokenize(list(features["text"].items)) if "text" in features else []
    if text:
        lengths["text"] = [len(t) for t in text]
    out_lengths = {m: np.asarray(v, dtype=np.int64) for m, v in lengths.items() if len(v)}
    if report["no frames"]:
        log.warning("%s: %d utterance(s) have no frames; they keep their place with an empty visual sequence",
                    name, report["no frames"])
    return PreparedSplit(audio, visual, text, out_lengths, report)


def load_audio(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


def load_frames(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as entry:
        return entry["frames"]
