"""The one builder of a training session from a RunConfig, shared by training, evaluation and the
benchmark: the task (data and split), the device and precision, the emotion vectors, the model and
the inputs of each split. What a model is trained with (loss, targets, optimizer, scheduler) lives
beside the training loop (train.py)."""

from __future__ import annotations

import dataclasses
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from emozsl.batches import ResidentInputs, StreamedInputs
from emozsl.config import RunConfig
from emozsl.data import load_dataset
from emozsl.data.formats import data_corpus
from emozsl.data.media.decode import MediaSettings
from emozsl.data.media.cache import PreparedSplit, check_media, prepare_split
from emozsl.embeddings import close_matches, default_embeddings_path, load_embeddings
from emozsl.errors import EmozslError, FieldError
from emozsl.fileio import file_sha256
from emozsl.cputhreads import use_idle_cores
from emozsl.hostmemory import keep_freed_memory
from emozsl.label_words import label_vectors, load_label_words, vector_words
from emozsl.models import REGISTRY, get_backbone
from emozsl.models.registry import INPUTS
from emozsl.models.build import build_model
from emozsl.reference import CalibrationReference, capture_reference
from emozsl.scoring import EvalResult, predict_logits, score_calibrated
from emozsl.splits import Task, apply_split, fold_dataset, load_manifest, make_split

FINE_TUNE_LR_SCALE = 0.1  # the paper's rate for a pretrained text encoder
CUDA_LOADER_WORKERS = 4
log = logging.getLogger("emozsl")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """auto (CUDA when present), cpu, cuda, cuda:N or mps, checked against this machine."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise FieldError("device", name, "CUDA is not available on this machine")
        if (device.index or 0) >= count:
            raise FieldError("device", name, f"this machine has {count} CUDA device(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise FieldError("device", name, "MPS is not available on this machine")
    return device


def autocast(device: torch.device, precision: str):
    """The context the forward passes run in: bf16 autocast on CUDA, or plain fp32. Its cast cache
    is off: a cache kept across a CUDA-graph capture would hold stale casts (torch's graph notes)."""
    if precision == "bf16" and device.type != "cuda":
        raise FieldError("precision", precision, f"needs a CUDA device (the device is {device})")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16", cache_enabled=False)


def prepare_task(config: RunConfig, trust_pickle: bool = False, manifest: dict | None = None,
                 where: str | None = None, datasets: dict | None = None) -> Task:
    """Load the data (and extra data), then apply `manifest`, the config's manifest file, or one
    made from the config's protocol; only the configured modalities are kept. `datasets`: data
    sets loaded already, by path and impute rule (trials trained together read their data once)."""
    def load(path: str):
        if datasets is None:
            return load_dataset(path, trust_pickle, config.impute)
        if (path, config.impute) not in datasets:
            datasets[path, config.impute] = load_dataset(path, trust_pickle, config.impute)
        return datasets[path, config.impute]

    data = load(config.data)
    if config.folds is not None:
        data = fold_dataset(data, config.folds, config.fold, config.split_seed)
    extra = load(config.extra) if config.extra else None
    unknown = [m for m in config.modalities if m not in data.modalities]
    if unknown:
        raise FieldError("modalities", config.modalities, f"{config.data} holds {', '.join(data.modalities)} (no "
                         f"{', '.join(unknown)}); choose among them, e.g. --modalities {','.join(data.modalities)}")
    if manifest is None and config.split:
        manifest, where = load_manifest(config.split), config.split
    if manifest is None:
        manifest = make_split(data, config.protocol, config.target, config.split_seed, config.shots,
                              config.fraction, extra)
    task = apply_split(manifest, data, extra, where or "split made from the config")
    for part in task.splits.values():
        part.features = {m: part.features[m] for m in data.modalities if m in config.modalities}
    return task


def resident_inputs(config: RunConfig, part, device: torch.device) -> ResidentInputs:
    """A feature split's inputs for `config`'s backbone: early fusion (the backbones that need aligned
    data) aligns the modalities together."""
    return ResidentInputs(part, device, joint=not get_backbone(config.model).unaligned)


def streamed_inputs(config: RunConfig, prepared: PreparedSplit, model: torch.nn.Module,
                    device: torch.device) -> StreamedInputs:
    """A raw split's inputs, read from the preprocessing cache by `config.loader_workers` workers."""
    workers = config.loader_workers
    if workers is None:  # on a CPU the workers would take cores from the model
        workers = CUDA_LOADER_WORKERS if device.type == "cuda" else 0
    return StreamedInputs(prepared, device, model.backbone.pad_id, workers)


def selection_metric(config: RunConfig) -> str:
    """The validation metric that picks the best epoch: --select-metric, else the one the corpus
    of the run's data declares (data.corpora), whatever the data set is named."""
    return config.select_metric or data_corpus(config.data).select_metric


@dataclass
class Session:
    config: RunConfig
    task: Task
    device: torch.device
    embeddings: Path  # the word-vector file the emotion vectors came from
    vectors: torch.Tensor  # (K, word_dim) of task.emotions, on the device
    model: torch.nn.Module
    _prepared: dict[str, PreparedSplit] = field(default_factory=dict)
    _inputs: dict[str, tuple] = field(default_factory=dict)

    @property
    def trained_columns(self) -> list[int]:
        return [self.task.emotions.index(e) for e in self.task.train_emotions]

    @property
    def train_vectors(self) -> torch.Tensor:
        return self.vectors[self.trained_columns]

    def precision(self):
        return autocast(self.device, self.config.precision)

    def inputs(self, split: str, trained_only: bool = True) -> tuple[ResidentInputs | StreamedInputs, torch.Tensor]:
        """A split's inputs (batches.py: padding found and shapes fixed there, once per session) and
        its labels on the device; labels of the trained emotions only, or all. Raw media are
        preprocessed (or found in the cache) on first use."""
        if split not in self._inputs:
            part = self.task.splits[split]
            if self.task.kind == "raw":
                inputs = streamed_inputs(self.config, self.prepared(split), self.model, self.device)
            else:
                inputs = resident_inputs(self.config, part, self.device)
            self._inputs[split] = inputs, torch.from_numpy(part.presence.astype(np.float32)).to(self.device)
        inputs, labels = self._inputs[split]
        return inputs, labels[:, self.trained_columns] if trained_only else labels

    def score_test(self, precision=None, emotions: list[str] | None = None, split: str = "test",
                   calibration: str | None = None, reference: CalibrationReference | None = None) -> EvalResult:
        """The model's result on `split` for `emotions` (default: all of the task's), with the
        calibration (default: the config's) fitted on `reference` (default: captured from
        validation) when an unseen emotion is scored; the split's few-shot emotions are its
        low-resource ones."""
        emotions = list(emotions or self.task.emotions)
        calibration = calibration or self.config.calibration
        low_resource = self.task.manifest.get("low_resource", [])  # optional in a manifest file
        logits, labels = self.split_logits(split, emotions, precision)
        unseen = np.array([e in self.task.unseen for e in emotions])
        fitted = None
        if calibration != "none" and unseen.any():  # validation is not scored for nothing
            reference = reference or self.reference(precision)
            columns = [self.task.emotions.index(e) for e in emotions]
            fitted = reference.fit(calibration, self.model.head, self.vectors[columns], unseen, self.train_vectors,
                                   self.config.threshold)
        return score_calibrated(logits, labels, fitted, emotions, self.task.unseen, self.config.threshold, split,
                                low_resource)

    def reference(self, precision=None) -> CalibrationReference:
        """The calibration reference (reference.py) of the validation split, as the model is now."""
        inputs, labels = self.inputs("valid")
        return capture_reference(self.model, inputs, labels, precision)

    def split_logits(self, split: str, emotions: list[str], precision=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and labels of `emotions` on `split`."""
        columns = [self.task.emotions.index(e) for e in emotions]
        inputs, labels = self.inputs(split, trained_only=False)
        return predict_logits(self.model, inputs, self.vectors[columns], precision=precision), labels[:, columns]

    def prepared(self, split: str) -> PreparedSplit:
        """A raw split's cache entries and token ids, made once per session (the media settings and
        the tokenizer are the model's)."""
        if split not in self._prepared:
            backbone = self.model.backbone
            self._prepared[split] = prepare_split(self.task.splits[split], MediaSettings(**backbone.media_settings()),
                                                  backbone.tokenize, split)
            report = {k: v for k, v in self._prepared[split].report.items() if v}
            log.info("%s media: %s", split, ", ".join(f"{k} {v}" for k, v in report.items()))
        return self._prepared[split]


def build_session(config: RunConfig, trust_pickle: bool = False, *, task: Task | None = None,
                  embeddings: Path | None = None, datasets: dict | None = None) -> Session:
    """Everything a run needs, built in one order (so a seed gives the same model everywhere);
    every check that can fail does so here, before any training."""
    seed_everything(config.seed)
    device = resolve_device(config.device)
    autocast(device, config.precision)  # bf16 without CUDA fails here, before any work
    if device.type == "cpu":
        keep_freed_memory()  # large batch tensors reuse heap pages instead of page-faulting anew
        use_idle_cores()  # threads spinning against another process's would slow every step many times
    task = task or prepare_task(config, trust_pickle, datasets=datasets)
    if config.target is not None and config.target != task.manifest["target"]:
        config = named_target(config, task)  # `--zsl 3` trains, names and reports its run as 'happy'
    wanted = get_backbone(config.model).inputs
    if task.kind != wanted:
        suited = ", ".join(b.name for b in REGISTRY.values() if b.inputs == task.kind)
        extract = (f"; or extract features of it first: emozsl features extract {config.data} feats.h5 ..."
                   if task.kind == "raw" else "")
        raise FieldError("model", config.model, f"reads {INPUTS[wanted]}, but {config.data} holds "
                         f"{INPUTS[task.kind]} (models for it: {suited}{extract})")
    if config.head == "linear" and task.unseen:
        raise FieldError("head", "linear", f"cannot score the unseen emotion(s) {', '.join(task.unseen)}: a plain "
                         "classifier has no zero-shot route; use head=embedding")
    for emotion in config.emotion_words:
        if emotion not in task.emotions:
            close = close_matches(emotion, task.emotions, n=1, cutoff=0.6)
            raise FieldError(f"emotion_words.{emotion}", config.emotion_words[emotion], "not an emotion of this data ("
                             + (f"did you mean {close[0]}? " if close else "") + f"emotions: {', '.join(task.emotions)})")
    path = Path(embeddings or config.embeddings or default_embeddings_path())
    vectors = word_vectors(config, path, task.emotions, device, trust_pickle)
    model = emotion_model(config, task.input_dims(), vectors[[task.emotions.index(e) for e in task.train_emotions]])
    if task.kind == "raw":  # every split's media, now: the test split is decoded only after training
        check_media(task.splits, MediaSettings(**model.backbone.media_settings()))
    return Session(config, task, device, path, vectors, model)


def named_target(config: RunConfig, task: Task | None = None, trust_pickle: bool = False,
                 datasets: dict | None = None) -> RunConfig:
    """`config` with its target emotion by name, as the split names it (an index, `--zsl 3`, becomes
    the emotion it indexes in the data), so the run's name, config file and report rows all say
    the emotion. Reads the data only when the target is an index and no `task` is given (into
    `datasets`, prepare_task's, when given)."""
    text = None if config.target is None else str(config.target).strip()
    if task is None and (text is None or not text.lstrip("-").isdigit()):
        return config
    task = task or prepare_task(config, trust_pickle, datasets=datasets)
    return dataclasses.replace(config, target=task.manifest["target"])


def word_vectors(config: RunConfig, path: Path, emotions: list[str], device: torch.device,
                 trust_pickle: bool = False) -> torch.Tensor:
    """The (K, word_dim) vectors of `emotions` as the config defines them (word forms, label words, a
    sentence encoder; label_words.py), word vectors read from the file at `path`."""
    label_words = load_label_words(config.label_words) if config.label_words else None
    words = vector_words(emotions, config.emotion_words, label_words)
    kv = load_embeddings(path, words, trust_pickle=trust_pickle)  # a multi-GB file costs only these words
    if len(kv) < len(words):  # a word is absent: read every word, so errors can suggest close ones
        kv = load_embeddings(path, trust_pickle=trust_pickle)
    vectors = label_vectors(kv, emotions, config.emotion_words, label_words, config.label_encoder, path)
    return torch.from_numpy(vectors).to(device)


def run_embeddings(config_embeddings: str | None, metadata) -> Path:
    """The embeddings file the run was trained with: the recorded path, or (for a run folder moved
    to another machine) the configured or shipped file, provided its sha256 still matches
    (`metadata`: runs.RunMetadata). Errors: EmozslError, "not found" or "changed since ..."."""
    recorded = metadata.embeddings
    candidates = [Path(recorded["path"]), Path(config_embeddings) if config_embeddings else default_embeddings_path()]
    existing = [c for c in dict.fromkeys(candidates) if c.is_file()]  # the same file hashed once
    if not existing:
        raise EmozslError(f"{recorded['path']}: embeddings file of this run not found")
    for path in existing:
        if file_sha256(path) == recorded["sha256"]:
            return path
    raise EmozslError(f"{existing[0]}: changed since this run was trained (sha256 differs)")


def check_vectors(vectors: torch.Tensor, emotions: list[str], metadata) -> None:
    """The vectors a finished run's emotions get now must be those it was trained with (label words,
    an encoder or word forms edited since would silently change every score). Compared with a float
    tolerance: another machine's arithmetic may differ in the last bits."""
    recorded = metadata.embeddings.get("vectors")  # absent in runs of emozsl before label words
    if recorded is None or emotions != metadata.emotions:
        return
    recorded = np.asarray(recorded, dtype=np.float32)
    current = vectors.detach().float().cpu().numpy()
    if recorded.shape != current.shape or not np.allclose(current, recorded, rtol=1e-4, atol=1e-6):
        raise EmozslError("the emotion vectors differ from those this run was trained with (its label_words, "
                          "label_encoder or emotion_words files changed since); restore them or train again")


def emotion_model(config: RunConfig, input_dims: dict[str, int], train_vectors: torch.Tensor) -> torch.nn.Module:
    """The configured backbone and head on the vectors' device (the linear head keeps the trained
    emotions' vectors to know them again)."""
    model = build_model(config.model, input_dims, train_vectors.shape[1], config.model_options,
                        config.head_settings(), train_vectors).to(train_vectors.device)
    if config.compile:
        model.backbone.compile()  # in place: the checkpoint keeps its plain parameter names
    return model
