"""Emotion vectors from a local sentence encoder (a sentence-transformers folder or any Hugging Face
encoder; never downloaded; the `[text]` extra).

Each emotion's text (its description, label_words.py) is encoded once: the vectors are cached under
$EMOZSL_CACHE/labels/, keyed by a hash of the model folder's files and the texts, and written
atomically. Pooling follows the folder's sentence-transformers pooling config when it has one
(mean or first token), else the mean over real tokens; vectors are L2-normalised, as sentence
encoders are compared by cosine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from emozsl.errors import EmozslError, FieldError, first_line
from emozsl.extras import transformers_module
from emozsl.fileio import cache_root, folder_sha256, replacing

CACHE_FORMAT = "1"


def _model_hash(folder: Path) -> str:
    return hashlib.sha256(f"{CACHE_FORMAT}:{folder_sha256(folder)}".encode()).hexdigest()


def _pooling(folder: Path) -> str:
    """'cls' or 'mean', from a sentence-transformers folder's pooling module config (mean otherwise)."""
    modules = folder / "modules.json"
    if modules.is_file():
        for module in json.loads(modules.read_text()):
            if module.get("type", "").endswith("Pooling"):
                config = folder / module.get("path", "") / "config.json"
                if config.is_file() and json.loads(config.read_text()).get("pooling_mode_cls_token"):
                    return "cls"
    return "mean"


def encode_texts(model: str, texts: list[str]) -> np.ndarray:
    """(len(texts), hidden) unit vectors of `texts` from the encoder in folder `model` (cached)."""
    folder = Path(model)
    if not (folder / "config.json").is_file():
        raise FieldError("label_encoder", model, "not a local Hugging Face model folder (no config.json there); "
                         "models are never downloaded")
    key = hashlib.sha256((_model_hash(folder) + "\0" + "\0".join(texts)).encode()).hexdigest()[:32]
    cached = cache_root() / "labels" / f"{key}.npy"
    if cached.is_file():
        try:
            vectors = np.load(cached, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise EmozslError(f"{cached}: unreadable label-vector cache entry ({first_line(exc)}); delete it and "
                              "run again") from None
        if vectors.shape[0] == len(texts):
            return vectors
    vectors = _encode(folder, texts)
    with replacing(cached, durable=False) as tmp, open(tmp, "wb") as f:
        np.save(f, vectors)
    return vectors


def _encode(folder: Path, texts: list[str]) -> np.ndarray:
    import torch

    transformers = transformers_module("label_encoder")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        encoder = transformers.AutoModel.from_pretrained(folder, local_files_only=True).eval()
    except (OSError, ValueError) as exc:
        raise FieldError("label_encoder", str(folder), f"not a local Hugging Face model folder ({first_line(exc)[:160]})") from None
    batch = tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        hidden = encoder(**batch).last_hidden_state.float()
    if _pooling(folder) == "cls":
        pooled = hidden[:, 0]
    else:
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)
