"""Generated raw media in the pickle-free table layout (`emozsl data synth --format raw`): wav files,
48x48 face-like frames saved as PNG images, and transcripts, for training FE2E/MESM without data.

How an utterance is made (the only route from labels to media):
1. labels: MOSEI's six emotions with MOSEI-like prevalence and co-occurrence (synth.py).
2. latent: u = sum_k intensity_k * e_k / |e_k| + noise, e_k the emotion's GloVe vector.
3. hidden random maps tanh(A u + b) B (never written anywhere) give, per modality:
   - audio: the loudness of 16 partials spread on the mel scale (a spectral envelope) and the rate
     of an amplitude tremolo; plus a random pitch offset, gain, noise and length per utterance;
     some files are written at 22.05 kHz or in stereo, so resampling and mixing are exercised;
   - frames: mouth curvature, brow slant, eye opening and cheek colour of a drawn face, varying
     over the frames; plus random skin tone, background, position and pixel noise;
   - text: the word probabilities over a vocabulary of 160 made-up words (none an English emotion
     word), from which 6-12 words are drawn.
Ids, file names and row order carry no label.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emozsl.data.dataset import SPLITS, MultimodalDataset, SplitData
from emozsl.data.media import MediaSettings, require
from emozsl.data.media_refs import AudioRef, FramesRef, MediaColumn
from emozsl.data.mosei import MOSEI_EMOTIONS
from emozsl.data.synth_labels import mosei_intensities
from emozsl.data.utterance_table import write_raw_table
from emozsl.embeddings import load_embeddings
from emozsl.fileio import replacing
from emozsl.label_words import label_vectors

RAW_SIZES = {"small": {"train": 320, "valid": 80, "test": 240},
             "full": {"train": 3200, "valid": 800, "test": 1600}}
RATES = (16000, 16000, 16000, 22050)
PARTIALS = np.geomspace(180.0, 5200.0, 16)
VOCABULARY_SIZE = 160
FRAME = MediaSettings().face_size  # drawn at the crop size, so frames are used as they are
HIDDEN = 32
LATENT_NOISE = 0.08


def _hidden_map(word_dim: int, out: int, rng: np.random.Generator):
    a = rng.normal(0, 1.5 / np.sqrt(word_dim), (word_dim, HIDDEN))
    b = rng.normal(0, 0.3, HIDDEN)
    w = rng.normal(0, 1 / np.sqrt(HIDDEN), (HIDDEN, out))

    def apply(u: np.ndarray) -> np.ndarray:
        return np.tanh(u @ a + b) @ w

    return apply


def _standardiser(values: np.ndarray):
    mean, std = values.mean(0), values.std(0) + 1e-9
    return lambda v: (v - mean) / std


def _vocabulary(rng: np.random.Generator) -> list[str]:
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words = set()
    while len(words) < VOCABULARY_SIZE:
        syllables = rng.integers(2, 4)
        words.add("".join(rng.choice(list(consonants)) + rng.choice(list(vowels)) for _ in range(syllables)))
    return sorted(words)


def _audio(params: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """params: 16 partial loudnesses (standardised) and a tremolo rate."""
    rate = int(rng.choice(RATES))
    seconds = rng.uniform(1.6, 2.8)
    t = np.arange(int(seconds * rate)) / rate
    shift = rng.uniform(0.94, 1.06)
    amplitudes = np.exp(0.9 * params[:16])
    signal = sum(a * np.sin(2 * np.pi * f * shift * t + rng.uniform(0, 2 * np.pi))
                 for a, f in zip(amplitudes, PARTIALS))
    tremolo = 1.0 + 0.5 * np.sin(2 * np.pi * (4.0 + 2.0 * np.tanh(params[16])) * t)
    envelope = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.05)  # 50 ms fades
    signal = signal * tremolo * envelope
    signal = signal / (np.abs(signal).max() + 1e-9) * rng.uniform(0.2, 0.6)
    signal = signal + rng.normal(0, 0.01, len(signal))
    return signal.astype(np.float32), rate


def _face(params: np.ndarray, frame: int, count: int, style: dict, rng: np.random.Generator) -> np.ndarray:
    """A 48x48 RGB face; params (standardised): mouth curve, brow slant, eye opening, cheek red."""
    phase = 0.6 + 0.4 * np.sin(np.pi * (frame + 0.5) / count)  # the expression rises and falls
    mouth, brow, eyes, cheek = np.tanh(params[:4] * 0.8) * phase
    y, x = np.mgrid[0:FRAME, 0:FRAME].astype(float)
    cx, cy = 24 + style["dx"] + rng.normal(0, 0.4), 25 + style["dy"] + rng.normal(0, 0.4)
    image = np.ones((FRAME, FRAME, 3)) * style["background"]
    face = ((x - cx) / 15) ** 2 + ((y - cy) / 19) ** 2 <= 1
    skin = style["skin"] + np.array([40.0, -10, -10]) * cheek
    image[face] = skin
    for side in (-1, 1):
        eye = ((x - cx - 6 * side) / 3) ** 2 + ((y - cy + 5) / (1.6 + 1.2 * eyes)) ** 2 <= 1
        image[eye] = (30, 30, 40)
        brow_y = cy - 10 + side * 2.0 * brow * (x - cx - 6 * side) / 4
        brow_line = (np.abs(y - brow_y) < 0.9) & (np.abs(x - cx - 6 * side) < 4)
        image[brow_line] = (60, 40, 30)
    mouth_y = cy + 9 - 4.0 * mouth * (1 - ((x - cx) / 7) ** 2)
    image[(np.abs(y - mouth_y) < 1.0) & (np.abs(x - cx) < 7)] = (150, 40, 50)
    image = image + rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def synth_raw(out: str | Path, size: str = "small", seed: int = 0, embeddings: str | None = None,
              sizes: dict[str, int] | None = None) -> Path:
    """Write a generated raw data set under `out` (utterances.csv and media/); returns the table.
    `sizes` (utterances per split) overrides `size`."""
    soundfile = require("soundfile", "writing generated audio")
    image_module = require("PIL.Image", "writing generated frames")
    out = Path(out)
    rng = np.random.default_rng(seed)
    prototypes = label_vectors(load_embeddings(embeddings), MOSEI_EMOTIONS)
    prototypes = prototypes / np.linalg.norm(prototypes, axis=1, keepdims=True)
    word_dim = prototypes.shape[1]
    maps = {"audio": _hidden_map(word_dim, 17, rng), "visual": _hidden_map(word_dim, 4, rng),
            "text": _hidden_map(word_dim, VOCABULARY_SIZE, rng)}
    # Standardised with statistics of the emotions themselves, so every split shares one scale.
    reference = np.concatenate([prototypes, -prototypes, np.zeros((1, word_dim))])
    scales = {m: _standardiser(f(reference)) for m, f in maps.items()}
    vocabulary = _vocabulary(np.random.default_rng(1234))
    rows = []
    for split in SPLITS:
        n = (sizes or RAW_SIZES[size])[split]
        intensity = mosei_intensities(n, rng)
        latent = intensity @ prototypes + rng.normal(0, LATENT_NOISE, (n, word_dim))
        params = {m: scales[m](maps[m](latent)) for m in maps}
        for i in range(n):
            uid = f"{split}_{i:05d}"
            audio, rate = _audio(params["audio"][i], rng)
            if rng.random() < 0.15:
                audio = np.stack([audio, audio * rng.uniform(0.7, 1.0)], axis=1)
            audio_path = out / "media" / f"{uid}.wav"
            with replacing(audio_path, durable=False) as tmp:
                soundfile.write(str(tmp), audio, rate, format="WAV", subtype="PCM_16")
            count = max(1, int(len(audio) / rate / 0.5))
            style = {"dx": rng.uniform(-3, 3), "dy": rng.uniform(-2, 2),
                     "skin": rng.uniform([170, 120, 95], [230, 175, 150]),
                     "background": rng.uniform(20, 120, 3)}
            frames_dir = out / "media" / uid
            for k in range(count):
                with replacing(frames_dir / f"frame_{k:03d}.png", durable=False) as tmp:
                    image_module.fromarray(_face(params["visual"][i], k, count, style, rng)).save(tmp, format="PNG")
            logits = 1.0 * params["text"][i]
            probabilities = np.exp(logits - logits.max())
            words = rng.choice(vocabulary, size=rng.integers(6, 13), p=probabilities / probabilities.sum())
            names = ";".join(e for e, v in zip(MOSEI_EMOTIONS, intensity[i]) if v > 0)
            rows.append((uid, split, " ".join(words), audio_path, frames_dir, names))
    return _write_table(out, rows)


def _write_table(out: Path, rows: list[tuple]) -> Path:
    splits = {}
    for split in SPLITS:
        part = [r for r in rows if r[1] == split]
        labels = np.array([[float(e in r[5].split(";")) for e in MOSEI_EMOTIONS] for r in part], np.float32)
        features = {"text": MediaColumn("text", [r[2] for r in part]),
                    "audio": MediaColumn("audio", [AudioRef(str(r[3])) for r in part]),
                    "visual": MediaColumn("visual", [FramesRef(str(r[4])) for r in part])}
        splits[split] = SplitData(features, labels, np.array([r[0] for r in part]))
    dataset = MultimodalDataset("raw", list(MOSEI_EMOTIONS), splits, str(out))
    return write_raw_table(dataset, out / "utterances.csv")
