"""Decoding and preprocessing of raw media (raw_inputs.md), the way FE2E/MESM expect them.

- Audio: any file soundfile reads (wav, flac, ogg), or samples with their rate; mixed to mono,
  resampled to 16 kHz (polyphase, scipy); power mel spectrogram with 128 HTK mel bins, n_fft = win
  = 400 (periodic Hann), hop 200, centred frames with reflect padding (the conventions of
  torch.stft(center=True)); log-mel by default (ln(mel + 1e-6), standardised over the utterance),
  the original's plain power mel on request; cut into chunks of 32 frames, the last one padded.
- Frames: one per 500 ms (image folders at their stated frame rate, videos at theirs). An image of
  48x48 is taken to be a face crop already and used as it is; any other frame goes through OpenCV's
  bundled frontal-face cascade (offline; the largest face, with a 2-pixel margin), with a centre crop
  as the fallback, counted. Crops are stored as 0-255 RGB (uint8); models normalise them.

The media libraries are an optional extra (`[media]`); without them a raw data
set fails with a one-line error naming the extra. Every decoding error names the utterance and file;
the header checks (`media_file`, `audio_info`, `check_image`, `check_video`) find the same faults
cheaply, before any training (media_cache.check_media).
"""

from __future__ import annotations

import importlib
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from emozsl.errors import EmozslError, first_line
from emozsl.extras import install_hint

SAMPLE_RATE = 16000
MIN_SAMPLE_RATE = 4000  # below this a recording cannot hold speech (and is likely a wrong header)
FACE_SIZE = 48
FACE_MARGIN = 2
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
EXTRA = "media"


@dataclass(frozen=True)
class MediaSettings:
    """Everything preprocessing depends on; part of every cache key."""
    sample_rate: int = SAMPLE_RATE
    n_mels: int = 128
    n_fft: int = 400
    hop: int = 200
    chunk_frames: int = 32
    log_mel: bool = True
    frame_interval: float = 0.5  # seconds between kept frames
    face_size: int = FACE_SIZE
    max_chunks: int = 200  # about 80 s of audio; longer utterances are cut (and counted)
    max_frames: int = 160  # 80 s of frames

    def key(self, kind: str) -> str:
        values = vars(self)  # not asdict: its deep copy costs more than the check of a cached utterance
        audio = ("sample_rate", "n_mels", "n_fft", "hop", "chunk_frames", "log_mel", "max_chunks")
        kept = audio if kind == "audio" else ("frame_interval", "face_size", "max_frames")
        return ";".join(f"{k}={values[k]}" for k in kept)


def require(module: str, purpose: str):
    """Import an optional media library, or fail with the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise EmozslError(f"{purpose} needs the optional media libraries: {install_hint(EXTRA)} "
                          f"(module {module} is missing)") from None


def media_file(path: Path, utterance: str, what: str) -> os.stat_result:
    """The status of a media file (`what`: audio, image, video), which must exist and hold
    something; else an error naming the utterance and file."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise EmozslError(f"utterance {utterance}: {path}: no such {what} file") from None
    except OSError as exc:
        raise EmozslError(f"utterance {utterance}: {path}: cannot read ({first_line(exc)})") from None
    if not status.st_size:
        raise EmozslError(f"utterance {utterance}: {path}: empty {what} file")
    return status


# ---- audio ------------------------------------------------------------------------------------

def audio_info(path: Path, utterance: str, expected_rate: int | None = None) -> tuple[int, int]:
    """(samples, rate in Hz) as the file's header states them, without decoding: the file exists, is
    not empty, its header decodes, it holds samples at MIN_SAMPLE_RATE or more, and its rate is the
    one the data state (`expected_rate`, if any). Every fault is an EmozslError naming the
    utterance and file."""
    media_file(path, utterance, "audio")
    soundfile = require("soundfile", "reading audio")
    try:
        info = soundfile.info(str(path))
    except Exception as exc:  # soundfile raises its own error types for unreadable files
        raise EmozslError(f"utterance {utterance}: {path}: cannot read audio ({first_line(exc)})") from None
    if info.frames <= 0:
        raise EmozslError(f"utterance {utterance}: {path}: the audio holds no samples")
    if info.samplerate < MIN_SAMPLE_RATE:
        raise EmozslError(f"utterance {utterance}: {path}: sample rate {info.samplerate} Hz is below "
                          f"{MIN_SAMPLE_RATE} Hz")
    if expected_rate is not None and info.samplerate != expected_rate:
        raise EmozslError(f"utterance {utterance}: {path}: sample rate {info.samplerate} Hz, but the data say "
                          f"{expected_rate} Hz")
    return int(info.frames), int(info.samplerate)


def read_audio(path: Path, utterance: str, expected_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Mono float32 samples (N,) and their rate in Hz, after the checks of `audio_info`."""
    audio_info(path, utterance, expected_rate)
    soundfile = require("soundfile", "reading audio")
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises its own error types for unreadable files
        raise EmozslError(f"utterance {utterance}: {path}: cannot read audio ({first_line(exc)})") from None
    return samples.mean(axis=1), int(rate)


def check_samples(samples, rate, utterance: str, where: str) -> tuple[np.ndarray, int]:
    """Audio samples (N,) or (N, channels) and their rate -> float64 mono (N,) and the rate as an int;
    no samples, non-finite ones or a rate below MIN_SAMPLE_RATE are errors naming the utterance."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1:
        raise EmozslError(f"utterance {utterance}: {where}: expected mono or (samples, channels) audio, "
                          f"found shape {samples.shape}")
    if not len(samples):
        raise EmozslError(f"utterance {utterance}: {where}: the audio holds no samples")
    if not np.isfinite(samples).all():
        raise EmozslError(f"utterance {utterance}: {where}: audio holds non-finite samples")
    if not isinstance(rate, (int, np.integer)) or rate < MIN_SAMPLE_RATE:
        raise EmozslError(f"utterance {utterance}: {where}: sample rate {rate!r} is not a rate of "
                          f"{MIN_SAMPLE_RATE} Hz or more")
    return samples, int(rate)


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return samples
    from scipy.signal import resample_poly

    common = math.gcd(rate, target)
    return resample_poly(samples, target // common, rate // common)


@lru_cache(maxsize=4)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the HTK mel scale, 0 Hz to Nyquist, unnormalised
    (torchaudio's defaults)."""
    def to_mel(hz):
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = 700.0 * (10 ** (np.linspace(to_mel(0.0), to_mel(sample_rate / 2), n_mels + 2) / 2595.0) - 1.0)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (centre - lower)
    falling = (upper - freqs[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def power_spectrogram(samples: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|^2, (n_fft // 2 + 1, frames): periodic Hann window, centred frames, reflect padding."""
    pad = n_fft // 2
    mode = "reflect" if len(samples) > pad else "constant"
    padded = np.pad(samples, pad, mode=mode)
    frames = 1 + (len(padded) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    return (np.abs(np.fft.rfft(padded[index] * window, axis=1)) ** 2).T


def audio_chunks(samples: np.ndarray, rate: int, settings: MediaSettings) -> tuple[np.ndarray, int]:
    """(C, n_mels, chunk_frames) float32 chunks of the (log-)mel spectrogram, C <= max_chunks, and
    how many chunks beyond max_chunks were cut off."""
    samples = resample(samples, rate, settings.sample_rate)
    mel = mel_filterbank(settings.sample_rate, settings.n_fft, settings.n_mels) @ power_spectrogram(
        samples, settings.n_fft, settings.hop)
    if settings.log_mel:
        mel = np.log(mel + 1e-6)
        mel = (mel - mel.mean()) / (mel.std() + 1e-5)  # per utterance: loudness and channel gain drop out
    width = settings.chunk_frames
    whole = -(-mel.shape[1] // width)
    count = min(whole, settings.max_chunks)
    padded = np.zeros((settings.n_mels, count * width))
    kept = mel[:, :count * width]
    padded[:, :kept.shape[1]] = kept
    return padded.reshape(settings.n_mels, count, width).transpose(1, 0, 2).astype(np.float32), whole - count


# ---- frames -----------------------------------------------------------------------------------

def check_image(path: Path, utterance: str) -> None:
    """The image's header decodes (Pillow reads the header only, not the pixels)."""
    image_module = require("PIL.Image", "reading frames")
    try:
        with image_module.open(path) as image:
            width, height = image.size
    except Exception as exc:  # Pillow raises several types for unreadable files
        raise EmozslError(f"utterance {utterance}: {path}: cannot read image ({first_line(exc)})") from None
    if not width or not height:
        raise EmozslError(f"utterance {utterance}: {path}: the image is {width}x{height} pixels")


def read_image(path: Path, utterance: str) -> np.ndarray:
    """An RGB uint8 image (H, W, 3)."""
    image_module = require("PIL.Image", "reading frames")
    try:
        with image_module.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except Exception as exc:  # Pillow raises several types for unreadable files
        raise EmozslError(f"utterance {utterance}: {path}: cannot read image ({first_line(exc)})") from None


def frame_files(folder: Path, utterance: str, prefix: str = "") -> list[Path]:
    """Image files of a frames folder in frame order (by the number in the name when there is one)."""
    if not folder.is_dir():
        raise EmozslError(f"utterance {utterance}: {folder}: no such frames folder")
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.name.startswith(prefix)]

    def order(path: Path):
        digits = "".join(c if c.isdigit() else " " for c in path.stem[len(prefix):]).split()
        return (int(digits[-1]) if digits else -1, path.name)

    return sorted(files, key=order)


def sample_every(items: list, fps: float, interval: float) -> list:
    """One item per `interval` seconds from a sequence at `fps` (at least every item)."""
    step = max(1, round(fps * interval))
    return items[::step]


@contextmanager
def _open_video(path: Path, utterance: str):
    """An open OpenCV capture of the video and its frame rate."""
    cv2 = require("cv2", "reading videos")
    media_file(path, utterance, "video")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise EmozslError(f"utterance {utterance}: {path}: cannot open video")
        fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        if fps <= 0:
            raise EmozslError(f"utterance {utterance}: {path}: the video states no frame rate")
        yield capture, fps
    finally:
        capture.release()


def _no_frame(path: Path, utterance: str) -> EmozslError:
    return EmozslError(f"utterance {utterance}: {path}: the video opens but decodes no frame")


def check_video(path: Path, utterance: str) -> None:
    """The video opens, states a frame rate and decodes its first frame (one frame, not the file)."""
    with _open_video(path, utterance) as (capture, _):
        if not capture.read()[0]:
            raise _no_frame(path, utterance)


def video_frames(path: Path, utterance: str, interval: float, limit: int) -> tuple[list[np.ndarray], int]:
    """RGB uint8 frames (H, W, 3), one every `interval` seconds of a video file (OpenCV, by
    timestamp), at most `limit`, and how many more the rest of the video would have given (cut). A
    video that decodes no frame is an error naming the utterance and file."""
    cv2 = require("cv2", "reading videos")
    with _open_video(path, utterance) as (capture, fps):
        frames, cut, index, next_time = [], 0, 0, 0.0
        while capture.grab():  # only the kept frames are converted to pixels (retrieve)
            if index / fps + 1e-9 >= next_time:
                if len(frames) == limit:
                    cut += 1
                else:
                    ok, frame = capture.retrieve()
                    if not ok:
                        break
                    frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                next_time += interval
            index += 1
    if not frames:
        raise _no_frame(path, utterance)
    return frames, cut


@lru_cache(maxsize=1)
def _face_cascade():
    cv2 = require("cv2", "face detection")
    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise EmozslError(f"{path}: OpenCV's face cascade is missing (opencv-python-headless 4.x bundles it; "
                          f"{install_hint(EXTRA)})")
    return cascade


def face_crop(image: np.ndarray, size: int = FACE_SIZE) -> tuple[np.ndarray, bool]:
    """A (size, size, 3) uint8 face crop and whether the centre-crop fallback was used. An image of
    exactly size x size is a crop already."""
    if image.shape[:2] == (size, size):
        return image, False
    cv2 = require("cv2", "face detection")
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    faces = _face_cascade().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(size // 2, size // 2))
    height, width = image.shape[:2]
    if len(faces):
        x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
        x0, y0 = max(0, x - FACE_MARGIN), max(0, y - FACE_MARGIN)
        x1, y1 = min(width, x + w + FACE_MARGIN), min(height, y + h + FACE_MARGIN)
        crop, fallback = image[y0:y1, x0:x1], False
    else:
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        crop, fallback = image[top:top + side, left:left + side], True
    return cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=cv2.INTER_AREA), fallback
