"""Generated raw media in the pickle-free table layout (`emozsl data synth --format raw`): speech-like
wav files, 48x48 face-like frames saved as PNG images, OpenFace 2.2 CSVs of those faces and
transcripts of real English words with word timings, for training FE2E/MESM without data and for
`emozsl features extract` with standard extractors (word vectors, openSMILE, OpenFace).

How an utterance is made (the only route from labels to media):
1. labels: MOSEI's six emotions with MOSEI-like prevalence and co-occurrence (synth_labels.py), each
   split from its own random stream.
2. latent: u = sum_k intensity_k * e_k / |e_k| + noise, e_k the emotion's GloVe vector.
3. hidden random maps tanh(A u + b) B (never written anywhere), standardised, give per modality:
   - text: a direction in the space of the vocabulary's GloVe vectors; the vocabulary
     (embeddings/synth_words.txt: 210 common English words, none an emotion name or a word form of
     one) gets probabilities softmax(TEXT_SHARPNESS * each unit word vector . it / sqrt(50)), from
     which 6-12 words are drawn;
   - audio (AUDIO_PARAMETERS): F0 level, slope and range (semitones), spectral tilt, loudness level
     and its variation over words, jitter, breathiness (noise against harmonics) and the first two
     formants of a harmonic voice, spoken word by word with pauses between words;
   - visual: mouth curvature, brow slant, eye opening and cheek colour of a drawn face, rising and
     falling over the frames; the same four drive the clip's OpenFace CSV: mouth -> AU12 / AU15,
     brow -> AU01, AU02 / AU04, eyes -> AU05 / AU07, cheek -> AU06, and gaze and head pitch.
   Beside them, independent of the labels: a speaker per utterance (drawn from SPEAKERS voices and
   faces: base F0, tilt, loudness, formant shift, AU baselines, gaze and head offsets), word
   durations and pauses, skin tone, background, position, pixel and measurement noise, rows
   OpenFace "lost" (success 0, low confidence); some files are written at 22.05 kHz or in stereo,
   so resampling and mixing are exercised.
Ids, file names and row order carry no label; the vocabulary's vectors are written beside
the table (word_vectors.txt, real GloVe 6B 50d rows), and each clip's OpenFace CSV beside its audio
(media/ID.csv), where `--visual openface` looks without a folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from emozsl.data.dataset import SPLITS, MultimodalDataset, SplitData
from emozsl.data.media.decode import MediaSettings, require
from emozsl.data.media.refs import AudioRef, FramesRef, MediaColumn
from emozsl.data.readers.mosei import MOSEI_EMOTIONS
from emozsl.data.generated.labels import mosei_intensities, unit_rows
from emozsl.data.readers.utterance_table import write_raw_table
from emozsl.embeddings import load_embeddings
from emozsl.embeddings.shipped import shipped_path
from emozsl.features.openface_layout import openface_header, write_openface_csv
from emozsl.fileio import replacing
from emozsl.label_words import label_vectors

RAW_SIZES = {"small": {"train": 320, "valid": 80, "test": 240},
             "full": {"train": 3200, "valid": 800, "test": 1600}}
RATES = (16000, 16000, 16000, 22050)
VOCABULARY_FILE = "glove6b50d_synth_words.txt"  # built from synth_words.txt (embeddings/README.md)
WORD_VECTORS = "word_vectors.txt"  # its copy beside the generated table
AUDIO_PARAMETERS = ("f0_level", "f0_slope", "f0_range", "tilt", "loudness", "loudness_variation", "jitter",
                    "breathiness", "formant1", "formant2")
SPEAKERS = 12
FRAME = MediaSettings().face_size  # drawn at the crop size, so frames are used as they are
FRAME_INTERVAL = MediaSettings().frame_interval  # one frame image (and one OpenFace row) per interval
HIDDEN = 32
LATENT_NOISE = 0.08
TEXT_SHARPNESS = 18.0  # about 95 of the 210 words in play (effective number), the likeliest at 6% (median)
TOP_HARMONIC = 4500.0  # Hz: harmonics above carry little energy at any tilt drawn
FACE_LOST = 0.06  # chance that OpenFace loses the face in a row


def vocabulary_path() -> Path:
    """The shipped vectors of the generated transcripts' words (the checkout's, else the package's)."""
    return shipped_path(VOCABULARY_FILE)


def next_commands(table: Path) -> str:
    """The commands that extract standard features of a generated table and train a feature
    backbone on them (what `emozsl data synth --format raw` prints)."""
    return (f"emozsl features extract {table} feats.h5 --text words:{table.parent / WORD_VECTORS} "
            "--audio opensmile:egemaps --visual openface\n"
            "emozsl train --data feats.h5 --zsl fear --model eea")


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


def _speakers(rng: np.random.Generator) -> list[dict]:
    """Voices and faces that owe nothing to the labels."""
    return [{"f0": float(np.exp(rng.uniform(np.log(95), np.log(230)))), "tilt": rng.normal(0, 0.15),
             "gain_db": rng.normal(0, 2.5), "formants": rng.uniform(0.9, 1.12),
             "au": rng.uniform(0, 0.6, len(AU_R)), "gaze": rng.normal(0, 0.08, 2), "pose": rng.normal(0, 0.06, 3),
             "distance": rng.uniform(450, 700)} for _ in range(SPEAKERS)]


def _smooth_noise(n: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise low-passed by a moving average of `width` samples."""
    noise = np.convolve(rng.normal(0, 1, n + width), np.ones(width) / np.sqrt(width), "valid")
    return noise[:n]


def _word_sound(seconds: float, rate: int, q: dict, speaker: dict, rng: np.random.Generator) -> np.ndarray:
    """One voiced word: harmonics of an F0 contour shaped by a spectral tilt and two formants, with
    jitter, breath noise and a loudness level; q holds AUDIO_PARAMETERS squashed into -1..1."""
    n = int(seconds * rate)
    x = np.linspace(0.0, 1.0, n)
    semitones = (3.5 * q["f0_level"] + rng.normal(0, 0.7)  # the word's own level varies a little
                 + 3.0 * q["f0_slope"] * (x - 0.5) + (1.6 + 1.2 * q["f0_range"]) * np.sin(np.pi * x))
    jitter = 0.006 + 0.005 * q["jitter"]
    f0 = speaker["f0"] * 2 ** (semitones / 12) * (1 + jitter * _smooth_noise(n, max(1, rate // 1000), rng))
    # float32 harmonics of the phase taken modulo 2 pi: ten times faster, errors near 1e-6
    phase = np.mod(2 * np.pi * np.cumsum(f0) / rate, 2 * np.pi).astype(np.float32)
    k = np.arange(1, int(TOP_HARMONIC / f0.mean()) + 1)
    frequencies = k * f0.mean()
    formants = speaker["formants"] * np.array([550 + 170 * q["formant1"], 1600 + 400 * q["formant2"]])
    gain = (k ** -(1.3 + 0.55 * q["tilt"] + speaker["tilt"])
            * (1 + 3.0 * np.exp(-((frequencies - formants[0]) / 160) ** 2)
               + 2.0 * np.exp(-((frequencies - formants[1]) / 260) ** 2)))
    offsets = rng.uniform(0, 2 * np.pi, (len(k), 1)).astype(np.float32)
    voice = (gain.astype(np.float32) @ np.sin(k[:, None].astype(np.float32) * phase + offsets)).astype(np.float64)
    voice /= np.sqrt(np.mean(voice ** 2)) + 1e-9
    breath = np.diff(rng.normal(0, 1, n + 1)) / np.sqrt(2)  # white noise tilted upwards, as aspiration is
    voice = voice + 10 ** ((-22 + 9 * q["breathiness"]) / 20) * breath
    level_db = speaker["gain_db"] + 6 * q["loudness"] + rng.normal(0, 2.5 + 2.0 * q["loudness_variation"])
    fade = np.minimum(1.0, np.minimum(x, 1 - x) * seconds / 0.025)  # 25 ms onsets and offsets
    return 0.05 * 10 ** (level_db / 20) * voice * fade


def _speech(words: list[str], q: dict, speaker: dict, rng: np.random.Generator
            ) -> tuple[np.ndarray, int, list[tuple[str, float, float]]]:
    """The utterance word by word, with pauses; returns samples, rate and the word timings (s)."""
    rate = int(rng.choice(RATES))
    pieces, timings, now = [], [], rng.uniform(0.08, 0.18)
    pieces.append(np.zeros(int(now * rate)))
    for word in words:
        seconds = rng.uniform(0.12, 0.22)
        sound = _word_sound(seconds, rate, q, speaker, rng)
        timings.append((word, now, now + len(sound) / rate))
        pause = int(rng.uniform(0.02, 0.08) * rate)
        pieces += [sound, np.zeros(pause)]
        now += (len(sound) + pause) / rate
    pieces.append(np.zeros(int(rng.uniform(0.08, 0.15) * rate)))
    signal = np.concatenate(pieces)
    signal = np.clip(signal + rng.normal(0, 0.002, len(signal)), -0.99, 0.99)
    return signal.astype(np.float32), rate, timings


def _expression(params: np.ndarray, frame: int, count: int) -> np.ndarray:
    """Mouth curve, brow slant, eye opening, cheek red in -1..1 at a frame: the expression rises and falls."""
    phase = 0.6 + 0.4 * np.sin(np.pi * (frame + 0.5) / count)
    return np.tanh(params[:4] * 0.8) * phase


def _face(params: np.ndarray, frame: int, count: int, style: dict, rng: np.random.Generator) -> np.ndarray:
    """A 48x48 RGB face; params (standardised): mouth curve, brow slant, eye opening, cheek red."""
    mouth, brow, eyes, cheek = _expression(params, frame, count)
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


HEADER = openface_header()
COLUMN = {name: i for i, name in enumerate(HEADER)}
AU_R = [c for c in HEADER if c.endswith("_r")]
AU_C = [c for c in HEADER if c.endswith("_c")]
# What each expression parameter (mouth, brow, eyes, cheek) raises when positive / negative.
AU_DRIVERS = {0: (("AU12_r", 3.0),), 1: (("AU01_r", 2.2), ("AU02_r", 1.8)), 2: (("AU05_r", 2.2),),
              3: (("AU06_r", 2.5),)}
AU_DRIVERS_NEGATIVE = {0: (("AU15_r", 2.5),), 1: (("AU04_r", 2.5),), 2: (("AU07_r", 2.2),)}


def _openface_rows(params: np.ndarray, count: int, style: dict, speaker: dict, rng: np.random.Generator) -> np.ndarray:
    """(count, 714) OpenFace rows of the drawn face, one per frame image, as OpenFace would track it."""
    rows = np.zeros((count, len(HEADER)))
    for k in range(count):
        expression, row = _expression(params, k, count), rows[k]
        row[COLUMN["frame"]], row[COLUMN["timestamp"]] = k + 1, round(k * FRAME_INTERVAL, 3)
        if rng.random() < FACE_LOST:  # OpenFace writes zeros where it lost the face
            row[COLUMN["confidence"]] = round(rng.uniform(0.0, 0.3), 2)
            continue
        row[COLUMN["confidence"]], row[COLUMN["success"]] = round(rng.uniform(0.85, 0.98), 2), 1
        intensity = dict(zip(AU_R, speaker["au"] + np.abs(rng.normal(0, 0.25, len(AU_R)))))
        for index, value in enumerate(expression):
            for name, scale in (AU_DRIVERS if value > 0 else AU_DRIVERS_NEGATIVE).get(index, ()):
                intensity[name] += scale * abs(value)
        for name, value in intensity.items():
            row[COLUMN[name]] = round(float(np.clip(value, 0, 5)), 2)
        for name in AU_C:  # presence: its own classifier, agreeing with the intensity mostly
            r = intensity.get(name[:-2] + "_r", 0.0)
            present = r + rng.normal(0, 0.3) > 1.0 if name != "AU28_c" else rng.random() < 0.05  # AU28: no _r
            row[COLUMN[name]] = float(present)
        mouth, brow, eyes, cheek = expression
        gaze = speaker["gaze"] + np.array([0.06 * eyes, -0.18 * mouth]) + rng.normal(0, 0.03, 2)
        row[COLUMN["gaze_angle_x"]], row[COLUMN["gaze_angle_y"]] = gaze
        for eye, offset in (("0", 0.03), ("1", -0.03)):
            direction = np.array([np.sin(gaze[0] + offset), np.sin(gaze[1]), -np.cos(gaze[0]) * np.cos(gaze[1])])
            for axis, value in zip("xyz", direction / np.linalg.norm(direction)):
                row[COLUMN[f"gaze_{eye}_{axis}"]] = value
        pose = speaker["pose"] + np.array([-0.15 * mouth + 0.05 * brow, 0.0, 0.08 * cheek]) + rng.normal(0, 0.02, 3)
        position = (8 * style["dx"], 8 * style["dy"], speaker["distance"])  # mm, from the drawn face's place
        row[[COLUMN[c] for c in ("pose_Tx", "pose_Ty", "pose_Tz")]] = np.array(position) + rng.normal(0, [2, 2, 5])
        row[[COLUMN[c] for c in ("pose_Rx", "pose_Ry", "pose_Rz")]] = pose
        _landmarks(row, style, speaker, pose, rng)
    return rows


def _landmarks(row: np.ndarray, style: dict, speaker: dict, pose: np.ndarray, rng: np.random.Generator) -> None:
    """Plausible 2D (pixels) and 3D (mm) landmarks and shape parameters: readers of emozsl ignore
    them, but a file in the published layout has them."""
    angles = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    cx, cy = 24 + style["dx"], 25 + style["dy"]
    row[COLUMN["x_0"]:COLUMN["x_0"] + 68] = cx + 15 * np.cos(angles) + rng.normal(0, 0.3, 68)
    row[COLUMN["y_0"]:COLUMN["y_0"] + 68] = cy + 19 * np.sin(angles) + rng.normal(0, 0.3, 68)
    face_3d = (75 * np.cos(angles), 95 * np.sin(angles), speaker["distance"] + 20 * np.cos(angles))
    for axis, values in zip("XYZ", face_3d):
        row[COLUMN[f"{axis}_0"]:COLUMN[f"{axis}_0"] + 68] = values
    eye_angles = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    for axis, centre, radius in (("x", cx, 3.0), ("y", cy - 5, 1.6)):
        wave = np.cos(eye_angles) if axis == "x" else np.sin(eye_angles)
        row[COLUMN[f"eye_lmk_{axis}_0"]:COLUMN[f"eye_lmk_{axis}_0"] + 56] = np.concatenate(
            [centre - 6 * (axis == "x") + radius * wave, centre + 6 * (axis == "x") + radius * wave])
    for axis, values in zip("XYZ", (np.r_[-30 + 15 * np.cos(eye_angles), 30 + 15 * np.cos(eye_angles)],
                                    np.tile(-25 + 8 * np.sin(eye_angles), 2), np.full(56, speaker["distance"] - 10))):
        row[COLUMN[f"eye_lmk_{axis}_0"]:COLUMN[f"eye_lmk_{axis}_0"] + 56] = values
    row[[COLUMN[c] for c in ("p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty")]] = (0.15, *pose, cx, cy)
    row[COLUMN["p_0"]:COLUMN["p_0"] + 34] = rng.normal(0, 2, 34)


def synth_raw(out: str | Path, size: str = "small", seed: int = 0, embeddings: str | None = None,
              sizes: dict[str, int] | None = None) -> Path:
    """Write a generated raw data set under `out` (utterances.csv with word timings, media/ with a
    wav, a folder of frames and an OpenFace CSV per utterance, word_vectors.txt); returns the
    table. `sizes` (utterances per split) overrides `size`."""
    soundfile = require("soundfile", "writing generated audio")
    image_module = require("PIL.Image", "writing generated frames")
    out = Path(out)
    rng = np.random.default_rng(seed)
    # Each split's labels from its own stream: they depend on the seed and the split's size only,
    # not on how media are made.
    intensities = {split: mosei_intensities((sizes or RAW_SIZES[size])[split], stream)
                   for split, stream in zip(SPLITS, rng.spawn(len(SPLITS)))}
    prototypes = label_vectors(load_embeddings(embeddings), MOSEI_EMOTIONS)
    prototypes = unit_rows(prototypes)
    word_dim = prototypes.shape[1]
    words_kv = load_embeddings(vocabulary_path())
    vocabulary = list(words_kv.index_to_key)
    unit_words = unit_rows(words_kv.vectors)
    maps = {"audio": _hidden_map(word_dim, len(AUDIO_PARAMETERS), rng), "visual": _hidden_map(word_dim, 4, rng),
            "text": _hidden_map(word_dim, words_kv.vector_size, rng)}
    # Standardised with statistics of the emotions themselves, so every split shares one scale.
    reference = np.concatenate([prototypes, -prototypes, np.zeros((1, word_dim))])
    scales = {m: _standardiser(f(reference)) for m, f in maps.items()}
    speakers = _speakers(rng)
    rows, timings = [], {}
    for split in SPLITS:
        intensity = intensities[split]
        n = len(intensity)
        latent = intensity @ prototypes + rng.normal(0, LATENT_NOISE, (n, word_dim))
        params = {m: scales[m](maps[m](latent)) for m in maps}
        for i in range(n):
            uid = f"{split}_{i:05d}"
            speaker = speakers[rng.integers(SPEAKERS)]
            # words whose vectors point along the text map's direction are likelier
            logits = TEXT_SHARPNESS * unit_words @ np.tanh(0.8 * params["text"][i]) / np.sqrt(words_kv.vector_size)
            probabilities = np.exp(logits - logits.max())
            words = list(rng.choice(vocabulary, size=rng.integers(6, 13), p=probabilities / probabilities.sum()))
            q = dict(zip(AUDIO_PARAMETERS, np.tanh(0.8 * params["audio"][i])))
            audio, rate, timed = _speech(words, q, speaker, rng)
            if rng.random() < 0.15:
                audio = np.stack([audio, audio * rng.uniform(0.7, 1.0)], axis=1)
            audio_path = out / "media" / f"{uid}.wav"
            with replacing(audio_path, durable=False) as tmp:
                soundfile.write(str(tmp), audio, rate, format="WAV", subtype="PCM_16")
            count = int(np.ceil(len(audio) / rate / FRAME_INTERVAL))  # frames to the audio's end: every word has one
            style = {"dx": rng.uniform(-3, 3), "dy": rng.uniform(-2, 2),
                     "skin": rng.uniform([170, 120, 95], [230, 175, 150]),
                     "background": rng.uniform(20, 120, 3)}
            frames_dir = out / "media" / uid
            for k in range(count):
                with replacing(frames_dir / f"frame_{k:03d}.png", durable=False) as tmp:
                    image_module.fromarray(_face(params["visual"][i], k, count, style, rng)).save(tmp, format="PNG")
            write_openface_csv(out / "media" / f"{uid}.csv", _openface_rows(params["visual"][i], count, style, speaker,
                                                                           rng), durable=False)
            timings[uid] = ";".join(f"{w} {start:.3f} {end:.3f}" for w, start, end in timed)
            rows.append((uid, split, " ".join(words), audio_path, frames_dir))
    with replacing(out / WORD_VECTORS, durable=False) as tmp:
        shutil.copyfile(vocabulary_path(), tmp)
    return _write_table(out, rows, timings, intensities)


def _write_table(out: Path, rows: list[tuple], timings: dict[str, str], intensities: dict[str, np.ndarray]) -> Path:
    splits = {}
    for split in SPLITS:
        part = [r for r in rows if r[1] == split]  # in the split's order, as its intensities
        labels = (intensities[split] > 0).astype(np.float32)
        features = {"text": MediaColumn("text", [r[2] for r in part]),
                    "audio": MediaColumn("audio", [AudioRef(str(r[3])) for r in part]),
                    "visual": MediaColumn("visual", [FramesRef(str(r[4])) for r in part])}
        splits[split] = SplitData(features, labels, np.array([r[0] for r in part]))
    dataset = MultimodalDataset("raw", list(MOSEI_EMOTIONS), splits, str(out))
    return write_raw_table(dataset, out / "utterances.csv", timings)
