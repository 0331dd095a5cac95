"""The released MESM processed layout of raw media (docs/raw-media.md): DIR/{MOSEI,IEMOCAP}_RAW_PROCESSED/
(meta.pkl and one folder per utterance; IEMOCAP's one level down, in its dialog folder) beside
DIR/{MOSEI,IEMOCAP}_SPLIT/ ({train,valid,test}_split.txt). meta.pkl is a pickle: it needs
--trust-pickle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emozsl.data.corpora import IEMOCAP, MOSEI, Corpus
from emozsl.data.dataset import SPLITS, MultimodalDataset, load_pickle
from emozsl.data.media.refs import DEFAULT_FPS, AudioRef, FramesRef, media_split
from emozsl.data.readers.mosei import MOSEI_EMOTIONS
from emozsl.errors import EmozslError

MESM_CORPORA = {"MOSEI": "mosei", "IEMOCAP": "iemocap6"}
IEMOCAP_CODES = {"ang": "anger", "exc": "excited", "fru": "frustrated", "hap": "happy", "neu": "neutral", "sad": "sad"}
IEMOCAP_VIDEO_FPS = 30.0  # the released frames are every video frame unless meta.pkl says otherwise


def mesm_root(path: Path) -> Path | None:
    """The folder holding {MOSEI,IEMOCAP}_RAW_PROCESSED (given it, or the processed folder itself)."""
    candidates = (path, path.parent) if path.name.endswith("_RAW_PROCESSED") else (path,)
    for candidate in candidates:
        if any((candidate / f"{c}_RAW_PROCESSED").is_dir() for c in MESM_CORPORA):
            return candidate
    return None


def iemocap_side(uid: str) -> str:
    """L or R: the speaker's half of the two-speaker dialog recording (docs/raw-media.md)."""
    parts = uid.split("_")
    session, speaker = parts[0], parts[-1]
    return "L" if session[-1:] == speaker[:1] else "R"


def released_corpus(root: Path) -> str:
    """The corpus folder read_mesm_folder reads at `root` by default: the first of MESM_CORPORA there."""
    return next(c for c in MESM_CORPORA if (root / f"{c}_RAW_PROCESSED").is_dir())


def mesm_corpus(root: Path) -> Corpus:
    """The corpus of the released layout at `root` (its FORMATS row's declaration)."""
    return IEMOCAP if released_corpus(root) == "IEMOCAP" else MOSEI


def read_mesm_folder(root: Path, trust_pickle: bool, corpus: str | None = None) -> MultimodalDataset:
    corpus = corpus or released_corpus(root)
    processed, split_dir = root / f"{corpus}_RAW_PROCESSED", root / f"{corpus}_SPLIT"
    meta = load_pickle(processed / "meta.pkl", trust_pickle)
    if not isinstance(meta, dict):
        raise EmozslError(f"{processed / 'meta.pkl'}: expected a dict of utterance id -> fields")
    iemocap = corpus == "IEMOCAP"
    emotions = list(IEMOCAP_CODES.values()) if iemocap else list(MOSEI_EMOTIONS)
    folders = ({p.name: p for dialog in processed.iterdir() if dialog.is_dir() for p in dialog.iterdir() if p.is_dir()}
               if iemocap else None)
    splits = {}
    for split in SPLITS:
        list_file = split_dir / f"{split}_split.txt"
        if not list_file.is_file():
            raise EmozslError(f"{list_file}: missing split file")
        ids = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
        part = {"ids": [], "labels": [], "text": [], "audio": [], "visual": [], "uni": {}}
        for uid in ids:
            where = f"{processed / 'meta.pkl'}: utterance {uid}"
            entry = meta.get(uid)
            if not isinstance(entry, dict):
                raise EmozslError(f"{where}: listed in {list_file.name} but not in meta.pkl")
            for key in ("text", "label"):
                if key not in entry:
                    raise EmozslError(f"{where}: no '{key}'")
            folder = folders.get(uid) if iemocap else processed / uid
            if folder is None or not folder.is_dir():
                raise EmozslError(f"utterance {uid}: no folder {uid} in {processed}")
            text = entry["text"]
            if not isinstance(text, str) or not text.strip():
                raise EmozslError(f"{where}: empty transcript")
            if iemocap:
                code = str(entry["label"]).strip().lower()
                if code not in IEMOCAP_CODES:
                    raise EmozslError(f"{where}: label {entry['label']!r} is not one of {', '.join(IEMOCAP_CODES)}")
                labels = [float(IEMOCAP_CODES[code] == e) for e in emotions]
                side = iemocap_side(uid)
                rate = entry.get("sr")
                audio = AudioRef(str(folder / f"audio_{side}.wav"), None, int(rate) if rate else None)
                frames = FramesRef(str(folder), f"image_{side}_", float(entry.get("fps") or IEMOCAP_VIDEO_FPS))
            else:
                vector = np.asarray(entry["label"], dtype=float).ravel()
                if vector.shape != (len(emotions),):
                    raise EmozslError(f"{where}: label has shape {vector.shape}, expected ({len(emotions)},) "
                                      f"({', '.join(emotions)})")
                labels = (vector > 0).astype(float).tolist()
                audio = AudioRef(str(folder / "audio.wav"))
                frames = FramesRef(str(folder), "image_", DEFAULT_FPS)  # released at 2 fps: keep every frame
            part["ids"].append(uid)
            part["labels"].append(labels)
            part["text"].append(text.strip())
            part["audio"].append(audio)
            part["visual"].append(frames)
        splits[split] = media_split(part, len(emotions))
    return MultimodalDataset(MESM_CORPORA[corpus], emotions, splits, str(processed))
