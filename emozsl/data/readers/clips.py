"""A plain folder of clips, without labels or splits (what `emozsl predict` scores): media files
directly in the folder, grouped by file stem. Each stem with an audio file (one soundfile reads:
.wav, .flac, .ogg) or a video file (.mp4, .avi, .mov, .mkv, .webm), or both, is one utterance with
that stem as id; a UTF-8 `STEM.txt` beside it is its transcript. A clip's companions for feature
extraction, `STEM.words.csv` (word timings) and `STEM.csv` (OpenFace output), are not files of
another format. Subfolders and hidden files are not read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emozsl.data.dataset import UNSPLIT, MultimodalDataset, SplitData
from emozsl.data.media.refs import AudioRef, FramesRef, MediaColumn
from emozsl.errors import EmozslError, first_line

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
TRANSCRIPT_SUFFIX = ".txt"
# Files of the other formats: a folder holding one is a damaged data folder of that format, never
# clips, so it gets the "not a data folder" error rather than a reading that drops its features.
OTHER_FORMAT_SUFFIXES = (".h5", ".hdf5", ".p", ".pkl", ".csd", ".csv", ".jsonl", ".json")
WORDS_SUFFIX = ".words.csv"  # a clip's word timings (columns word, start, end)
OPENFACE_SUFFIX = ".csv"  # a clip's OpenFace FeatureExtraction output


def _files(folder: Path) -> list[Path]:
    """The folder's visible files, directly inside it."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())


def clips_folder(path: Path) -> Path | None:
    """`path` when it is a folder holding an audio or video file and no file of another format."""
    if not path.is_dir():
        return None
    files = _files(path)
    stems = {p.stem for p in files if p.suffix.lower() in (*AUDIO_SUFFIXES, *VIDEO_SUFFIXES)}
    companions = {f"{s}{suffix}" for s in stems for suffix in (WORDS_SUFFIX, OPENFACE_SUFFIX)}
    others = [p for p in files if p.suffix.lower() in OTHER_FORMAT_SUFFIXES and p.name not in companions]
    return path if stems and not others else None


def _transcript(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as exc:
        raise EmozslError(f"{file}: not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                          "save the transcript as UTF-8") from None
    except OSError as exc:
        raise EmozslError(f"{file}: cannot read ({first_line(exc)})") from None


def read_clips_folder(folder: Path) -> MultimodalDataset:
    """An unlabelled raw data set, one split (UNSPLIT), ids the stems in sorted order. Its columns
    are the modalities some clip has: text (a missing transcript is ""), audio (AudioRef) and visual
    (FramesRef of the video); a clip without a modality others have holds an empty reference
    (AudioRef() or FramesRef(): every path None), for the consumer to report.
    Errors: EmozslError, one line naming the folder, or the clip and both files of a stem with two
    audio or two video files."""
    media: dict[str, dict[str, Path]] = {}  # stem -> {"audio" | "visual": file}
    transcripts: dict[str, Path] = {}
    for file in _files(folder):
        suffix = file.suffix.lower()
        kind = "audio" if suffix in AUDIO_SUFFIXES else "visual" if suffix in VIDEO_SUFFIXES else None
        if kind is not None:
            clip = media.setdefault(file.stem, {})
            if kind in clip:
                what = "audio" if kind == "audio" else "video"
                raise EmozslError(f"{folder}: clip {file.stem} has two {what} files, {clip[kind].name} and "
                                  f"{file.name}; keep one")
            clip[kind] = file
        elif suffix == TRANSCRIPT_SUFFIX:
            transcripts[file.stem] = file
    if not media:
        raise EmozslError(f"{folder}: no audio ({', '.join(AUDIO_SUFFIXES)}) or video "
                          f"({', '.join(VIDEO_SUFFIXES)}) file")
    stems = sorted(media)
    with_text = [s for s in stems if s in transcripts]
    with_audio = [s for s in stems if "audio" in media[s]]
    with_video = [s for s in stems if "visual" in media[s]]
    columns = {}
    if with_text:
        columns["text"] = MediaColumn("text", [_transcript(transcripts[s]) if s in transcripts else "" for s in stems])
    if with_audio:
        columns["audio"] = MediaColumn("audio", [AudioRef(str(media[s]["audio"])) if "audio" in media[s] else AudioRef()
                                                 for s in stems])
    if with_video:
        columns["visual"] = MediaColumn("visual", [FramesRef(video=str(media[s]["visual"])) if "visual" in media[s]
                                                   else FramesRef() for s in stems])
    note = (f"{len(stems)} clips: {len(with_audio)} with audio, {len(with_video)} with video, "
            f"{len(with_text)} with a transcript")
    orphans = len(set(transcripts) - set(media))
    split = SplitData(columns, np.zeros((len(stems), 0), dtype=np.float32), np.array(stems, dtype=str))
    return MultimodalDataset("clips", [], {UNSPLIT: split}, str(folder), notes=[note],
                             dropped={"transcript without audio or video": orphans} if orphans else {},
                             labelled=False)
