"""Decoding and preprocessing of raw media (docs/raw-media.md), the way FE2E/MESM expect them.

- Audio: any file soundfile reads (wav, flac, ogg), or samples with their rate; mixed to mono,
  resampled to 16 kHz (polyphase, scipy); power mel spectrogram with 128 HTK mel bins, n_fft = win
  = 400 (periodic Hann), hop 200, centred frames with reflect padding (the conventions of
  torch.stft(center=True)); log-mel by default (ln(mel + 1e-6), standardised over the utterance),
  the original's plain power mel on request; cut into chunks of 32 frames, the last one padded.
- Frames: one per 500 ms (image folders at their stated frame rate, videos at theirs). An image of
  48x48 is taken to be a face crop already and used as it is; any other frame goes through OpenCV's
  bundled frontal-face cascade (offline; the largest face, with a 2-pixel margin), with a centre crop
  as the fallback, counted. Crops are stored as 0-255 RGB (uint8); models normalise them.
- Frame times: a video's frames are picked by their presentation timestamps (variable-rate phone
  recordings included): the first frame at or after each multiple of the interval from the first
  frame's time, each frame once; an image folder's frame i is at i / fps, by the same rule.
- Image modes and depths (`image_rgb`): every Pillow mode reaches the model as uint8 RGB scaled from
  the image's real range. 8-bit modes (1, L, P, RGB, CMYK, YCbCr, LAB, HSV) by Pillow's conversion;
  16-bit ones (I;16*, and I from a PNG or PGM) from 0..65535; I from a TIFF by the bit depth and
  sample format it declares (signed: 0..2^(bits-1) - 1, negatives black); float ones (F) as 0..1
  when no value is above 1, else as 0..255, clipped (a non-finite value is an error). Alpha (LA, PA,
  RGBA, P or L/RGB with a transparent colour) is composited on black, as a viewer shows it on black:
  a fully transparent pixel is black whatever colour it stores; premultiplied alpha (La, RGBa) is
  dropped, its colour being the composite already.

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
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
EXTRA = "media"
# What decoded frames depend on besides the settings, part of the visual cache key: bumped when
# decoding changes (2: images by their real range and alpha on black, videos by timestamps).
VISUAL_DECODING = 2
TIME_TOLERANCE = 5e-4  # s: a frame this close before a due time is at it (containers round to whole ms)


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
        key = ";".join(f"{k}={values[k]}" for k in kept)
        return key if kind == "audio" else f"{key};decoding={VISUAL_DECODING}"


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

# Pillow modes by how they become uint8 RGB (image_rgb)
EIGHT_BIT_MODES = ("1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")  # Pillow's conversion
ALPHA_MODES = ("LA", "PA", "RGBA")  # straight alpha: composited on black
PREMULTIPLIED_MODES = ("La", "RGBa")  # colour already composited on black: alpha dropped
DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # one band of 16 or 32 bits: scaled
IMAGE_MODES = EIGHT_BIT_MODES + ALPHA_MODES + PREMULTIPLIED_MODES + DEEP_MODES


def _unsupported_mode(mode: str) -> str:
    return f"image mode {mode} is not supported (supported: {', '.join(IMAGE_MODES)})"


def check_image(path: Path, utterance: str) -> None:
    """The image's header decodes and states a mode `image_rgb` converts (Pillow reads the header
    only, not the pixels)."""
    image_module = require("PIL.Image", "reading frames")
    try:
        with image_module.open(path) as image:
            width, height = image.size
            mode = image.mode
    except Exception as exc:  # Pillow raises several types for unreadable files
        raise EmozslError(f"utterance {utterance}: {path}: cannot read image ({first_line(exc)})") from None
    if not width or not height:
        raise EmozslError(f"utterance {utterance}: {path}: the image is {width}x{height} pixels")
    if mode not in IMAGE_MODES:
        raise EmozslError(f"utterance {utterance}: {path}: cannot read image ({_unsupported_mode(mode)})")


def read_image(path: Path, utterance: str) -> np.ndarray:
    """An RGB uint8 image (H, W, 3), scaled from the image's real range (`image_rgb`)."""
    image_module = require("PIL.Image", "reading frames")
    try:
        with image_module.open(path) as image:
            return image_rgb(image)
    except Exception as exc:  # Pillow raises several types for unreadable files
        raise EmozslError(f"utterance {utterance}: {path}: cannot read image ({first_line(exc)})") from None


def _integer_range(image) -> int:
    """The value of white of a one-band integer image (mode I or I;16*): 2^bits - 1, or 2^(bits-1) - 1
    for signed samples, by the bit depth and sample format a TIFF declares; 65535 otherwise (16-bit
    PNG and PGM, which Pillow reads as I;16 or I, a PGM's maxval scaled to 16 bits)."""
    tags = getattr(image, "tag_v2", None)  # TIFF only
    if tags is None or 258 not in tags:
        return 65535

    def first(value):
        return int(value[0] if isinstance(value, (tuple, list)) else value)

    bits = first(tags[258])
    signed = 339 in tags and first(tags[339]) == 2
    return 2 ** (bits - signed) - 1


def _has_alpha(image) -> bool:
    """Whether some pixel may be (partly) transparent: an alpha band, or a transparent colour or
    palette entry (Pillow's has_transparency_data, which Pillow 10.0 lacks)."""
    if image.mode in ALPHA_MODES or "transparency" in image.info:
        return True
    return image.mode == "P" and image.palette is not None and image.palette.mode.endswith("A")


def image_rgb(image) -> np.ndarray:
    """A Pillow image of any mode as uint8 RGB (H, W, 3), scaled from its real range (see the
    module's notes): 8-bit modes by Pillow's conversion; 16- and 32-bit integer and float ones
    scaled to 0..255 (Pillow's own conversion clips them, so mid-grey 16-bit turns white); alpha
    composited on black. ValueError for a mode it does not know and for non-finite float values."""
    mode = image.mode
    if mode not in IMAGE_MODES:
        raise ValueError(_unsupported_mode(mode))
    if mode in DEEP_MODES:
        values = np.asarray(image).astype(np.float64)
        if mode == "F":
            if not np.isfinite(values).all():
                raise ValueError("the image holds non-finite values")
            white = 1.0 if not values.size or values.max() <= 1.0 else 255.0
        else:
            white = float(_integer_range(image))
        grey = np.clip(values / white, 0.0, 1.0) * 255.0
        transparent = image.info.get("transparency")  # a 16-bit PNG's transparent grey
        if mode != "F" and isinstance(transparent, int):
            grey[np.asarray(image) == transparent] = 0.0
        return np.repeat(np.rint(grey).astype(np.uint8)[..., None], 3, axis=2)
    if mode in PREMULTIPLIED_MODES:
        colour = np.asarray(image)[..., :-1]
        return np.ascontiguousarray(np.repeat(colour, 3, axis=2) if mode == "La" else colour)
    if _has_alpha(image):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.uint32)
        return ((rgba[..., :3] * rgba[..., 3:] + 127) // 255).astype(np.uint8)  # rounded c * a / 255
    return np.asarray(image.convert("RGB"))


def frame_files(folder: Path, utterance: str, prefix: str = "") -> list[Path]:
    """Image files of a frames folder in frame order (by the number in the name when there is one)."""
    if not folder.is_dir():
        raise EmozslError(f"utterance {utterance}: {folder}: no such frames folder")
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.name.startswith(prefix)]

    def order(path: Path):
        digits = "".join(c if c.isdigit() else " " for c in path.stem[len(prefix):]).split()
        return (int(digits[-1]) if digits else -1, path.name)

    return sorted(files, key=order)


def pick_by_time(times, interval: float, limit: int | None = None) -> tuple[list[int], int]:
    """The frames to keep of frames at presentation `times` (seconds, in order): the first frame at
    or after each multiple of `interval` from the first frame's time (TIME_TOLERANCE early counts),
    each frame once (a frame after a gap of several intervals is kept once, and the next one is due
    at the first multiple after it); at most `limit` of them, and how many more the rest would have
    given (cut)."""
    picker, kept, cut = _TimePicker(interval), [], 0
    for index, time in enumerate(times):
        if picker.due(time):
            if limit is not None and len(kept) == limit:
                cut += 1
            else:
                kept.append(index)
    return kept, cut


class _TimePicker:
    """pick_by_time's rule, one frame at a time (a video is read frame by frame)."""

    def __init__(self, interval: float):
        self.interval, self.start, self.due_at = interval, None, 0.0

    def due(self, time: float) -> bool:
        """Whether the frame at `time` is kept (and, if so, the next frame due after it)."""
        if self.start is None:
            self.start = self.due_at = time
        if time + TIME_TOLERANCE < self.due_at:
            return False
        passed = math.floor((time - self.start + TIME_TOLERANCE) / self.interval)
        self.due_at = self.start + (passed + 1) * self.interval
        return True


def sample_every(items: list, fps: float, interval: float) -> list:
    """One item per `interval` seconds from a sequence at `fps` (at least every item): item i is at
    i / fps, picked as a video's frames are (pick_by_time); every round(fps * interval)-th item when
    that product is whole."""
    return [items[i] for i in pick_by_time([i / fps for i in range(len(items))], interval)[0]]


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


def _frame_time(stated_ms: float, previous: float | None, fps: float) -> float:
    """A frame's time in seconds: the timestamp the decoder states (CAP_PROP_POS_MSEC), or, where it
    states none that follows the previous frame's (a backend without timestamps gives 0), the
    previous frame's plus one frame at the stated rate."""
    time = stated_ms / 1000.0
    if previous is None:
        return time if math.isfinite(time) else 0.0
    return time if math.isfinite(time) and time > previous else previous + 1.0 / fps


def video_frames(path: Path, utterance: str, interval: float, limit: int) -> tuple[list[np.ndarray], int]:
    """RGB uint8 frames (H, W, 3), one every `interval` seconds of a video file (OpenCV), by the
    frames' presentation timestamps (pick_by_time: variable frame rates keep the time, not the
    frame count), at most `limit`, and how many more the rest of the video would have given (cut).
    A video that decodes no frame is an error naming the utterance and file."""
    cv2 = require("cv2", "reading videos")
    with _open_video(path, utterance) as (capture, fps):
        frames, cut, picker, time = [], 0, _TimePicker(interval), None
        while capture.grab():  # only the kept frames are converted to pixels (retrieve)
            time = _frame_time(capture.get(cv2.CAP_PROP_POS_MSEC), time, fps)
            if picker.due(time):
                if len(frames) == limit:
                    cut += 1
                else:
                    ok, frame = capture.retrieve()
                    if not ok:
                        break
                    frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
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
