"""Emotions as more than one word: label-word files, and the vector each emotion becomes.

A label-word file (JSON) defines each emotion by words or short phrases (its word forms and
near-synonyms) and, optionally, a one-line description:

    {"provenance": "...", "emotions": {"fear": {"words": ["fear", "afraid", "scared"],
                                                "description": "feeling threatened and expecting harm"}}}

emozsl ships one per label set (`mosei`, `iemocap`, `cherma`: embeddings/label_words_NAME.json).

With word vectors, an emotion's vector is the mean of its entries' unit vectors (a phrase's entry:
the mean of its words' unit vectors), scaled to the entries' mean norm. Unit vectors first, because
GloVe norms grow with word frequency and would let the commonest form outvote the rest; the norm
restored, because the dot-product head and the identity text space work at word-vector scale (an
emotion of one word keeps exactly its vector). An emotion given only a description is the same
combination of the description's words that the embeddings hold. A sentence encoder
(label_encoder.py) reads the description instead, or the words when there is none."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from emozsl.embeddings import close_matches
from emozsl.embeddings.shipped import shipped_path
from emozsl.errors import EmozslError, FieldError
from emozsl.fileio import read_json

LABEL_SETS = ("mosei", "iemocap", "cherma")
WORD_PATTERN = re.compile(r"[a-z]+(?:['-][a-z]+)*")


@dataclass
class LabelWords:
    source: str  # the preset name or the file
    words: dict[str, list[str]]  # emotion -> entries (words or phrases); may be empty
    descriptions: dict[str, str] = field(default_factory=dict)
    provenance: str = ""

    def text(self, emotion: str) -> str:
        """What a sentence encoder reads for `emotion`: its description, else its entries."""
        return self.descriptions.get(emotion) or ", ".join(self.words.get(emotion, [])) or emotion


def label_words_path(spec: str) -> Path:
    """A shipped label set's file (from the checkout, or installed with the package), or the file `spec`."""
    if spec in LABEL_SETS:
        return shipped_path(f"label_words_{spec}.json")
    path = Path(spec)
    if not path.is_file():
        raise FieldError("label_words", spec, f"neither a shipped label set ({', '.join(LABEL_SETS)}) nor a file")
    return path


def load_label_words(spec: str) -> LabelWords:
    """A label-word file read strictly: every emotion needs words or a description."""
    path = label_words_path(spec)
    stored = read_json(path, "label-word file")
    emotions = stored.get("emotions") if isinstance(stored, dict) else None
    if not isinstance(emotions, dict) or not emotions:
        raise EmozslError(f"{path}: expected {{\"emotions\": {{EMOTION: {{\"words\": [...], \"description\": ...}}}}}}")
    words, descriptions = {}, {}
    for emotion, entry in emotions.items():
        where = f"{path}: emotions.{emotion}"
        if not isinstance(entry, dict) or set(entry) - {"words", "description"}:
            raise EmozslError(f"{where}: expected a table with 'words' and/or 'description'")
        entries = entry.get("words", [])
        if not isinstance(entries, list) or not all(isinstance(w, str) and w.strip() for w in entries):
            raise EmozslError(f"{where}.words: must be a list of non-empty words or phrases")
        description = entry.get("description", "")
        if not isinstance(description, str):
            raise EmozslError(f"{where}.description: must be text")
        if not entries and not description.strip():
            raise EmozslError(f"{where}: give words or a description")
        words[emotion] = [" ".join(w.split()) for w in entries]
        if description.strip():
            descriptions[emotion] = description.strip()
    return LabelWords(spec, words, descriptions, str(stored.get("provenance", "")))


def combine(kv: KeyedVectors, entries: list[str], where: str) -> np.ndarray:
    """Mean of the entries' unit vectors at the entries' mean norm; a phrase is the mean of its words'."""
    vectors = []
    if len(entries) == 1 and " " not in entries[0] and entries[0] in kv.key_to_index:
        return np.asarray(kv[entries[0]], np.float32)  # one word keeps its vector exactly
    for entry in entries:
        parts = entry.split()
        missing = [w for w in parts if w not in kv.key_to_index]
        if missing:
            hint = ", ".join(close_matches(missing[0], kv.index_to_key)) or "none"
            raise EmozslError(f"{where}: no vector for '{missing[0]}' (close matches: {hint})")
        vectors.append(np.mean([_unit(kv[w]) for w in parts], axis=0) * np.mean([np.linalg.norm(kv[w]) for w in parts]))
    norm = np.mean([np.linalg.norm(v) for v in vectors])
    return (_unit(np.mean([_unit(v) for v in vectors], axis=0)) * norm).astype(np.float32)


def description_words(kv: KeyedVectors, description: str) -> list[str]:
    """The description's words that the embeddings hold (lower-cased)."""
    return [w for w in WORD_PATTERN.findall(description.lower()) if w in kv.key_to_index]


def vector_words(emotions: list[str], word_forms: dict[str, str] | None = None,
                 label_words: LabelWords | None = None) -> set[str]:
    """Every word the vectors of `emotions` can read from a word-vector file: word forms, the words
    of label-word entries and phrases, and description words (what emotion_entries may ask for)."""
    word_forms, words = word_forms or {}, set()
    for emotion in emotions:
        if label_words is None or emotion not in label_words.words:
            words.add(word_forms.get(emotion, emotion))
            continue
        words.update(w for entry in label_words.words[emotion] for w in entry.split())
        words.update(WORD_PATTERN.findall(label_words.descriptions.get(emotion, "").lower()))
    return words


def emotion_entries(kv: KeyedVectors, emotion: str, label_words: LabelWords | None, word_form: str,
                    where: str) -> list[str]:
    """The words and phrases `emotion` is made of: from the label words (its description's words
    when it has no words), else its one word form."""
    if label_words is None or emotion not in label_words.words:
        return [word_form]
    entries = label_words.words[emotion] or description_words(kv, label_words.descriptions.get(emotion, ""))
    if not entries:
        raise EmozslError(f"{where}: no word of the description of '{emotion}' has a vector; give it words")
    return entries


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


def label_vectors(kv: KeyedVectors, emotions: list[str], word_forms: dict[str, str] | None = None,
                  label_words: LabelWords | None = None, encoder: str | None = None,
                  path: str | Path = "embeddings") -> np.ndarray:
    """The (K, dim) prototype matrix of `emotions`: from the sentence encoder folder `encoder` (their
    texts), else from the word vectors in `kv` (their words; one word form each without label words)."""
    word_forms = word_forms or {}
    if encoder:
        from emozsl.label_encoder import encode_texts

        texts = [label_words.text(e) if label_words and e in label_words.words else word_forms.get(e, e)
                 for e in emotions]
        return encode_texts(encoder, texts)
    rows = []
    for emotion in emotions:
        where = str(path) if label_words is None or emotion not in label_words.words else \
            f"{path} (label words {label_words.source}, emotion '{emotion}')"
        rows.append(combine(kv, emotion_entries(kv, emotion, label_words, word_forms.get(emotion, emotion), where), where))
    return np.stack(rows)


def describe_label_words(spec: str, kv: KeyedVectors, path: str | Path = "embeddings", encoder: str | None = None,
                         k: int = 5) -> str:
    """What each emotion of a label-word set became (`emozsl embeddings show --label-words`): its
    words or text, the cosine of its vector with its name's own word vector, and the nearest words of
    the embeddings (with an encoder: the nearest other emotions, its vectors being in another space)."""
    label_words = load_label_words(spec)
    emotions = list(label_words.words)
    vectors = label_vectors(kv, emotions, None, label_words, encoder, path)
    source = f"sentence encoder {encoder}" if encoder else f"word vectors from {path}"
    lines = [f"label words {spec} ({label_words_path(spec)}): {len(emotions)} emotions, {source}",
             f"provenance: {label_words.provenance or '(none given)'}"]
    units = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for i, emotion in enumerate(emotions):
        made_of = f'"{label_words.text(emotion)}"' if encoder else \
            ", ".join(emotion_entries(kv, emotion, label_words, emotion, str(path)))
        if encoder:
            order = [j for j in np.argsort(-(units @ units[i])) if j != i][:k]
            near = ", ".join(f"{emotions[j]} {units[i] @ units[j]:.2f}" for j in order)
            lines.append(f"{emotion}: {made_of}\n    nearest emotions: {near}")
            continue
        own = f"{_unit(vectors[i]) @ _unit(kv[emotion]):.2f}" if emotion in kv.key_to_index else "-"
        near = ", ".join(f"{w} {s:.2f}" for w, s in kv.similar_by_vector(vectors[i], topn=k))
        lines.append(f"{emotion}: {made_of}\n    cosine with '{emotion}' alone {own}; nearest words: {near}")
    return "\n".join(lines)


def emotion_neighbors(kv: KeyedVectors, emotion: str, spec: str, k: int = 10,
                      path: str | Path | None = None) -> list[tuple[str, float]]:
    """The k words of `kv` closest (cosine) to the vector `emotion` has in the label-word set `spec`."""
    if k < 1:
        raise FieldError("k", k, "must be at least 1")
    label_words = load_label_words(spec)
    if emotion not in label_words.words:
        raise FieldError("emotion", emotion, f"not in label words {spec} (choices: {', '.join(label_words.words)})")
    vector = label_vectors(kv, [emotion], None, label_words, None, path or "embeddings")[0]
    return [(w, float(s)) for w, s in kv.similar_by_vector(vector, topn=k)]
