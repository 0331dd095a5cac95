"""The extractors of the registry (registry.py), each offline. An opener takes the extractor's
argument and the settings and returns an `Opened`: called on one utterance it gives (T, D)
float32 steps and their (T, 2) (start, end) times in seconds, or None where steps have no times
(words of a transcript without timings).

Defaults (documented in the registry's table):
- text `words:FILE`: a transcript is split into words by the regex WORD_PATTERN on its lowercase
  form; a timed word (word timings) is the mean of its regex words' vectors. A word without a
  vector is out of vocabulary: a zero vector, counted (`stats`), never dropped.
- text `hf:FOLDER`: the words (as above, or the timed words) go to the tokenizer as split words;
  each word is the mean of its tokens' last hidden states (the tokenizer's word_ids()); a word cut
  off by the model's maximum length is a zero vector, counted.
- audio: 16 kHz mono (media.read_audio, resampled); `logmel[:N]` ln(mel power + 1e-6) of N = 80
  HTK mel bins (media.mel_filterbank, media.power_spectrogram: n_fft = window = 400 samples, 25 ms,
  periodic Hann, centred frames), hop 160 samples, 10 ms; `mfcc[:N]` the first N = 13 coefficients
  (c0 included) of the orthonormal DCT-II of the log-mel of 40 bands. Frame i spans
  i * 10 ms -/+ 12.5 ms (clipped at 0).
- audio `opensmile:egemaps|compare`: the LLDs of eGeMAPSv02 (25) or ComParE_2016 (65), the
  `opensmile` package's LowLevelDescriptors level (its own frame times).
- audio `hf:FOLDER`: last hidden states of a wav2vec 2.0 / HuBERT model (one per 20 ms: the conv
  strides' product over the rate), frame i spanning i * stride .. i * stride + 25 ms.
- visual `openface[:DIR]`: OpenFace 2 FeatureExtraction CSVs, OPENFACE_COLUMNS (49): gaze (8), head
  pose (6), AU intensities _r (17), AU presences _c (18); rows with success 0 (face lost) are zeros,
  counted (`stats["frames_face_lost"]` of `stats["frames"]`) and averaged in as zeros like any row; a
  row spans its timestamp to the next one's (the last one the median step).
- visual `hf:FOLDER`: a frame every `frame_interval` s (0.5; at most MAX_FRAMES), face-cropped
  (media.face_crop, 48 px), through the image encoder: its image features (CLIP), else its pooled
  output, else the CLS state; a frame spans its time to the next due time.

A clip's fault is a ClipError (an EmozslError) with a `cause`: "media" (audio, video or frames
missing or undecodable) or "openface_csv" (no CSV, or one of another layout); `extract_features`
counts clips by cause.
"""

from __future__ import annotations

import operator
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emozsl.data.media.decode import (
    FACE_SIZE,
    SAMPLE_RATE,
    check_samples,
    face_crop,
    frame_files,
    mel_filterbank,
    pick_by_time,
    power_spectrogram,
    read_audio,
    read_image,
    require,
    resample,
    video_frames,
)
from emozsl.data.media.refs import AudioRef, FramesRef
from emozsl.errors import EmozslError, first_line
from emozsl.extras import install_hint, transformers_module
from emozsl.features.registry import OPENSMILE_SETS
from emozsl.numeric import is_number

WORD_PATTERN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # on the lowercase text: letters and digits, inner apostrophes
N_FFT, HOP = 400, 160  # 25 ms window, 10 ms hop at 16 kHz
LOGMEL_BINS, MFCC_BANDS, MFCC_COEFFICIENTS = 80, 40, 13
LOG_FLOOR = 1e-6
MAX_FRAMES = 160
HF_AUDIO_WINDOW = 0.025  # s: wav2vec 2.0's receptive field

GAZE = ("gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z", "gaze_angle_x", "gaze_angle_y")
POSE = ("pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz")
AU_INTENSITY = ("01", "02", "04", "05", "06", "07", "09", "10", "12", "14", "15", "17", "20", "23", "25", "26", "45")
AU_PRESENCE = ("01", "02", "04", "05", "06", "07", "09", "10", "12", "14", "15", "17", "20", "23", "25", "26", "28",
               "45")
OPENFACE_COLUMNS = (*GAZE, *POSE, *(f"AU{a}_r" for a in AU_INTENSITY), *(f"AU{a}_c" for a in AU_PRESENCE))


class ClipError(EmozslError):
    """One clip's fault, with the cause `extract_features` counts it under."""

    def __init__(self, message: str, cause: str):
        super().__init__(message)
        self.cause = cause


@dataclass
class Utterance:
    uid: str
    text: str | None
    audio: AudioRef | None
    frames: FramesRef | None
    words: list[tuple[str, float, float]] | None = None  # word timings, when known


@dataclass
class Settings:
    frame_interval: float = 0.5
    device: str = "cpu"
    trust_pickle: bool = False  # words:FILE may be a gensim save (a pickle: runs code when loaded)
    own_first: bool = False  # a clip's own OpenFace CSV (beside it) before openface:DIR's (new clips a run scores)


@dataclass
class Opened:
    """An extractor ready to run: `run(utterance) -> (values (T, D), times (T, 2) | None)`."""
    run: object
    dim: int | None
    files: list[tuple[str, str]] = field(default_factory=list)  # ("file" | "folder", path) the output depends on
    packages: tuple[str, ...] = ()  # whose versions the recipe records
    stats: dict = field(default_factory=dict)  # counts the run adds to (OOV words, ...)
    prepare: object = None  # optional: called once with every utterance before any run
    seen: dict = field(default_factory=dict)  # stat name -> the set whose size it is (distinct OOV words)
    clip_seen: dict = field(default_factory=dict)  # the last run's own members of `seen` (cached with it)

    def __call__(self, utterance: Utterance):
        return self.run(utterance)


def words_of(utterance: Utterance) -> list[str]:
    """The utterance's words: the timed words, else the transcript's regex words."""
    if utterance.words is not None:
        return [w for w, _, _ in utterance.words]
    return WORD_PATTERN.findall((utterance.text or "").lower())


def word_times(utterance: Utterance) -> np.ndarray | None:
    if utterance.words is None:
        return None
    return np.array([[s, e] for _, s, e in utterance.words], dtype=np.float64).reshape(-1, 2)


def _empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), np.float32)


# ---- text --------------------------------------------------------------------------------------

def words(arg: str, settings: Settings) -> Opened:
    from emozsl.embeddings import load_embeddings

    path = Path(arg)
    if not path.is_file():
        raise EmozslError(f"--text words:{arg}: no such word-vector file")
    stats = {"words": 0, "oov_words": 0, "oov_distinct": 0}
    state: dict = {}
    oov: set[str] = set()

    def prepare(utterances: list[Utterance]) -> None:
        vocabulary = {t for u in utterances for w in words_of(u) for t in WORD_PATTERN.findall(w.lower())}
        kv = load_embeddings(path, words=sorted(vocabulary), trust_pickle=settings.trust_pickle)
        state["kv"], state["dim"] = kv, int(kv.vector_size)
        opened.dim = state["dim"]

    def run(utterance: Utterance):
        kv, dim = state["kv"], state["dim"]
        rows, mine = [], set()
        for word in words_of(utterance):
            found = [kv[t] for t in WORD_PATTERN.findall(word.lower()) if t in kv.key_to_index]
            stats["words"] += 1
            if found:
                rows.append(np.mean(found, axis=0))
            else:
                stats["oov_words"] += 1
                oov.add(word.lower())
                mine.add(word.lower())
                stats["oov_distinct"] = len(oov)
                rows.append(np.zeros(dim, np.float32))
        values = np.asarray(rows, np.float32).reshape(-1, dim)
        opened.clip_seen = {"oov_distinct": sorted(mine)}
        return values, word_times(utterance)

    opened = Opened(run, None, [("file", str(path.resolve()))], ("gensim",), stats, prepare, {"oov_distinct": oov})
    return opened


def _hf(folder: str, modality: str):
    transformers = transformers_module(f"--{modality} hf")
    path = Path(folder)
    if not path.is_dir():
        raise EmozslError(f"--{modality} hf:{folder}: no such model folder (a local Hugging Face folder; "
                          "nothing is downloaded)")
    return transformers, path


def _load(loader, path: Path, modality: str, what: str):
    try:
        return loader.from_pretrained(str(path), local_files_only=True)
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError for a bad folder
        raise EmozslError(f"--{modality} hf:{path}: cannot load the {what} ({first_line(exc)})") from None


HF_INPUTS = {"text": ("input_ids", "a text encoder (BERT, RoBERTa, ...)"),
             "audio": ("input_values", "a speech encoder (wav2vec 2.0, HuBERT, ...)"),
             "visual": ("pixel_values", "an image encoder (ViT, CLIP vision, ...)")}
HF_INPUT_KINDS = {"input_ids": "a text model", "input_values": "a speech model", "input_features": "a speech model",
                  "pixel_values": "an image model"}


def _hf_model(transformers, path: Path, modality: str, device: str):
    """The folder's AutoModel, checked to take the modality's input (a model folder of another kind
    is one line naming what it holds), in eval mode on `device`."""
    model = _load(transformers.AutoModel, path, modality, "model")
    expected, wanted = HF_INPUTS[modality]
    takes = getattr(model, "main_input_name", None)
    clip_vision = modality == "visual" and hasattr(model, "get_image_features")  # a full CLIP model takes images too
    if takes != expected and not clip_vision:
        holds = HF_INPUT_KINDS.get(takes, f"a model taking {takes}")
        raise EmozslError(f"--{modality} hf:{path}: holds {holds} ({type(model).__name__}), not {wanted}")
    return model.eval().to(device)


def hf_text(arg: str, settings: Settings) -> Opened:
    import torch

    transformers, path = _hf(arg, "text")
    model = _hf_model(transformers, path, "text", settings.device)
    tokenizer = _load(transformers.AutoTokenizer, path, "text", "tokenizer")
    if not tokenizer.is_fast:
        raise EmozslError(f"--text hf:{arg}: the tokenizer is not a fast (Rust) tokenizer, which word_ids() needs")
    dim = int(model.config.hidden_size)
    stats = {"words": 0, "truncated_words": 0}

    def run(utterance: Utterance):
        items = words_of(utterance)
        values = np.zeros((len(items), dim), np.float32)
        stats["words"] += len(items)
        if items:
            encoded = tokenizer(items, is_split_into_words=True, truncation=True, return_tensors="pt")
            ids = encoded.word_ids(0)
            with torch.no_grad():
                hidden = model(**encoded.to(settings.device)).last_hidden_state[0].float().cpu().numpy()
            owner = np.array([-1 if w is None else w for w in ids])
            for w in range(len(items)):
                rows = hidden[owner == w]
                if len(rows):
                    values[w] = rows.mean(0)
                else:
                    stats["truncated_words"] += 1
        return values, word_times(utterance)

    return Opened(run, dim, [("folder", str(path.resolve()))], ("transformers", "torch", "tokenizers"), stats)


# ---- audio -------------------------------------------------------------------------------------

def samples_of(utterance: Utterance, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The utterance's audio, mono float64 at `rate`."""
    ref = utterance.audio
    if ref is None or (ref.path is None and ref.samples is None):
        raise ClipError(f"utterance {utterance.uid}: no audio (an audio extractor needs an audio file)", "media")
    try:
        if ref.samples is not None:
            samples, source_rate = check_samples(ref.samples, ref.rate, utterance.uid, "audio samples")
        else:
            samples, source_rate = read_audio(Path(ref.path), utterance.uid, ref.rate)
    except ClipError:
        raise
    except EmozslError as exc:
        raise ClipError(str(exc), "media") from None
    return resample(np.asarray(samples, np.float64), source_rate, rate)


def _frame_times(count: int, step: float, window: float, centred: bool) -> np.ndarray:
    start = np.arange(count) * step - (window / 2 if centred else 0.0)
    return np.stack([np.maximum(start, 0.0), start + window], 1)


def _bins(arg: str | None, default: int, what: str) -> int:
    if arg is None:
        return default
    try:
        value = int(arg)
    except ValueError:
        value = 0
    if value < 1:
        raise EmozslError(f"--audio {what}:{arg}: give a whole number of {what} features above 0")
    return value


def _log_mel(samples: np.ndarray, bins: int) -> np.ndarray:
    mel = mel_filterbank(SAMPLE_RATE, N_FFT, bins) @ power_spectrogram(samples, N_FFT, HOP)
    return np.log(mel + LOG_FLOOR).T  # (frames, bins)


def logmel(arg: str | None, settings: Settings) -> Opened:
    bins = _bins(arg, LOGMEL_BINS, "logmel")

    def run(utterance: Utterance):
        values = _log_mel(samples_of(utterance), bins).astype(np.float32)
        return values, _frame_times(len(values), HOP / SAMPLE_RATE, N_FFT / SAMPLE_RATE, True)

    return Opened(run, bins, [], ("numpy", "scipy", "soundfile"))


def mfcc(arg: str | None, settings: Settings) -> Opened:
    from scipy.fft import dct

    count = _bins(arg, MFCC_COEFFICIENTS, "mfcc")
    if count > MFCC_BANDS:
        raise EmozslError(f"--audio mfcc:{arg}: at most {MFCC_BANDS} coefficients (of {MFCC_BANDS} mel bands)")

    def run(utterance: Utterance):
        values = dct(_log_mel(samples_of(utterance), MFCC_BANDS), type=2, norm="ortho", axis=1)[:, :count]
        return values.astype(np.float32), _frame_times(len(values), HOP / SAMPLE_RATE, N_FFT / SAMPLE_RATE, True)

    return Opened(run, count, [], ("numpy", "scipy", "soundfile"))


def opensmile(arg: str, settings: Settings) -> Opened:
    key = arg.strip().lower()
    if key not in OPENSMILE_SETS:
        raise EmozslError(f"--audio opensmile:{arg}: choose one of {', '.join(f'opensmile:{k}' for k in OPENSMILE_SETS)}")
    try:
        import opensmile as smile_module
    except ImportError:
        raise EmozslError(f"--audio opensmile:{arg}: needs the opensmile package: {install_hint('opensmile')}") from None
    set_name, dim = OPENSMILE_SETS[key]
    smile = smile_module.Smile(feature_set=smile_module.FeatureSet[set_name],
                               feature_level=smile_module.FeatureLevel.LowLevelDescriptors)
    if len(smile.feature_names) != dim:
        raise EmozslError(f"--audio opensmile:{arg}: {set_name} gives {len(smile.feature_names)} LLDs, "
                          f"emozsl expects {dim} (an opensmile version emozsl does not know)")

    def run(utterance: Utterance):
        samples = samples_of(utterance).astype(np.float32)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = smile.process_signal(samples, SAMPLE_RATE)
        if caught or not np.isfinite(frame.to_numpy()).all():  # openSMILE fills a too-short clip with NaN
            raise ClipError(f"utterance {utterance.uid}: too short for openSMILE's frames ({len(samples) / SAMPLE_RATE:.3f} "
                            f"s: {first_line(caught[0].message) if caught else 'non-finite values'})", "media")
        starts = frame.index.get_level_values("start").total_seconds()
        ends = frame.index.get_level_values("end").total_seconds()
        times = np.stack([np.asarray(starts, np.float64), np.asarray(ends, np.float64)], 1)
        return frame.to_numpy(dtype=np.float32), times

    return Opened(run, dim, [], ("opensmile",))


def hf_audio(arg: str, settings: Settings) -> Opened:
    import torch

    transformers, path = _hf(arg, "audio")
    model = _hf_model(transformers, path, "audio", settings.device)
    extractor = _load(transformers.AutoFeatureExtractor, path, "audio", "feature extractor")
    rate = int(getattr(extractor, "sampling_rate", SAMPLE_RATE) or SAMPLE_RATE)
    stride = float(np.prod(getattr(model.config, "conv_stride", (320,)))) / rate
    dim = int(model.config.hidden_size)

    def run(utterance: Utterance):
        inputs = extractor(samples_of(utterance, rate).astype(np.float32), sampling_rate=rate, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**inputs.to(settings.device)).last_hidden_state[0].float().cpu().numpy()
        return hidden.astype(np.float32), _frame_times(len(hidden), stride, HF_AUDIO_WINDOW, False)

    return Opened(run, dim, [("folder", str(path.resolve()))], ("transformers", "torch"))


# ---- visual ------------------------------------------------------------------------------------

def _openface_candidates(utterance: Utterance, folder: Path | None, own_first: bool = False) -> list[Path]:
    frames, audio = utterance.frames, utterance.audio
    stems = [utterance.uid]
    video = Path(frames.video) if frames is not None and frames.video else None
    images = Path(frames.folder) if frames is not None and frames.folder else None
    sound = Path(audio.path) if audio is not None and audio.path else None
    beside = [p.with_suffix(".csv") for p in (video, sound) if p is not None]
    if images is not None:
        beside.append(images.parent / f"{images.name}.csv")
    found = []
    if folder is not None:  # the folder named, then beside the clip (OpenFace's own default output place)
        stems += [p.stem for p in (video, sound) if p is not None] + ([images.name] if images else [])
        found = [folder / f"{s}.csv" for s in stems]
    return list(dict.fromkeys(beside + found if own_first else found + beside))


def openface_csv(utterance: Utterance, folder: Path | None, own_first: bool = False) -> Path | None:
    """The OpenFace CSV an utterance's features come from (the first candidate there), or None."""
    return next((f for f in _openface_candidates(utterance, folder, own_first) if f.is_file()), None)


def read_openface(file: Path, stats: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(T, 49) float32 OPENFACE_COLUMNS (zeros where success is 0) and (T, 2) times of an OpenFace 2
    FeatureExtraction CSV. Header names are stripped (OpenFace writes ", " separators); with several
    faces (face_id), the lowest face id's rows are kept. `stats` (optional) gets "frames" and
    "frames_face_lost" (success 0) added."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EmozslError(f"{file}: cannot read ({first_line(exc)})") from None
    # OpenFace writes unquoted numbers separated by ", ": a plain split is exact, and twice as fast
    # as a CSV reader on its 714 columns
    rows = [line.split(",") for line in text.splitlines() if line.strip()]
    if not rows:
        raise EmozslError(f"{file}: empty OpenFace CSV (no header)")
    header = [h.strip() for h in rows[0]]
    index = {h: i for i, h in enumerate(header)}
    needed = ("timestamp", "success", *OPENFACE_COLUMNS)
    missing = [c for c in needed if c not in index]
    if missing:
        raise EmozslError(f"{file}: no OpenFace column {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} "
                          f"({len(missing)} missing; an OpenFace 2 FeatureExtraction CSV has timestamp, success, "
                          "gaze_*, pose_*, AU*_r and AU*_c)")
    body = rows[1:]
    if not body:
        raise EmozslError(f"{file}: no frames (a header without rows: OpenFace found no face in the clip)")
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise EmozslError(f"{file}: line {number} has {len(row)} values, the header {len(header)} columns")
    keep = [index[c] for c in ("timestamp", "success", *OPENFACE_COLUMNS)]
    if "face_id" in index:
        keep.append(index["face_id"])
    take = operator.itemgetter(*keep)
    try:
        table = np.array([take(row) for row in body], dtype=np.float64).reshape(len(body), len(keep))
    except ValueError:
        bad = next(n for n, row in enumerate(body, start=2) if not all(is_number(row[i]) for i in keep))
        raise EmozslError(f"{file}: line {bad} holds a value that is not a number") from None
    if "face_id" in index and len(table):
        table = table[table[:, -1] == table[:, -1].min()]
    times = table[:, 0]
    values = np.where(table[:, 1:2] > 0, table[:, 2:2 + len(OPENFACE_COLUMNS)], 0.0)
    if not np.isfinite(values).all():
        raise EmozslError(f"{file}: holds non-finite values")
    if stats is not None:
        stats["frames"] = stats.get("frames", 0) + len(table)
        stats["frames_face_lost"] = stats.get("frames_face_lost", 0) + int((table[:, 1] <= 0).sum())
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / 30
    ends = np.append(times[1:], times[-1] + step) if len(times) else times
    return values.astype(np.float32), np.stack([times, ends], 1).reshape(-1, 2)


def openface(arg: str | None, settings: Settings) -> Opened:
    folder = Path(arg) if arg else None
    if folder is not None and not folder.is_dir():
        raise EmozslError(f"--visual openface:{arg}: no such folder of OpenFace CSVs")

    stats = {"frames": 0, "frames_face_lost": 0}

    def run(utterance: Utterance):
        file = openface_csv(utterance, folder, settings.own_first)
        if file is None:
            candidates = _openface_candidates(utterance, folder, settings.own_first)
            raise ClipError(f"utterance {utterance.uid}: no OpenFace CSV (looked for "
                            f"{', '.join(str(c) for c in candidates) or 'nothing: no video or frames'})",
                            "openface_csv")
        try:
            return read_openface(file, stats)
        except EmozslError as exc:
            raise ClipError(f"utterance {utterance.uid}: {exc}", "openface_csv") from None

    return Opened(run, len(OPENFACE_COLUMNS), stats=stats)


def frames_of(utterance: Utterance, interval: float) -> tuple[list[np.ndarray], np.ndarray]:
    """RGB frames one per `interval` s (at most MAX_FRAMES) and their (T, 2) times."""
    ref = utterance.frames
    if ref is None or (ref.video is None and ref.folder is None):
        raise ClipError(f"utterance {utterance.uid}: no video or frames (a visual extractor needs them)", "media")
    try:
        return _frames(utterance, ref, interval)
    except ClipError:
        raise
    except EmozslError as exc:
        raise ClipError(str(exc), "media") from None


def _frames(utterance: Utterance, ref: FramesRef, interval: float) -> tuple[list[np.ndarray], np.ndarray]:
    if ref.video is not None:
        frames, _ = video_frames(Path(ref.video), utterance.uid, interval, MAX_FRAMES)
        starts = np.arange(len(frames)) * interval
    else:
        files = frame_files(Path(ref.folder), utterance.uid, ref.prefix)
        picked, _ = pick_by_time([i / ref.fps for i in range(len(files))], interval, MAX_FRAMES)
        frames = [read_image(files[i], utterance.uid) for i in picked]
        starts = np.array(picked, np.float64) / ref.fps
    ends = np.append(starts[1:], starts[-1] + interval) if len(starts) else starts
    return frames, np.stack([starts, ends], 1).reshape(-1, 2)


def hf_visual(arg: str, settings: Settings) -> Opened:
    import torch

    transformers, path = _hf(arg, "visual")
    require("cv2", "face crops")
    model = _hf_model(transformers, path, "visual", settings.device)
    processor = _load(transformers.AutoImageProcessor, path, "visual", "image processor")
    clip = hasattr(model, "get_image_features")
    config = getattr(model.config, "vision_config", model.config)
    dim = int(getattr(model.config, "projection_dim", 0) or 0) if clip else int(config.hidden_size)
    stats = {"frames": 0, "centre_crops": 0}

    def run(utterance: Utterance):
        frames, times = frames_of(utterance, settings.frame_interval)
        crops = []
        for frame in frames:
            crop, fallback = face_crop(frame, FACE_SIZE)
            crops.append(crop)
            stats["centre_crops"] += int(fallback)
        stats["frames"] += len(crops)
        if not crops:
            return _empty(dim), times
        pixels = processor(images=crops, return_tensors="pt")["pixel_values"].to(settings.device)
        with torch.no_grad():
            if clip:
                out = model.get_image_features(pixel_values=pixels)
                out = getattr(out, "pooler_output", out)
            else:
                result = model(pixel_values=pixels)
                pooled = getattr(result, "pooler_output", None)
                out = pooled if pooled is not None else result.last_hidden_state[:, 0]
        return out.float().cpu().numpy().astype(np.float32), times

    return Opened(run, dim, [("folder", str(path.resolve()))], ("transformers", "torch", "opencv-python-headless",
                                                                 "pillow"), stats)
