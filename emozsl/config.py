"""The run configuration: every field checked when a config is made, so a bad value stops a command
(or a whole sweep) before any data is read, with an error naming the field and the value.

Pickle trust is not a field: it is a permission the user grants on the command line for one
command, never something a config file, a sweep file or a received run folder can carry."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from emozsl.calibration import CALIBRATIONS
from emozsl.data import IMPUTE_CHOICES, MODALITIES, default_data_path
from emozsl.errors import EmozslError, FieldError, check_choice
from emozsl.fileio import read_json
from emozsl.metrics import METRICS
from emozsl.models import EMOTION_MAPS, HEADS, REGISTRY, SIMILARITIES, resolve_options
from emozsl.numeric import FLOAT32_MAX
from emozsl.splits import PROTOCOLS, load_manifest, protocol_from_options

PRECISIONS = ("fp32", "bf16")
INPUT_PATHS = ("data", "extra", "split", "embeddings", "label_words", "label_encoder")  # stored absolute
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
TRUST_FIELD = "trust_pickle"  # a field of configs written by emozsl 0.1.0
TRUST_REFUSAL = ("pickle trust comes only from the command line, never from a file; remove the field "
                 "and pass --trust-pickle if you trust the data")


# What a number setting must be (checked when a config is made, unless it is None): reason, test.
AT_LEAST_0 = ("must be at least 0", lambda v: v >= 0)
AT_LEAST_1 = ("must be at least 1", lambda v: v >= 1)
ABOVE_0 = ("must be a finite number above 0", lambda v: v > 0)
NOT_NEGATIVE = ("must be a finite number, 0 or more", lambda v: v >= 0)
OPEN_UNIT = ("must be within (0, 1)", lambda v: 0 < v < 1)
CLOSED_UNIT = ("must be within [0, 1]", lambda v: 0 <= v <= 1)


def setting(default=dataclasses.MISSING, help: str = "", *, factory=dataclasses.MISSING, choices=None,
            check: tuple | None = None, flag: str | None = None, system: bool = False):
    """A run setting, declared once: its default, help, choices or `check` (what a number must be;
    both checked when a config is made), command-line flag (`emozsl train`'s options are made from
    these: `cli.config_option`; None: no flag of its own) and whether it makes a run a different
    system (`SYSTEM_FIELDS`)."""
    metadata = {"help": help, "choices": choices, "check": check, "flag": flag, "system": system}
    return field(default=default, default_factory=factory, metadata=metadata)


@dataclass
class RunConfig:
    model: str = setting("eea", "Backbone (see `emozsl models`).", choices=tuple(REGISTRY), flag="--model",
                         system=True)
    model_options: dict = setting(help="Model option KEY=VALUE (see `emozsl models`).", factory=dict,
                                  flag="--option", system=True)
    head: str = setting("embedding", "embedding (scores unseen emotions) or linear (a plain classifier, supervised "
                        "comparison only).", choices=HEADS, flag="--head", system=True)
    similarity: str = setting("dot", "Embedding head: dot (the paper's), cosine with a learned temperature, "
                              "neg-sq-distance.", choices=SIMILARITIES, flag="--similarity", system=True)
    emotion_map: str = setting("linear", "Embedding head: linear (the paper's) or mlp.", choices=EMOTION_MAPS,
                               flag="--emotion-map", system=True)
    data: str = setting(help="Data (default: $EMOZSL_DATA or data/synth-mosei).", factory=default_data_path,
                        flag="--data")
    extra: str | None = setting(None, "IEMOCAP 9-class folder that supplies the extra emotion.", flag="--extra")
    impute: str = setting("none", "NaN and infinite feature values: none refuses them (COVAREP audio -inf is set to 0 "
                          "either way); zero sets them to 0, as the field's loaders do.", choices=IMPUTE_CHOICES,
                          flag="--impute", system=True)
    split: str | None = setting(None, "A split manifest (else one is made from --zsl/--fsl).", flag="--split")
    protocol: str = setting("supervised", "Set by --zsl / --fsl or the manifest.", choices=PROTOCOLS)
    target: str | int | None = setting(None, "The held-out (zsl) or few-shot (fsl) emotion, by name or index.")
    shots: int | None = setting(None, "Few-shot: keep exactly N positives (default ceil(F*P)+1).", check=AT_LEAST_1, flag="--shots",
                                system=True)
    fraction: float = setting(0.01, "Few-shot: keep ceil(F*P)+1 of the P positives.", check=CLOSED_UNIT, flag="--fraction",
                              system=True)
    split_seed: int = setting(0, "Seed of the few-shot sample and of cross-validation folds.", check=AT_LEAST_0, flag="--split-seed",
                              system=True)
    folds: int | None = setting(None, "k-fold cross-validation over all rows: this run is fold `fold` of `folds`.",
                                system=True)
    fold: int | None = setting(None, "This run's fold (with folds).")
    # Modalities used; text+audio answers FACET's leak (its visual columns hold a commercial
    # emotion classifier's output), see docs/protocols.md.
    modalities: list = setting(help="Comma-separated subset of text,audio,visual (e.g. text,audio).",
                               factory=lambda: list(MODALITIES), flag="--modalities", system=True)
    embeddings: str | None = setting(None, "Word-vector file (default: the shipped GloVe 6B 50d emotions).",
                                     flag="--embeddings")
    emotion_words: dict = setting(help="Word form for an emotion, EMOTION=WORD (excited=exciting).", factory=dict,
                                  flag="--word", system=True)
    label_words: str | None = setting(None, "Emotions as several words: a shipped set (mosei, iemocap, cherma) or a "
                                      "label-word file (see `emozsl embeddings show --label-words`).",
                                      flag="--label-words", system=True)
    label_encoder: str | None = setting(None, "Emotion vectors from their descriptions, encoded by this local "
                                        "sentence-encoder folder (needs the extra [text]).", flag="--label-encoder",
                                        system=True)
    calibration: str = setting("standardize", "Unseen emotions' calibrated thresholded metrics (calibration.py).",
                               choices=CALIBRATIONS, flag="--calibration", system=True)
    epochs: int | None = setting(None, "Training epochs (default: the backbone's, 100; 20 for fe2e/mesm; early "
                                 "stopping ends most sooner).", check=AT_LEAST_1, flag="--epochs", system=True)
    batch_size: int = setting(64, "Rows per training step.", check=AT_LEAST_1, flag="--batch-size", system=True)
    lr: float = setting(1e-3, "Adam's learning rate.", check=ABOVE_0, flag="--lr", system=True)
    weight_decay: float = setting(0.0, "Adam's weight decay.", check=NOT_NEGATIVE, flag="--weight-decay", system=True)
    clip: float = setting(1.0, "Gradient-norm clip; 0 turns it off.", check=NOT_NEGATIVE, flag="--clip", system=True)
    early_stop: int = setting(8, "Stop after N epochs without a better validation score.", check=AT_LEAST_1, flag="--early-stop",
                              system=True)
    scheduler_patience: int = setting(5, "Epochs without improvement before the learning rate drops.",
                                      check=AT_LEAST_0, flag="--scheduler-patience", system=True)
    scheduler_factor: float = setting(0.1, "Factor of each learning-rate drop.", check=OPEN_UNIT, flag="--scheduler-factor",
                                      system=True)
    threshold: float = setting(0.5, "Probability above which an emotion is predicted present.", check=OPEN_UNIT, flag="--threshold",
                               system=True)
    select_metric: str | None = setting(None, "Validation metric that picks the best epoch (default: wacc for "
                                        "MOSEI, acc for IEMOCAP).", choices=tuple(METRICS), flag="--select-metric",
                                        system=True)
    seed: int = setting(0, "Random seed of the model and the batches.", check=AT_LEAST_0, flag="--seed")
    device: str = setting("auto", "auto (CUDA when present), cpu, cuda, cuda:N or mps.", flag="--device")
    precision: str = setting("fp32", "bf16: autocast on CUDA.", choices=PRECISIONS, flag="--precision", system=True)
    compile: bool = setting(False, "torch.compile the backbone.", flag="--compile")
    cuda_graphs: bool = setting(True, "On CUDA: capture each training and scoring step as a CUDA graph.",
                                flag="--cuda-graphs/--no-cuda-graphs")
    loader_workers: int | None = setting(None, "Raw media: DataLoader workers reading the cache (default 0 on a "
                                         "CPU, 4 on CUDA).", check=AT_LEAST_0, flag="--loader-workers")
    runs_dir: str = setting("runs", "Parent folder of run folders.", flag="--runs-dir")
    name: str | None = setting(None, "Run folder name (default from model, protocol, target, seed).", flag="--name")
    # False for a config read back from a run folder: it was checked when the run was made, and the
    # check builds the model (torch), which reading runs (`emozsl report`) must not need.
    check_build: dataclasses.InitVar[bool] = True

    def __post_init__(self, check_build: bool = True):
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), FIELD_HINTS[f.name])
        for f in dataclasses.fields(self):
            value, (reason, test) = getattr(self, f.name), f.metadata["check"] or (None, None)
            if value is not None and test and not (math.isfinite(value) and abs(value) <= FLOAT32_MAX and test(value)):
                raise FieldError(f.name, value, reason)
            if value is not None and f.metadata["choices"]:
                check_choice(f.name, value, f.metadata["choices"])
        if self.epochs is None:
            self.epochs = REGISTRY[self.model].epochs
        for name in INPUT_PATHS:  # a run's files say where its inputs are from anywhere (`eval RUN`)
            value = getattr(self, name)
            if value and not (name == "label_words" and _is_label_set(value)):
                setattr(self, name, os.path.abspath(value))
        for name in ("label_words", "label_encoder"):
            if getattr(self, name) == "":
                raise FieldError(name, "", "must not be empty")
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
        if self.shots is not None and self.protocol != "fsl":  # kept, it would split one system in two reports
            raise FieldError("shots", self.shots, f"applies to the few-shot protocol only (this is {self.protocol})")
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
        if not check_build:
            self.model_options = resolve_options(self.model, self.model_options)
            return
        from emozsl.models.build import (
            check_model,  # imports torch: configs are checked where models run
        )

        self.model_options = check_model(self.model, self.modalities, self.model_options, self.head_settings())

    def head_settings(self) -> dict:
        return {"head": self.head, "similarity": self.similarity, "emotion_map": self.emotion_map}

    @classmethod
    def from_dict(cls, values: dict, where: str = "config", check_build: bool = True) -> RunConfig:
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
            return cls(**values, check_build=check_build)
        except FieldError as exc:
            raise exc.located(where) from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# The fields whose values make a run a different system (a report never averages two runs that
# differ in one). The others say where a run trained (device, runs_dir, ...), which repeat it is
# (seed, fold) or which table cell it fills (protocol, target); the paths data, extra, split and
# embeddings are compared by what they hold (the manifest's dataset, the vectors' sha256).
FIELD_HINTS = typing.get_type_hints(RunConfig)  # field -> its type, resolved once
SYSTEM_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig) if f.metadata["system"])


def _is_label_set(value: str) -> bool:
    from emozsl.label_words import LABEL_SETS  # gensim: only when label words are given

    return value in LABEL_SETS


def anchor_paths(values: dict, file: str | Path) -> dict:
    """The fields of a config or sweep `file` with its relative paths taken from the file's folder
    (as its author wrote them), not from wherever the command runs."""
    folder = Path(file).parent
    out = dict(values)
    for name in (*INPUT_PATHS, "runs_dir"):
        value = out.get(name)
        if isinstance(value, str) and value and not os.path.isabs(value) and \
                not (name == "label_words" and _is_label_set(value)):
            out[name] = str(folder / value)
    return out


# A file name holds at most 255 bytes (ext4, APFS, NTFS); a run's lock file adds ".XXXXXXXX.lock".
MAX_NAME_BYTES = 255 - len(".0123abcd.lock")


def check_folder_name(field_name: str, value: str) -> str:
    """A name that becomes one folder inside another: no separators, no '..', not hidden, and short
    enough for the file system with the suffixes emozsl adds (MAX_NAME_BYTES)."""
    if not value or value in (".", "..") or value.startswith(".") or any(c in value for c in "/\\\0:"):
        raise FieldError(field_name, value, "must name one folder (no '/', '\\', ':', not starting with '.')")
    size = len(value.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise FieldError(field_name, f"{value[:24]}...", f"is {size} bytes long; a name may be at most "
                         f"{MAX_NAME_BYTES} bytes (the file system's 255, less the suffix of emozsl's lock file)")
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


def check_sources(config: RunConfig, where: str | None = None) -> None:
    """What a config reads must be there before any training starts (a run, or every trial of a
    sweep): its paths exist and its label words parse. Not part of making a config: a finished
    run's config must stay readable after its files have moved."""
    for name in ("data", "extra", "split", "embeddings", "label_encoder"):
        value = getattr(config, name)
        if value is not None and not Path(value).exists():
            raise FieldError(name, value, "no such file or folder", where)
    if config.label_words:
        from emozsl.label_words import load_label_words  # gensim: only when label words are asked for

        try:
            load_label_words(config.label_words)
        except FieldError as exc:
            raise exc.located(where) if where else exc from None


def config_from_options(config_file: str | None = None, *, zsl: str | None = None, fsl: str | None = None,
                        **overrides) -> RunConfig:
    """`emozsl train`'s config: a config file (optional) with command-line values on top; None means
    unset. An error in a value that came from the file names the file."""
    file_values = read_json(Path(config_file), "config file") if config_file else {}
    if not isinstance(file_values, dict):
        raise EmozslError(f"{config_file}: expected a JSON object of run fields")
    if config_file:
        file_values = anchor_paths(file_values, config_file)
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
        config = RunConfig.from_dict(values, config_file or "options")
        check_sources(config)
        return config
    except FieldError as exc:
        root = exc.field.partition(".")[0]
        if root in given or not config_file:
            raise FieldError(exc.field, exc.value, exc.reason) from None
        raise exc.located(config_file) from None
