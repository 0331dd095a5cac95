"""Using a finished run: probabilities of any emotion words for any data emozsl reads, labelled or
not (`emozsl predict`, and `Predictor` for notebooks and services).

A run folder is all that is needed: its config, checkpoint, emotion vectors and calibration
reference (reference.py). An emotion is scored through its vector alone, so the emotions asked for
may be the run's own or any words: a word the run never saw is looked up in the run's word-vector
file, else in a larger file (`vectors`) that is accepted only once it gives back the run's own
emotion vectors (the same space). Each emotion the run did not train on gets a calibrated
probability beside the raw one, fitted on the run's reference (its validation inputs, stored at
training), never on the scored data: it depends only on the run and that emotion.

Scoring streams: feature rows go through in chunks of CHUNK_ROWS, clips in chunks of CHUNK_CLIPS
(decoded into the media cache, or a temporary one), and each chunk's rows are handed on (to a file,
written as they come) before the next is read. A clip that cannot be decoded is named in the
`error` column and the others are still scored (unless `strict`). When the data label any of the
asked emotions, their per-emotion table is made too (`eval` is that case on a run's test split)."""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from emozsl import __version__
from emozsl.calibration import CALIBRATIONS, Calibration
from emozsl.config import DEFAULTS, PredictSettings, defaults
from emozsl.data import SplitData, load_dataset
from emozsl.data.dataset import MultimodalDataset
from emozsl.data.media.decode import MediaSettings
from emozsl.data.media.cache import media_faults, prepare_split
from emozsl.embeddings import close_matches, load_embeddings
from emozsl.errors import EmozslError, FieldError, check_choice, first_line
from emozsl.fileio import file_sha256, replacing, write_json
from emozsl.label_words import LabelWords, combine, load_label_words
from emozsl.metrics import EvalResult
from emozsl.models import get_backbone
from emozsl.reference import CalibrationReference, capture_reference, run_reference
from emozsl.runs import CHECKPOINT_FILE, CONFIG_FILE, REFERENCE_FILE, RunDir
from emozsl.scoring import predict_logits, score_calibrated
from emozsl.session import (
    check_vectors,
    emotion_model,
    resident_inputs,
    resolve_device,
    run_embeddings,
    streamed_inputs,
    word_vectors,
)

log = logging.getLogger("emozsl")
PREDICT = defaults(PredictSettings)
CHUNK_ROWS = 4096  # feature rows scored at a time: memory stays flat in the number of utterances
CHUNK_CLIPS = 256  # clips decoded and scored at a time
SAME_SPACE_COSINE = 0.999  # another file's vector of a run emotion must point the same way ...
SAME_SPACE_NORM = 0.01  # ... at the same length (relative), to be the run's space
RESERVED = ("id", "split", "top", "error")
CALIBRATION_SOURCE = ("the run's reference.pt: the trained backbone's representations of its validation inputs, "
                      "stored at training; never the scored data or their labels")


@dataclass
class EmotionSet:
    """The emotions scored: names (output columns, and the label names matched in the data), their
    (K, word_dim) vectors, where each vector came from, and each one's status relative to the run
    (seen, unseen or low-resource)."""
    names: list[str]
    vectors: torch.Tensor
    sources: list[str]
    status: list[str]

    @property
    def unseen(self) -> list[str]:
        return [n for n, s in zip(self.names, self.status) if s == "unseen"]

    @property
    def low_resource(self) -> list[str]:
        return [n for n, s in zip(self.names, self.status) if s == "low-resource"]

    def describe(self) -> list[dict]:
        return [{"emotion": n, "status": s, "source": src} for n, s, src in zip(self.names, self.status, self.sources)]


@dataclass
class Prediction:
    """What a prediction gave: its rows (None when they went to a file), the per-split table of the
    asked emotions the data label, the output files, and counts."""
    frame: pd.DataFrame | None
    results: dict[str, EvalResult] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    errors: int = 0
    calibration: str = "none"
    emotions: list[dict] = field(default_factory=list)  # EmotionSet.describe()
    unlabelled: list[str] = field(default_factory=list)  # asked emotions labelled data do not label (not in tables)


def parse_emotions(text: str | list[str] | None) -> list[tuple[str, list[str] | None]]:
    """`--emotions` items: NAME (its own word, or the run's emotion of that name), NAME=WORD or
    NAME=WORD1+WORD2 (the vector of that word, or the combination of those words; label_words.combine).
    Each name once. Errors: FieldError on `emotions`."""
    items = text.split(",") if isinstance(text, str) else list(text or [])
    if text is not None and not any(str(i).strip() for i in items):
        raise FieldError("emotions", text, "names no emotion (leave it out for the run's own)")
    out, names = [], []
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, sep, words = item.partition("=")
        name = name.strip().lower()
        entries = [w.strip().lower() for w in words.split("+")] if sep else None
        if not name or (entries is not None and not all(entries)):
            raise FieldError("emotions", item, "expected NAME, NAME=WORD or NAME=WORD1+WORD2")
        if name in RESERVED:
            raise FieldError("emotions", item, f"'{name}' names an output column; call the emotion otherwise")
        if name in names:
            raise FieldError("emotions", name, "given more than once")
        names.append(name)
        out.append((name, entries))
    return out


class Predictor:
    """A finished run ready to score: load with `Predictor.load(RUN_DIR)`. Needs the run folder
    only (and, for words the run never saw, a word-vector file); never the training data."""

    def __init__(self, run: RunDir, device: str = DEFAULTS.device):
        self.run = run
        config = run.read_config()
        self.device = resolve_device(device)
        self.config = dataclasses.replace(config, device=str(self.device), precision="fp32", compile=False)
        self.metadata = run.read_metadata()
        self.low_resource = list(run.read_manifest().get("low_resource", []))
        recorded = self.metadata.embeddings.get("vectors")
        try:  # the run's word-vector file, its sha256 checked once: new words are looked up there
            self.embeddings: Path | None = run_embeddings(self.config.embeddings, self.metadata)
        except EmozslError as exc:  # a run folder moved without its word-vector file: its recorded vectors
            if recorded is None or "not found" not in str(exc):
                raise
            self.embeddings = None
        if self.embeddings is not None:  # the vectors the run's files give now must be those it was trained with
            vectors = word_vectors(self.config, self.embeddings, self.metadata.emotions, torch.device("cpu"))
            check_vectors(vectors, self.metadata.emotions, self.metadata)
        else:
            vectors = torch.tensor(recorded, dtype=torch.float32)
        self.run_vectors = vectors.to(self.device)  # (K_run, word_dim) of metadata.emotions
        self.model = emotion_model(self.config, self.metadata.input_dims, self.train_vectors)
        run.load_checkpoint(self.model)
        self.model.eval()
        self.reference = run_reference(run)

    @classmethod
    def load(cls, run_dir: str | Path, device: str = DEFAULTS.device) -> Predictor:
        """The finished run at `run_dir` on `device` (auto: CUDA when present). Errors: EmozslError
        naming the run's file at fault."""
        return cls(RunDir.open(run_dir), device)

    # ------------------------------------------------------------ the run
    @property
    def emotions(self) -> list[str]:
        """The run's emotions (those its data labelled)."""
        return list(self.metadata.emotions)

    @property
    def train_emotions(self) -> list[str]:
        return list(self.metadata.train_emotions)

    @property
    def unseen(self) -> list[str]:
        return list(self.metadata.unseen)

    @property
    def train_vectors(self) -> torch.Tensor:
        return self.run_vectors[[self.metadata.emotions.index(e) for e in self.metadata.train_emotions]]

    @property
    def kind(self) -> str:
        """'features' or 'raw': what the run's backbone reads."""
        return get_backbone(self.config.model).inputs

    # ------------------------------------------------------------ emotions
    def emotion_set(self, emotions: str | list[str] | None = None, *, vectors: str | Path | None = None,
                    label_words: str | None = None, words: dict[str, str] | None = None) -> EmotionSet:
        """The emotions to score (parse_emotions' items; default the run's own). A run emotion asked
        by its name keeps the run's vector. Any other is made from its words (NAME=WORDS, else the
        label-word set `label_words` or the run's, else its name) looked up in the run's word-vector
        file, then in `vectors`; with a run trained on a sentence encoder, encoded by the same
        encoder. An emotion whose vector is a trained emotion's counts as seen."""
        specs = parse_emotions(emotions) or [(e, None) for e in self.emotions]
        for name, word in (words or {}).items():  # word forms (--word NAME=WORD), as training takes them
            if any(n == name and e is not None for n, e in specs):
                raise FieldError("emotions", name, "has words in --emotions and in --word; give them once")
        specs = [(n, [words[n].strip().lower()] if e is None and n in (words or {}) else e) for n, e in specs]
        words = load_label_words(label_words) if label_words else (
            load_label_words(self.config.label_words) if self.config.label_words else None)
        new = [(n, e) for n, e in specs if e is not None or n not in self.emotions]
        made = dict(zip([n for n, _ in new], self._new_vectors(new, words, vectors))) if new else {}
        names, rows, sources, status = [], [], [], []
        for name, _ in specs:
            if name in made:
                vector, source = made[name]
            else:
                vector, source = self.run_vectors[self.emotions.index(name)], "the run's emotion"
            names.append(name)
            rows.append(vector.to(self.device))
            sources.append(source)
            status.append(self._status(name, vector.to(self.device)))
        return EmotionSet(names, torch.stack(rows).float(), sources, status)

    def _status(self, name: str, vector: torch.Tensor) -> str:
        trained = [e for e, v in zip(self.train_emotions, self.train_vectors) if e == name
                   or torch.allclose(v, vector, rtol=1e-4, atol=1e-6)]
        if not trained:
            return "unseen"
        return "low-resource" if trained[0] in self.low_resource else "seen"

    def _new_vectors(self, specs: list[tuple[str, list[str] | None]], words: LabelWords | None,
                     extra: str | Path | None) -> list[tuple[torch.Tensor, str]]:
        """Vectors of emotions the run does not hold, with their sources."""
        entries = {}
        for name, given in specs:
            if given is not None:
                entries[name] = given
            elif words is not None and words.words.get(name):
                entries[name] = words.words[name]
            else:
                entries[name] = [name]
        if self.config.label_encoder:
            from emozsl.label_encoder import encode_texts

            texts = [words.text(n) if given is None and words is not None and n in words.words else ", ".join(entries[n])
                     for n, given in specs]
            encoded = torch.from_numpy(encode_texts(self.config.label_encoder, texts))
            return [(v, f"sentence encoder {self.config.label_encoder}") for v in encoded]
        needed = {w for e in entries.values() for entry in e for w in entry.split()}
        sources = []
        if self.embeddings is not None:
            sources.append((self.embeddings, load_embeddings(self.embeddings, needed)))
        else:  # a run folder moved without its word-vector file: only `extra` then
            log.info("the run's word-vector file %s is not at hand", self.metadata.embeddings["path"])
        if extra is not None:
            extra = Path(extra)
            if not extra.is_file():
                raise FieldError("vectors", str(extra), "no such file")
            missing = {w for w in needed if not any(w in kv.key_to_index for _, kv in sources)}
            self._check_space(extra)
            if missing:
                sources.append((extra, load_embeddings(extra, missing)))
        out = []
        for name, _ in specs:
            parts = {w for entry in entries[name] for w in entry.split()}
            found = next(((path, kv) for path, kv in sources if parts <= set(kv.key_to_index)), None)
            if found is None:
                out.append(self._missing_word(name, parts, sources, extra))
                continue
            path, kv = found
            vector = combine(kv, entries[name], f"{path} (emotion '{name}')")
            described = "+".join(entries[name])
            out.append((torch.tensor(vector), f"{path.name} ({described})"))
        return out

    def _missing_word(self, name: str, parts: set[str], sources: list, extra) -> None:
        """Raise: a word of `name` is in no source; with close matches from the sources' words."""
        word = sorted(w for w in parts if not any(w in kv.key_to_index for _, kv in sources))[0]
        listed = ", ".join(str(p) for p, _ in sources) or "no word-vector file (the run's is not at hand)"
        vocabulary = set()
        for path, _ in sources:
            vocabulary |= set(load_embeddings(path).index_to_key) if path.stat().st_size < (64 << 20) else set()
        close = close_matches(word, vocabulary)
        hint = f" (close matches: {', '.join(close)})" if close else ""
        more = "" if extra is not None else "; for a word the file lacks, pass a larger word-vector file with --vectors"
        raise FieldError("emotions", name, f"no vector for '{word}' in {listed}{hint}{more}")

    def _check_space(self, path: Path) -> None:
        """`path` must give back the run's own emotion vectors (compared, not trusted by name)."""
        try:
            vectors = word_vectors(self.config, path, self.emotions, torch.device("cpu")).numpy()
        except EmozslError as exc:
            raise FieldError("vectors", str(path), f"cannot give the run's own emotion vectors, so it cannot be "
                             f"checked to be the space the run was trained in ({first_line(exc)})") from None
        recorded = self.run_vectors.cpu().numpy()
        if vectors.shape != recorded.shape:
            raise FieldError("vectors", str(path), f"holds {vectors.shape[1]}-d vectors; the run's are "
                             f"{recorded.shape[1]}-d (another word-vector space)")
        norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(recorded, axis=1)
        cosine = (vectors * recorded).sum(1) / np.maximum(norms, 1e-12)
        length = np.abs(np.linalg.norm(vectors, axis=1) / np.maximum(np.linalg.norm(recorded, axis=1), 1e-12) - 1)
        worst = int(np.argmin(cosine - length))
        if cosine[worst] < SAME_SPACE_COSINE or length[worst] > SAME_SPACE_NORM:
            raise FieldError("vectors", str(path), f"is another word-vector space: its '{self.emotions[worst]}' has "
                             f"cosine {cosine[worst]:.3f} with the run's (length off by {length[worst]:.1%}); give "
                             "the file the run's vectors came from, or a larger file of the same vectors")

    # ------------------------------------------------------------ calibration
    def calibration(self, emotions: EmotionSet, method: str | None = None) -> Calibration | None:
        """The calibration of `emotions` (`method`, default the run's), fitted on the run's
        reference; None when nothing is moved (no unseen emotion, method none, or a run trained
        before emozsl kept a reference: then only raw probabilities are given)."""
        method = check_choice("calibration", method or self.config.calibration, CALIBRATIONS)
        unseen = np.array([s == "unseen" for s in emotions.status])
        if method == "none" or not unseen.any():
            return None
        if self.reference is None:
            log.warning("%s keeps no calibration reference (trained before emozsl kept one): unseen emotions get raw "
                        "probabilities only; retrain to have calibrated ones", self.run.path)
            return None
        return self.reference.fit(method, self.model.head, emotions.vectors, unseen, self.train_vectors,
                                  self.config.threshold)

    # ------------------------------------------------------------ data
    def check_fits(self, data: MultimodalDataset) -> None:
        """What the run reads (modalities, feature sizes, raw media or features) against what `data`
        hold; one line naming both sides."""
        where = data.source or data.name
        if data.kind != self.kind:
            kinds = {"raw": "raw media", "features": "pre-extracted features"}
            hint = ("; make them with `emozsl features extract` (a run trained on such features extracts new clips "
                    "itself)") if data.kind == "raw" else ""
            raise EmozslError(f"{where} holds {kinds[data.kind]}; the run {self.run.path} ({self.config.model}) reads "
                              f"{kinds[self.kind]}{hint}")
        needed = {m: self.metadata.input_dims[m] for m in self.config.modalities if m in self.metadata.input_dims}
        have = data.input_dims()
        if self.kind == "raw":
            missing = [m for m in needed if m not in have]
            if missing:
                raise EmozslError(f"{where} holds {', '.join(have) or 'no modality'}; the run {self.run.path} reads "
                                  f"{', '.join(needed)} (no {', '.join(missing)} in the data)")
            return
        if any(have.get(m) != d for m, d in needed.items()):
            def sizes(dims):
                return ", ".join(f"{m} {d}" for m, d in dims.items())
            raise EmozslError(f"{where} holds {sizes(have)}; the run {self.run.path} reads {sizes(needed)}")

    def _logits(self, part: SplitData, emotions: EmotionSet) -> torch.Tensor:
        inputs = resident_inputs(self.config, self._own_modalities(part), self.device)
        return predict_logits(self.model, inputs, emotions.vectors)

    def _own_modalities(self, part: SplitData) -> SplitData:
        """`part` with the modalities the run reads only."""
        return dataclasses.replace(part, features={m: part.features[m] for m in self.config.modalities
                                                   if m in part.features})

    def capture_reference(self, part: SplitData, emotions: list[str]) -> CalibrationReference:
        """A calibration reference made from a labelled split (`part`, its label columns named by
        `emotions`): for a run trained before emozsl stored one, from its validation split."""
        part = self._own_modalities(part)
        if self.kind == "raw":
            inputs = streamed_inputs(self.config, self._prepare(part, np.arange(len(part)), "valid"), self.model,
                                     self.device)
        else:
            inputs = resident_inputs(self.config, part, self.device)
        labels = torch.from_numpy(part.presence[:, [emotions.index(e) for e in self.train_emotions]].astype(np.float32))
        return capture_reference(self.model, inputs, labels.to(self.device))

    def _prepare(self, part: SplitData, rows, name: str, cache: Path | None = None):
        """`rows` of a raw split decoded into the media cache (`cache`: another root) and tokenised,
        with the run's media settings and tokenizer (media_cache.prepare_split)."""
        return prepare_split(part.subset(np.asarray(rows, int)), self._media_settings, self.model.backbone.tokenize,
                             name, cache)

    @property
    def _media_settings(self) -> MediaSettings:
        return MediaSettings(**self.model.backbone.media_settings())

    def _raw_logits(self, part: SplitData, emotions: EmotionSet, strict: bool, cache: Path | None,
                    name: str) -> tuple[torch.Tensor, dict[int, str]]:
        """Logits of a chunk of clips (NaN rows for clips that failed) and each failed clip's fault."""
        part = self._own_modalities(part)
        features = part.features
        faults = {i: "; ".join(f) for i, f in media_faults(part, self._media_settings, cache)[0].items()}
        if "text" in features:
            for i, text in enumerate(features["text"].items):
                if not str(text).strip():
                    faults[i] = "; ".join(filter(None, [faults.get(i), f"utterance {part.ids[i]}: no transcript"]))
        logits = torch.full((len(part), len(emotions.names)), float("nan"), device=self.device)
        good = [i for i in range(len(part)) if i not in faults]
        if strict and faults:
            raise EmozslError(next(iter(faults.values())))
        prepared = None
        try:
            prepared = self._prepare(part, good, name, cache) if good else None
        except EmozslError as exc:  # a clip whose header passed but whose contents do not decode: find it
            if strict:
                raise
            log.info("a clip failed to decode (%s); decoding the chunk's clips one by one", first_line(exc))
        if prepared is None and good:
            kept = []
            for i in good:
                try:
                    self._prepare(part, [i], name, cache)
                    kept.append(i)
                except EmozslError as exc:
                    faults[i] = first_line(exc)
            good = kept
            prepared = self._prepare(part, good, name, cache) if good else None  # from the cache now
        if prepared is not None:
            inputs = streamed_inputs(self.config, prepared, self.model, self.device)
            logits[torch.tensor(good, device=self.device)] = predict_logits(self.model, inputs, emotions.vectors)
        return logits, faults

    def iter_scores(self, data: MultimodalDataset, emotions: EmotionSet, *, split: str | None = None,
                    calibration: Calibration | None = None, top: int = PREDICT.top, strict: bool = False,
                    cache: bool = True, error_column: bool = False
                    ) -> Iterator[tuple[pd.DataFrame, str, torch.Tensor, np.ndarray | None]]:
        """Chunk by chunk: the rows (rows_frame), the split, the chunk's logits (N, K) and, when the
        data label any asked emotion, the labels of the asked emotions ((N, K), NaN where the data
        do not label one). `error_column`: rows carry `error` (always for clips; for features made
        from clips, whose failed clips come as rows of their own)."""
        self.check_fits(data)
        names = [split] if split else list(data.splits)
        unknown = [s for s in names if s not in data.splits]
        if unknown:
            raise FieldError("split", unknown[0], f"not a split of {data.source or data.name} (splits: "
                             f"{', '.join(data.splits)})")
        labelled = [data.emotions.index(n) if n in data.emotions else None for n in emotions.names]
        chunk = CHUNK_CLIPS if self.kind == "raw" else CHUNK_ROWS
        total = sum(len(data.splits[s]) for s in names)
        with tempfile.TemporaryDirectory(prefix="emozsl-media-") as scratch, \
                tqdm(total=total, desc="scoring", unit="utterance", leave=False, disable=None) as bar:
            root = None if cache else Path(scratch)
            for name in names:
                part_all = data.splits[name]
                for start in range(0, len(part_all), chunk):
                    part = part_all.subset(np.arange(start, min(start + chunk, len(part_all))))
                    faults = {}
                    if self.kind == "raw":
                        logits, faults = self._raw_logits(part, emotions, strict, root, name)
                        for fault in faults.values():
                            log.warning("%s", fault)
                    else:
                        logits = self._logits(part, emotions)
                    labels = None
                    if any(c is not None for c in labelled):
                        labels = np.full((len(part), len(labelled)), np.nan, dtype=np.float32)
                        for k, c in enumerate(labelled):
                            if c is not None:
                                labels[:, k] = part.labels[:, c]
                    frame = rows_frame(part.ids, name if data.has_splits else None, logits, emotions, calibration,
                                       top, faults if self.kind == "raw" or error_column else None)
                    bar.update(len(part))
                    yield frame, name, logits, labels

    # ------------------------------------------------------------ whole predictions
    def predict(self, data: str | Path | MultimodalDataset | dict, emotions: str | list[str] | None = None, *,
                split: str | None = None, vectors: str | Path | None = None, label_words: str | None = None,
                words: dict[str, str] | None = None, calibration: str | None = None, top: int = PREDICT.top,
                strict: bool = False, cache: bool = True, ids: list[str] | None = None, trust_pickle: bool = False,
                impute: str = DEFAULTS.impute) -> pd.DataFrame:
        """One row per utterance of `data` (a path emozsl reads, labelled or not; a data set; or a
        mapping modality -> (N, T, D) float32 arrays for a feature run, with `ids`): `id`, `split`
        (when the data have splits), `p_NAME` (probability) for each asked emotion, `p_NAME_cal`
        (calibrated probability) for each unseen one, `top` (the `top` most probable names, by the
        calibrated probability where there is one, joined by ';'), and for clips `error` (the fault
        of a clip that could not be decoded; its probabilities are empty). Errors: EmozslError."""
        prediction = self.prediction(data, emotions, split=split, vectors=vectors, label_words=label_words,
                                     words=words, calibration=calibration, top=top, strict=strict, cache=cache, ids=ids,
                                     trust_pickle=trust_pickle, impute=impute)
        return prediction.frame

    def prediction(self, data, emotions=None, *, split=None, vectors=None, label_words=None, words=None,
                   calibration=None, top: int = PREDICT.top, strict: bool = False, cache: bool = True, ids=None,
                   trust_pickle: bool = False, impute: str = DEFAULTS.impute, sink=None) -> Prediction:
        """`predict`, with the per-split tables of the asked emotions the data label. With `sink`
        (a callable taking each chunk's DataFrame), rows go there as they come and are not kept."""
        PredictSettings(top=top)  # checked as the command's --top is
        dataset = as_dataset(data, ids, trust_pickle, impute)
        failed = None
        with tempfile.TemporaryDirectory(prefix="emozsl-features-") as scratch:
            if dataset.kind == "raw" and self.kind == "features" and self.metadata.features:
                dataset, failed = self.extract(data, Path(scratch) / "features.h5", strict, cache, trust_pickle)
            return self._prediction(dataset, emotions, split, vectors, label_words, words, calibration, top, strict,
                                    cache, sink, failed)

    def extract(self, source, out: Path, strict: bool = False, cache: bool = True, trust_pickle: bool = False
                ) -> tuple[MultimodalDataset, list[dict]]:
        """Features of the raw data at `source` made by the recipe of the features the run trained on
        (features/recipe.py): the same extractors, settings and, checked by sha256, the same model
        folders and word-vector files; and the clips that failed ({"id", "error"}: left out, named
        in the output's error column; `strict` stops at the first instead). `trust_pickle`: the recipe's
        word-vector file may be a gensim save."""
        from emozsl.features import check_recipe, extract_features
        from emozsl.features.recipe import scoring_specs

        recipe = self.metadata.features
        if not isinstance(source, (str, Path)):
            raise EmozslError("extracting features needs the clips' path (not a data set in memory)")
        check_recipe(recipe)
        specs = scoring_specs(recipe)
        settings = recipe["settings"]
        log.info("extracting %s from %s with the run's recipe", ", ".join(f"{m} {s}" for m, s in specs.items()), source)
        extraction = extract_features(source, out, specs.get("text"), specs.get("audio"), specs.get("visual"),
                                      settings["max_steps"], settings["alignment"], None, settings["frame_interval"],
                                      str(self.device), strict=strict, cache=cache, trust_pickle=trust_pickle,
                                      own_first=True)
        return load_dataset(out, labels="optional"), extraction.summary.get("failed", [])

    def _prediction(self, dataset, emotions, split, vectors, label_words, words, calibration, top, strict, cache,
                    sink, failed: list[dict] | None = None) -> Prediction:
        """`failed`: clips whose features could not be extracted (None: nothing was extracted)."""
        asked = emotions
        if asked is None and dataset.labelled and set(dataset.emotions) != set(self.emotions):
            asked = dataset.emotions  # another corpus: its own emotions, by name
            for name in (e for e in asked if e not in self.emotions):
                close = close_matches(name, self.train_emotions, n=1, cutoff=0.6)
                if close:
                    log.info("'%s' is scored through its own word; --emotions %s=%s scores it as the run's trained "
                             "'%s'", name, name, close[0], close[0])
        chosen = self.emotion_set(asked, vectors=vectors, label_words=label_words, words=words)
        fitted = self.calibration(chosen, calibration)
        frames, logits_by, labels_by, rows, errors = [], {}, {}, 0, 0
        for frame, name, logits, labels in self.iter_scores(dataset, chosen, split=split, calibration=fitted, top=top,
                                                            strict=strict, cache=cache,
                                                            error_column=failed is not None):
            rows += len(frame)
            errors += int(frame["error"].astype(bool).sum()) if "error" in frame else 0
            if sink is None:
                frames.append(frame)
            else:
                sink(frame)
            if labels is not None:
                logits_by.setdefault(name, []).append(logits.cpu())
                labels_by.setdefault(name, []).append(labels)
        if failed:  # clips whose features could not be made: named, with empty probabilities
            frame = rows_frame([f["id"] for f in failed], "" if dataset.has_splits else None,
                               torch.full((len(failed), len(chosen.names)), float("nan")), chosen, fitted, top,
                               {i: f["error"] for i, f in enumerate(failed)})
            rows, errors = rows + len(frame), errors + len(frame)
            if sink is None:
                frames.append(frame)
            else:
                sink(frame)
        results = {name: self._result(torch.cat(logits_by[name]), np.concatenate(labels_by[name]), chosen, fitted, name)
                   for name in logits_by}
        frame = (pd.concat(frames, ignore_index=True) if frames else rows_frame([], None, torch.zeros(0, len(chosen.names)),
                                                                                 chosen, fitted, top, None)) \
            if sink is None else None
        unlabelled = [n for n in chosen.names if n not in dataset.emotions] if dataset.labelled else []
        return Prediction(frame, {k: v for k, v in results.items() if v is not None}, [], rows, errors,
                          fitted.method if fitted else "none", chosen.describe(), unlabelled)

    def _result(self, logits: torch.Tensor, labels: np.ndarray, emotions: EmotionSet, calibration, split: str):
        """The table of the asked emotions the data label (rows of failed clips left out)."""
        columns = [k for k in range(labels.shape[1]) if not np.isnan(labels[:, k]).all()]
        rows = torch.isfinite(logits).all(1).numpy()
        if not columns or not rows.any():
            return None
        names = [emotions.names[k] for k in columns]
        if calibration is not None:
            calibration = Calibration(calibration.method, calibration.scale[columns], calibration.shift[columns])
        return score_calibrated(logits[rows][:, columns], torch.from_numpy(labels[rows][:, columns] > 0).float(),
                                calibration, names, emotions.unseen, self.config.threshold, split,
                                emotions.low_resource)

    def provenance(self) -> dict:
        """What identifies the run that scored: its folder, the sha256 of its files, emozsl's version."""
        files = [CONFIG_FILE, CHECKPOINT_FILE, REFERENCE_FILE]
        return {"run": str(self.run.path.resolve()), "model": self.config.model,
                "sha256": {f: file_sha256(self.run.path / f) for f in files if (self.run.path / f).is_file()},
                "emozsl": __version__}


def as_dataset(data, ids=None, trust_pickle: bool = False, impute: str = DEFAULTS.impute) -> MultimodalDataset:
    """A path (read labelled or not), a data set, or modality -> (N, T, D) arrays (unlabelled, one split)."""
    if isinstance(data, MultimodalDataset):
        return data
    if isinstance(data, dict):
        from emozsl.data.dataset import UNSPLIT, check_array

        arrays = {m: check_array(a, f"features['{m}']", 3) for m, a in data.items()}
        n = len(next(iter(arrays.values()))) if arrays else 0
        ids = np.array([str(i) for i in (ids if ids is not None else range(n))])
        return MultimodalDataset("arrays", [], {UNSPLIT: SplitData(arrays, np.zeros((n, 0), np.float32), ids)},
                                 "arrays", labelled=False)
    return load_dataset(data, trust_pickle, impute, labels="optional")


def rows_frame(ids, split: str | None, logits: torch.Tensor, emotions: EmotionSet, calibration: Calibration | None,
               top: int, faults: dict[int, str] | None) -> pd.DataFrame:
    """A chunk's output rows (Predictor.predict's columns) from its (N, K) logits."""
    raw = logits.float().cpu().numpy()
    columns: dict[str, object] = {"id": [str(i) for i in ids]}
    if split is not None:
        columns["split"] = [split] * len(raw)
    probabilities = 1 / (1 + np.exp(-raw))
    ranked = probabilities.copy()
    calibrated = (1 / (1 + np.exp(-calibration.apply(raw)))).astype(np.float32) if calibration is not None else None
    for k, name in enumerate(emotions.names):
        columns[f"p_{name}"] = probabilities[:, k]
        if emotions.status[k] == "unseen" and calibrated is not None:
            columns[f"p_{name}_cal"] = calibrated[:, k]
            ranked[:, k] = calibrated[:, k]
    if top:
        order = np.argsort(-np.nan_to_num(ranked, nan=-1.0), axis=1, kind="stable")[:, :top]
        columns["top"] = [";".join(emotions.names[k] for k in row) if np.isfinite(ranked[i]).all() else ""
                          for i, row in enumerate(order)]
    if faults is not None:
        columns["error"] = [faults.get(i, "") for i in range(len(raw))]
    return pd.DataFrame(columns)


OUTPUT_FORMATS = (".csv", ".jsonl", ".parquet")


class PredictionWriter:
    """Rows written as they come to a temporary file beside `path`, which replaces `path` only when
    all are written (fileio.replacing): an interrupted prediction leaves no half file. The format
    follows the suffix: .csv, .jsonl or .parquet (pyarrow, the [parquet] extra)."""

    def __init__(self, path: str | Path, overwrite: bool = False):
        self.path = Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in OUTPUT_FORMATS:
            raise FieldError("out", str(path), f"name it {', '.join(OUTPUT_FORMATS)} (the format follows the suffix)")
        if self.path.exists() and not overwrite:
            raise FieldError("out", str(path), "exists; pass --overwrite to replace it")
        if self.format == ".parquet":
            from emozsl.extras import install_hint

            try:
                import pyarrow.parquet  # noqa: F401
            except ImportError:
                raise EmozslError(f"{path}: writing Parquet needs pyarrow ({install_hint('parquet')})") from None
        self._context = self._tmp = self._file = self._parquet = None

    def __enter__(self) -> PredictionWriter:
        self._context = replacing(self.path)
        self._tmp = self._context.__enter__()
        if self.format != ".parquet":
            self._file = open(self._tmp, "w", encoding="utf-8", newline="")
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self.format == ".csv":
            frame.to_csv(self._file, header=self._file.tell() == 0, index=False, lineterminator="\n")
        elif self.format == ".jsonl":  # a failed clip's empty probabilities are null
            for record in frame.astype(object).where(frame.notna(), None).to_dict(orient="records"):
                self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._tmp, table.schema)
            self._parquet.write_table(table)

    def __exit__(self, kind, exc, traceback):
        try:
            if self._file is not None:
                self._file.close()
            if self._parquet is not None:
                self._parquet.close()
        finally:
            return self._context.__exit__(kind, exc, traceback)


def sidecar_path(out: str | Path) -> Path:
    """The small JSON beside an output file that says what made it (OUT.meta.json: scores.csv.meta.json)."""
    out = Path(out)
    return out.with_name(out.name + ".meta.json")


def predict_to_file(run_dir: str | Path, data, out: str | Path, emotions=None, *, overwrite: bool = False,
                    device: str = DEFAULTS.device, **options) -> Prediction:
    """`emozsl predict`: Predictor.prediction's rows written to `out` as they come (PredictionWriter),
    and the sidecar OUT.meta.json (sidecar_path): the run and its sha256s, the data, the emotions with their
    sources and status, the calibration and where it was fitted, emozsl's version, the columns and
    counts. Nothing is written before the run, data and emotions are checked."""
    writer = PredictionWriter(out, overwrite)
    sidecar = sidecar_path(out)
    if sidecar.exists() and not overwrite:
        raise FieldError("out", str(out), f"{sidecar.name} exists beside it; pass --overwrite to replace both")
    predictor = Predictor.load(run_dir, device)
    columns = []

    def sink(frame: pd.DataFrame) -> None:
        if not columns:
            columns.extend(frame.columns)
        writer.write(frame)

    with writer:
        prediction = predictor.prediction(data, emotions, sink=sink, **options)
    described = data.source or data.name if isinstance(data, MultimodalDataset) else \
        "arrays" if isinstance(data, dict) else str(data)
    meta = {**predictor.provenance(), "data": described, "split": options.get("split") or "all",
            "emotions": prediction.emotions, "columns": columns, "rows": prediction.rows, "errors": prediction.errors,
            "calibration": {"method": prediction.calibration, "fitted_on": CALIBRATION_SOURCE
                            if prediction.calibration != "none" else None},
            "threshold": predictor.config.threshold}
    prediction.files = [writer.path, write_json(sidecar, meta)]
    return prediction
