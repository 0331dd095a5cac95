"""The preprocessing cache of raw media: each utterance's audio chunks and face crops are computed
once and stored on disk under a key that hashes the input bytes (file contents, or samples) and the
preprocessing settings, so a second epoch, a second run or another model with the same settings
never decodes media again, and changed media or settings never reuse a stale entry.

Layout: CACHE/audio/<key>.npz (chunks: float32, chunks x mels x frames; cut: how many chunks past
max_chunks were dropped) and CACHE/visual/<key>.npz (frames: uint8 frames x 48 x 48 x 3; fallbacks:
how many used the centre-crop fallback; cut: how many frames past max_frames were dropped), so a
warm cache reports the same counts as a fresh decode. CACHE is $EMOZSL_CACHE, else
~/.cache/emozsl/media. Entries are written atomically; two processes filling one cache at once both
write the same bytes.

`check_media` checks every split's media cheaply (headers, not contents) before any training;
`prepare_split` decodes what the cache lacks."""

from __future__ import annotations

import hashlib
import logging
import time
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emozsl.data.dataset import SplitData
from emozsl.data.media.decode import (
    MediaSettings,
    audio_chunks,
    audio_info,
    check_image,
    check_samples,
    check_video,
    face_crop,
    frame_files,
    media_file,
    read_audio,
    read_image,
    sample_every,
    video_frames,
)
from emozsl.data.media.refs import AudioRef, FramesRef
from emozsl.errors import EmozslError, first_line
from emozsl.fileio import cache_root, replacing

log = logging.getLogger("emozsl")
CACHE_FORMAT = "2"
SHOWN_FAULTS = 3  # faults a failed pre-flight check spells out (it counts them all)
SHOWN_IDS = 5  # utterances a warning names


@dataclass
class PreparedSplit:
    """A raw split ready to stream: per utterance its cache files, lengths and token ids."""
    audio: list[Path]
    visual: list[Path]
    text: list[np.ndarray]
    lengths: dict[str, np.ndarray]  # modality -> (N,) decoded chunks, frames or tokens
    # decoded, cached (entries), face fallbacks (frames), audio cut at max_chunks, frames cut at
    # max_frames, no frames (utterances)
    report: dict[str, int] = field(default_factory=dict)


@lru_cache(maxsize=1 << 18)
def _content_digest(path: str, size: int, mtime_ns: int, inode: int) -> bytes:
    return hashlib.sha256(Path(path).read_bytes()).digest()


def _file_digest(path: str | Path, utterance: str, what: str) -> bytes:
    """sha256 of a media file (which must exist and hold something), remembered for the file as it
    is now (size, modification time, inode): the pre-flight check and the preprocessing of one
    process, and every trial of a sweep, read each file once."""
    status = media_file(path, utterance, what)
    try:
        return _content_digest(str(path), status.st_size, status.st_mtime_ns, status.st_ino)
    except OSError as exc:
        raise EmozslError(f"utterance {utterance}: {path}: cannot read ({first_line(exc)})") from None


def _key(*parts: bytes | str) -> str:
    digest = hashlib.sha256(CACHE_FORMAT.encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with replacing(path, durable=False) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def _unreadable(path: Path, exc: BaseException) -> EmozslError:
    """A damaged cache entry (a damaged disk, a hand-edited file): an error that says how to recover."""
    return EmozslError(f"{path}: unreadable preprocessing cache entry ({first_line(exc)}); delete it and run again")


def _entry_info(path: Path, array: str, counts: tuple[str, ...]) -> tuple[int, dict[str, int]]:
    """An entry's steps (the rows of `array`, read from its header, not its data) and its `counts`."""
    try:
        with np.load(path, allow_pickle=False) as entry, entry.zip.open(f"{array}.npy") as member:
            version = np.lib.format.read_magic(member)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape = read_header(member)[0]
            return shape[0], {k: int(entry[k]) for k in counts}
    except (OSError, ValueError, EOFError, KeyError, IndexError, zipfile.BadZipFile) as exc:
        raise _unreadable(path, exc) from None


def _audio_path(uid: str, ref: AudioRef, settings: MediaSettings, root: Path) -> Path:
    if ref.path is not None:
        key = _key(settings.key("audio"), _file_digest(ref.path, uid, "audio"), str(ref.rate))
    else:
        samples, rate = check_samples(ref.samples, ref.rate, uid, "audio samples")
        key = _key(settings.key("audio"), samples.tobytes(), str(rate))
    return root / "audio" / f"{key}.npz"


def _frame_list(uid: str, ref: FramesRef, settings: MediaSettings) -> tuple[list[Path] | None, int]:
    """A frames folder's images to decode (one per frame_interval, at most max_frames) and how many
    more were cut; (None, 0) for a video."""
    if ref.video is not None:
        return None, 0
    files = sample_every(frame_files(Path(ref.folder), uid, ref.prefix), ref.fps, settings.frame_interval)
    return files[:settings.max_frames], max(0, len(files) - settings.max_frames)


def _visual_path(uid: str, ref: FramesRef, settings: MediaSettings, files: list[Path] | None, root: Path) -> Path:
    if files is None:
        key = _key(settings.key("visual"), _file_digest(ref.video, uid, "video"))
    else:
        key = _key(settings.key("visual"), *(part for f in files for part in (f.name, _file_digest(f, uid, "image"))))
    return root / "visual" / f"{key}.npz"


def _audio_entry(uid: str, ref: AudioRef, settings: MediaSettings, root: Path, report: dict) -> tuple[Path, int]:
    """The utterance's cache file and its number of chunks."""
    path = _audio_path(uid, ref, settings, root)
    if path.exists():
        report["entries cached"] += 1
        count, counts = _entry_info(path, "chunks", ("cut",))
    else:
        samples, rate = read_audio(Path(ref.path), uid, ref.rate) if ref.path is not None else (ref.samples, ref.rate)
        samples, rate = check_samples(samples, rate, uid, ref.path or "audio samples")
        chunks, cut = audio_chunks(samples, rate, settings)
        report["entries decoded"] += 1
        _save(path, {"chunks": chunks, "cut": np.array(cut)})
        count, counts = len(chunks), {"cut": cut}
    report["audio cut at max_chunks"] += int(counts["cut"] > 0)
    return path, count


def _visual_entry(uid: str, ref: FramesRef, settings: MediaSettings, root: Path, report: dict) -> tuple[Path, int]:
    """The utterance's cache file and its number of frames."""
    files, cut = _frame_list(uid, ref, settings)
    path = _visual_path(uid, ref, settings, files, root)
    if path.exists():
        report["entries cached"] += 1
        count, counts = _entry_info(path, "frames", ("fallbacks", "cut"))
    else:
        if files is None:
            images, cut = video_frames(Path(ref.video), uid, settings.frame_interval, settings.max_frames)
        else:
            images = [read_image(f, uid) for f in files]
        crops = [face_crop(image, settings.face_size) for image in images]
        frames = (np.stack([c for c, _ in crops]) if crops
                  else np.zeros((0, settings.face_size, settings.face_size, 3), np.uint8))
        counts = {"fallbacks": sum(int(f) for _, f in crops), "cut": cut}
        report["entries decoded"] += 1
        _save(path, {"frames": frames.astype(np.uint8), **{k: np.array(v) for k, v in counts.items()}})
        count = len(frames)
    report["face fallbacks"] += counts["fallbacks"]
    report["frames cut at max_frames"] += int(counts["cut"] > 0)
    return path, count


def _check_audio(uid: str, ref: AudioRef, settings: MediaSettings, root: Path) -> bool:
    """Whether the audio's header had to be checked (False: its entry is in the cache)."""
    if _audio_path(uid, ref, settings, root).exists():
        return False
    if ref.path is not None:
        audio_info(Path(ref.path), uid, ref.rate)
    return True


def _check_visual(uid: str, ref: FramesRef, settings: MediaSettings, root: Path) -> bool:
    """Whether the frames had to be checked (False: their entry is in the cache)."""
    files, _ = _frame_list(uid, ref, settings)
    if _visual_path(uid, ref, settings, files, root).exists():
        return False
    if files is None:
        check_video(Path(ref.video), uid)
    elif files:  # a folder without frames is allowed: prepare_split names it and keeps the utterance
        check_image(files[0], uid)
    return True


MISSING = {"audio": "no audio file", "visual": "no video or frames"}


def _missing(modality: str, ref) -> bool:
    """A reference to nothing: a clip of a folder of clips lacking this modality (data/readers/clips.py)."""
    if modality == "audio":
        return ref.path is None and ref.samples is None
    return ref.folder is None and ref.video is None


def media_faults(split: SplitData, settings: MediaSettings, root: Path | None = None) -> tuple[dict[int, list[str]], int, int]:
    """The cheap checks of check_media on one raw split: each failing row's faults (row -> one line
    per failing modality, naming the utterance and file), and how many audio and frame entries were checked and how many had to be read
    (the others were in the cache)."""
    root = root or cache_root()
    checks = {"audio": _check_audio, "visual": _check_visual}
    faults, read, total = {}, 0, 0
    for i, uid in enumerate(map(str, split.ids)):
        own = []
        for modality, check in checks.items():
            if modality not in split.features:
                continue
            total += 1
            ref = split.features[modality].items[i]
            if _missing(modality, ref):
                own.append(f"utterance {uid}: {MISSING[modality]}")
                continue
            try:
                read += check(uid, ref, settings, root)
            except EmozslError as exc:
                own.append(first_line(exc))
        if own:
            faults[i] = own
    return faults, total, read


def check_media(splits: dict[str, SplitData], settings: MediaSettings, root: Path | None = None) -> None:
    """Check every utterance's media in `splits` (split name -> raw split) cheaply, before any
    training, so that no fault waits for the split's decoding (the test split's comes after the last
    epoch): every file exists and is not empty; an audio file's header decodes and states samples at
    the rate the data state (media.audio_info); samples in memory are finite and not empty; a
    frames folder exists and its first image to decode has a readable header; a video opens and
    decodes its first frame. Utterances whose entries are in the cache under `settings` (decoded
    before) are not checked again. Every fault is gathered, then one EmozslError gives how many
    utterances fail and the first SHOWN_FAULTS faults (split, utterance, file, fault)."""
    started = time.perf_counter()
    faults, failing, read, total = [], 0, 0, 0
    for name, split in splits.items():
        found, checked, decoded = media_faults(split, settings, root)
        failing, total, read = failing + len(found), total + checked, read + decoded
        faults += [f"{name}: {fault}" for own in found.values() for fault in own]
    if faults:
        more = f"; and {len(faults) - SHOWN_FAULTS} more" if len(faults) > SHOWN_FAULTS else ""
        raise EmozslError(f"{failing} utterance(s) have unusable media: {'; '.join(faults[:SHOWN_FAULTS])}{more}")
    log.info("media of %d utterances checked in %.2f s (%d of %d audio and frame entries found in the cache)",
             sum(len(split) for split in splits.values()), time.perf_counter() - started, total - read, total)


def prepare_split(split: SplitData, settings: MediaSettings, tokenize, name: str, root: Path | None = None) -> PreparedSplit:
    """Fill the cache for one split (decoding only what is missing) and tokenise its transcripts
    with `tokenize` (list of str -> list of int arrays, the text encoder's). The lengths are the
    decoded counts; the report's counts (cuts, fallbacks) are the same from a warm cache."""
    root = root or cache_root()
    report = dict.fromkeys(("entries decoded", "entries cached", "face fallbacks", "audio cut at max_chunks",
                            "frames cut at max_frames", "no frames"), 0)
    audio, visual, lengths, frameless = [], [], {"audio": [], "visual": []}, []
    features = split.features
    for i in tqdm(range(len(split)), desc=f"preprocessing {name}", leave=False, disable=None):
        uid = str(split.ids[i])
        if "audio" in features:
            path, count = _audio_entry(uid, features["audio"].items[i], settings, root, report)
            audio.append(path)
            lengths["audio"].append(count)
        if "visual" in features:
            path, count = _visual_entry(uid, features["visual"].items[i], settings, root, report)
            visual.append(path)
            lengths["visual"].append(count)
            if not count:
                frameless.append(uid)
    text = tokenize(list(features["text"].items)) if "text" in features else []
    if text:
        lengths["text"] = [len(t) for t in text]
    out_lengths = {m: np.asarray(v, dtype=np.int64) for m, v in lengths.items() if len(v)}
    report["no frames"] = len(frameless)
    if frameless:
        named = ", ".join(frameless[:SHOWN_IDS]) + (", ..." if len(frameless) > SHOWN_IDS else "")
        log.warning("%s: %d utterance(s) have no frames (%s); they keep their place with an empty visual sequence",
                    name, len(frameless), named)
    return PreparedSplit(audio, visual, text, out_lengths, report)


def load_audio(path: Path) -> np.ndarray:
    """An entry's (C, n_mels, chunk_frames) float32 chunks."""
    with np.load(path, allow_pickle=False) as entry:
        return entry["chunks"]


def load_frames(path: Path) -> np.ndarray:
    """An entry's (S, 48, 48, 3) uint8 face crops."""
    with np.load(path, allow_pickle=False) as entry:
        return entry["frames"]
