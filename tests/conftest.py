"""Fixtures that write small files in the exact real formats, independently of emozsl's writers."""

from __future__ import annotations

import contextlib
import functools
import json
import pickle
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

MOSEI_DIMS = {"text": 300, "audio": 74, "video": 35}
N_MOSEI = {"train": 40, "valid": 12, "test": 16}


def write_h5(path: Path, array, key: str = "d1") -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset(key, data=array)


def mosei_labels(rng, n: int) -> np.ndarray:
    """Intensities in [0, 3], about 40% present, every emotion present at least twice."""
    labels = np.where(rng.random((n, 6)) < 0.4, rng.choice([0.33, 1.0, 2.67], (n, 6)), 0.0)
    labels[:2] = 1.0
    return labels.astype(np.float32)


def write_mosei(folder: Path, seed: int = 0, steps: int = 20) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in N_MOSEI.items():
        write_h5(folder / f"text_{split}_emb.h5", rng.normal(size=(n, steps, 300)).astype(np.float32))
        audio = rng.normal(size=(n, steps, 74)).astype(np.float32)
        audio[0, 3, 5] = -np.inf
        write_h5(folder / f"audio_{split}.h5", audio)
        write_h5(folder / f"video_{split}.h5", rng.normal(size=(n, steps, 35)).astype(np.float32))
        write_h5(folder / f"ey_{split}.h5", mosei_labels(rng, n))
    return folder


def mult_split(rng, n: int, steps=(20, 20, 20), with_id=True, split: str = "train") -> dict:
    classes = rng.integers(0, 4, n)
    present = np.eye(4)[classes]
    part = {"text": rng.normal(size=(n, steps[0], 300)).astype(np.float32),
            "audio": rng.normal(size=(n, steps[1], 74)).astype(np.float32),
            "vision": rng.normal(size=(n, steps[2], 35)).astype(np.float32),
            "labels": np.stack([1 - present, present], -1).astype(np.float32)}
    if with_id:
        part["id"] = np.array([[f"Ses01F_{split}_{i}".encode(), b"x"] for i in range(n)], dtype=object)
    return part


def write_mult(path: Path, seed: int = 0, steps=(20, 20, 20)) -> Path:
    rng = np.random.default_rng(seed)
    data = {split: mult_split(rng, n, steps, split=split) for split, n in {"train": 30, "valid": 10, "test": 12}.items()}
    with open(path, "wb") as f:
        pickle.dump(data, f)
    return path


def write_iemocap9(folder: Path, seed: int = 0) -> Path:
    """11 one-hot columns: Other, Anger, Excited, Fear, Sad, Surprised, Frustrated, Happy, Neutral, Disgust, unknown."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in {"train": 45, "valid": 15, "test": 18}.items():
        classes = np.resize(np.arange(1, 10), n)
        arrays = {"text": rng.normal(size=(n, 21, 300)), "covarep": rng.normal(size=(n, 21, 74)),
                  "facet": rng.normal(size=(n, 21, 35)), "y": np.eye(11)[classes]}
        for name, array in arrays.items():
            with open(folder / f"{name}_{split}.p", "wb") as f:
                pickle.dump(array.astype(np.float32), f, protocol=2)
    return folder


@functools.cache
def onednn_bf16_lstm() -> bool:
    """Whether this CPU's oneDNN builds a bf16 LSTM primitive (AVX-512 BF16 or AMX; an AVX2-only CPU
    cannot: "could not create a primitive descriptor for the LSTM forward propagation primitive")."""
    lstm = torch.nn.LSTM(4, 4, batch_first=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16, cache_enabled=False):
            lstm(torch.randn(1, 2, 4))
    except RuntimeError as exc:
        if "primitive descriptor" not in str(exc):
            raise
        return False
    return True


@contextlib.contextmanager
def cpu_bf16_autocast():
    """The CPU's bf16 autocast, standing in for what `--precision bf16` runs on CUDA. Where this CPU
    has no bf16 LSTM kernel (probed, onednn_bf16_lstm) oneDNN is turned off: LSTMs then run
    torch's own CPU kernel in fp32 and every other operation still runs in bf16."""
    with contextlib.ExitStack() as stack:
        if not onednn_bf16_lstm():
            stack.enter_context(warnings.catch_warnings())  # torch warns of Intel GPUs when oneDNN is toggled
            warnings.simplefilter("ignore", UserWarning)
            stack.enter_context(torch.backends.mkldnn.flags(enabled=False))
        stack.enter_context(torch.autocast("cpu", dtype=torch.bfloat16, cache_enabled=False))
        yield


@pytest.fixture(autouse=True, scope="session")
def media_cache(tmp_path_factory):
    """Raw-media preprocessing goes to a cache of the test session, never the user's."""
    folder = tmp_path_factory.mktemp("media-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMOZSL_CACHE", str(folder))
        yield folder


@pytest.fixture(autouse=True, scope="session")
def every_core_in_process():
    """Runs inside the test process keep torch's threads: the idle-cores policy samples the load
    once, and a busy machine would otherwise add its log line to whichever command runs first (its
    own tests reset it). Subprocesses still apply it."""
    from emozsl import cputhreads

    cputhreads._chosen = torch.get_num_threads()
    yield


@pytest.fixture
def mosei_dir(tmp_path) -> Path:
    return write_mosei(tmp_path / "mosei")


@pytest.fixture(scope="session")
def synth_mosei_dir(tmp_path_factory) -> Path:
    """The generator's small MOSEI-format data, made once for the session."""
    from emozsl.data.generated.synth import write_synth

    out = tmp_path_factory.mktemp("synth") / "mosei"
    write_synth("mosei", out, size="small", seed=0)
    return out


CHERMA_CHINESE = ["愤怒", "厌恶", "恐惧", "高兴", "平静", "悲伤", "惊奇"]  # anger .. surprise


def write_cherma(folder: Path, seed: int = 0, splits=("train", "test"), dims=(8, 5, 4)) -> Path:
    """CHERMA layout: {split}.json and text/{split}/NAME.npy, audio/{split}/NAME.npy,
    visual/{split}/NAME.mp4.npy of varying lengths; labels in Chinese."""
    rng = np.random.default_rng(seed)
    for split in splits:
        examples = []
        for i in range(30):
            name = f"{split}_{i:03d}"
            for modality, dim, suffix in zip(("text", "audio", "visual"), dims, ("", "", ".mp4")):
                path = folder / modality / split / f"{name}{suffix}.npy"
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, rng.normal(size=(int(rng.integers(2, 9)), dim)).astype(np.float32))
            labels = rng.integers(0, 7, 4)
            labels[3] = i % 7  # every class present
            examples.append({"audio_file": f"{name}.wav", "video_file": f"{name}.mp4",
                             "txt_label": CHERMA_CHINESE[labels[0]], "audio_label": CHERMA_CHINESE[labels[1]],
                             "visual_label": CHERMA_CHINESE[labels[2]], "video_label": CHERMA_CHINESE[labels[3]]})
        (folder / f"{split}.json").write_text(json.dumps(examples, ensure_ascii=False), encoding="utf-8")
    return folder


def tiny_hf_model(folder: Path, words=("la", "ba", "do", "re", "mi", "fa", "so", "ti")) -> Path:
    """A tiny random BERT and its tokenizer saved as a local Hugging Face folder."""
    transformers = pytest.importorskip("transformers")
    folder.mkdir()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(words))
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    transformers.BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=64)
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    return folder
