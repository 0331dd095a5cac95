"""The run configuration: every field checked when a config is made, so a bad value stops a command
(or a whole sweep) before any data is read, with an error naming the field and the value.

Pickle trust is not a field: it is a permission the user grants on the command line for one
command, never something a config file, a sweep file or a received run folder can carry."""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from emozsl.calibration import CALIBRATIONS
from emozsl.data import MODALITIES, default_data_path
from emozsl.errors import EmozslError, FieldError, check_choice
from emozsl.fileio import read_json
from emozsl.metrics import METRICS
from emozsl.models import EMOTION_MAPS, HEADS, REGISTRY, SIMILARITIES
from emozsl.numeric import FLOAT32_MAX
from emozsl.splits import PROTOCOLS, load_manifest, protocol_from_options

PRECISIONS = ("fp32", "bf16")
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
TRUST_FIELD = "trust_pickle"  # a field of configs written by emozsl 0.1.0
TRUST_REFUSAL = ("pickle trust comes only from the command line, never from a file; remove the field "
                 "and pass --trust-pickle if you trust the data")


@dataclass
class RunConfig:
    model: str = "eea"
    model_options: dict = field(default_factory=dict)
    head: str = "embedding"  # or "linear": a plain classifier, supervised comparison only
    similarity: str = "dot"  # embedding head: dot (the paper's), cosine, neg-sq-distance
    emotion_map: str = "linear"  # embedding head: linear (the paper's) or mlp
    data: str = field(default_factory=default_data_path)
    extra: str | None = None  # IEMOCAP 9-class folder supplying the extra emotion
    split: str | None = None  # a manifest; else made from protocol/target
    protocol: str = "supervised"
    target: str | int | None = None
    shots: int | None = None
    fraction: float = 0.01
    split_seed: int = 0
    folds: int | None = None  # k-fold cross-validation over all rows: this run is fold `fold` of `folds`
    fold: int | None = None
    # Modalities used; text+audio answers FACET's leak (its visual columns hold a commercial
    # emotion classifier's output), see protocol.md.
    modalities: list = field(default_factory=lambda: list(MODALITIES))
    embeddings: str | None = None  # None: the shipped file
    emotion_words: dict = field(default_factory=dict)  # emotion -> word form (excited -> exciting)
    # Emotions as several words and a description (label_words.py): a shipped set (mosei, iemocap,
    # cherma) or a label-word file; None: one word form each (the paper).
    label_words: str | None = None
    label_encoder: str | None = None  # a local sentence-encoder folder: emotion vectors from their texts
    calibration: str = "standardize"  # unseen emotions' thresholded metrics (calibration.py)
    epochs: int | None = None  # None: the backbone's default (100; 20 for the end-to-end raw-media ones)
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip: float = 1.0  # gradient-norm clip; 0 turns it off
    early_stop: int = 8
    scheduler_patience: int = 5
    scheduler_factor: float = 0.1
    threshold: float = 0.5
    select_metric: str | None = None  # None: wacc for MOSEI, acc for IEMOCAP
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"  # or "bf16": autocast on CUDA
    compile: bool = False  # torch.compile the backbone
    cuda_graphs: bool = True  # on CUDA, capture each training and scoring step as a CUDA graph (capture.py)
    loader_workers: int | None = None  # raw media: DataLoader workers reading the cache; None: 0 on CPU, 4 on CUDA
    runs_dir: str = "runs"
    name: str | None = None

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), hints[f.name])
        check_choice("model", self.model, list(REGISTRY))
        if self.epochs is None:
            self.epochs = REGISTRY[self.model].epochs
        for name in ("epochs", "batch_size", "early_stop"):
            _check_range(name, getattr(self, name), 1)
        for name in ("seed", "split_seed", "scheduler_patience"):
            _check_range(name, getattr(self, name), 0)
        _check_number("lr", self.lr, "must be a finite number above 0", lambda v: v > 0)
        _check_number("weight_decay", self.weight_decay, "must be a finite number, 0 or more", lambda v: v >= 0)
        _check_number("clip", self.clip, "must be a finite number, 0 (off) or more", lambda v: v >= 0)
        _check_number("scheduler_factor", self.scheduler_factor, "must be within (0, 1)", lambda v: 0 < v < 1)
        _check_number("threshold", self.threshold, "must be within (0, 1)", lambda v: 0 < v < 1)
        _check_number("fraction", self.fraction, "must be within [0, 1]", lambda v: 0 <= v <= 1)
        if self.shots is not None:
            _check_range("shots", self.shots, 1)
        if self.loader_workers is not None:
            _check_range("loader_workers", self.loader_workers, 0)
        for name in ("label_words", "label_encoder"):
            if getattr(self, name) == "":
                raise FieldError(name, "", "must not be empty")
        check_choice("calibration", self.calibration, CALIBRATIONS)
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("protocol", self.protocol, PROTOCOLS)
        check_choice("head", self.head, HEADS)
        check_choice("similarity", self.similarity, SIMILARITIES)
        check_choice("emotion_map", self.emotion_map, EMOTION_MAPS)
        if self.select_metric is not None:
            check_choice("select_metric", self.select_metric, METRICS)
        if not DEVICE_PATTERN.fullmatch(self.device):
            raise FieldError("device", self.device, "not a training device (auto, cpu, cuda, cuda:N or mps)")
        for name in ("data", "runs_dir"):
            if not getattr(self, name):
                raise FieldError(name, getattr(self, name), "must not be empty")
        if self.name is not None:
            check_folder_name("name", self.name)
        if not self.modalities or len(set(self.modalities)) != len(self.modalities):
            raise FieldError("modalities", self.modalities, f"give each of {', '.join(MODALITIES)} at most once")
        for modality in self.modalities:
            check_choice("modalities", modality, MODALITIES)
        for emotion, word in self.emotion_words.items():
            if not isinstance(word, str) or not word or any(c.isspace() for c in word):
                raise FieldError(f"emotion_words.{emotion}", word, "must be one word")
        if self.protocol == "supervised" and self.target is not None:
            raise FieldError("target", self.target, "the supervised protocol has no target emotion")
        if self.protocol != "supervised" and self.target is None and self.split is None:
            raise FieldError("target", None, f"protocol {self.protocol} needs a target emotion")
        if (self.folds is None) != (self.fold is None):
            raise FieldError("fold", self.fold, "give folds and fold together, or neither")
        if self.folds is not None:
            if self.folds < 3:
                raise FieldError("folds", self.folds, "need at least 3 (test, valid and train folds)")
            if not 0 <= self.fold < self.folds:
                raise FieldError("fold", self.fold, f"must be within 0..{self.folds - 1}")
            if self.split:
                raise FieldError("split", self.split, "cross-validation makes its own splits: drop the split")
        from emozsl.models.build import (
            check_model,  # imports torch: configs are checked where models run
        )

        self.model_options = check_model(self.model, self.modalities, self.model_options, self.head_settings())

    def head_settings(self) -> dict:
        return {"head": self.head, "similarity": self.similarity, "emotion_map": self.emotion_map}

    @classmethod
    def from_dict(cls, values: dict, where: str = "config") -> RunConfig:
        """A config from a mapping read from `where` (a file): unknown fields and bad values are
        errors naming it, and a pickle-trust field is refused unless it grants nothing."""
        if not isinstance(values, dict):
            raise EmozslError(f"{where}: expected a table of fields, found {type(values).__name__}")
        values = dict(values)
        if values.pop(TRUST_FIELD, False) is not False:
            raise FieldError(TRUST_FIELD, True, TRUST_REFUSAL, where)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise EmozslError(f"{where}: unknown field(s) {', '.join(unknown)}")
        try:
            return cls(**values)
        except FieldError as exc:
            raise exc.located(where) from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_folder_name(field_name: str, value: str) -> str:
    """A name that becomes one folder inside another: no separators, no '..', not hidden."""
    if not value or value in (".", "..") or value.startswith(".") or any(c in value for c in "/\\\0:"):
        raise FieldError(field_name, value, "must name one folder (no '/', '\\', ':', not starting with '.')")
    return value


def _check_type(name: str, value, hint) -> None:
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for kind in allowed:
        if kind is type(None) and value is None:
            return
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return
        if kind in (str, bool, list, dict) and isinstance(value, kind):
            return
    names = {str: "text", int: "an integer", float: "a number", bool: "true or false", list: "a list",
             dict: "a table", type(None): "empty"}
    raise FieldError(name, value, f"must be {' or '.join(names[k] for k in allowed)}")


def _check_range(name: str, value: int, low: int) -> None:
    if value < low:
        raise FieldError(name, value, f"must be at least {low}")


def _check_number(name: str, value: float, reason: str, ok) -> None:
    if not (math.isfinite(value) and abs(value) <= FLOAT32_MAX and ok(value)):
        raise FieldError(name, value, reason)


def config_from_options(config_file: str | None = None, *, zsl: str | None = None, fsl: str | None = None,
                        **overrides) -> RunConfig:
    """`emozsl train`'s config: a config file (optional) with command-line values on top; None means
    unset. An error in a value that came from the file names the file."""
    file_values = read_json(Path(config_file), "config file") if config_file else {}
    if not isinstance(file_values, dict):
        raise EmozslError(f"{config_file}: expected a JSON object of run fields")
    # Unset means None (an absent flag too) or an empty dict (no --option); 0 and False are values.
    given = {k: v for k, v in overrides.items() if v is not None and v != {}}
    values = {**file_values, **given}
    protocol, target = protocol_from_options(zsl, fsl)
    if protocol != "supervised":
        if values.get("split"):
            raise FieldError("split", values["split"], "a manifest fixes the protocol and target already: give no zsl/fsl")
        values["protocol"], values["target"] = protocol, target
        given.update(protocol=protocol, target=target)
    if values.get("split"):
        manifest = load_manifest(values["split"])
        values["protocol"], values["target"] = manifest["protocol"], manifest["target"]
    try:
        return RunConfig.from_dict(values, config_file or "options")
    except FieldError as exc:
        root = exc.field.partition(".")[0]
        if root in given or not config_file:
            raise FieldError(exc.field, exc.value, exc.reason) from None
        raise exc.located(config_file) from None
