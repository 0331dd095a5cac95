"""The settings of every command, each declared once (`setting`): a run's (`RunConfig`), every field
checked when a config is made, so a bad value stops a command (or a whole sweep) before any data is
read, with an error naming the field and the value; and the other commands' own settings
(`EvalSettings`, `PredictSettings`, ...), which reuse a run setting's declaration (`like`) where they
set the same thing. The command-line options are made from these declarations
(`config_option` and `settings_options` in emozsl/cli/options.py), and a command's options reach its
library function as one settings object.

Pickle trust is not a setting: it is a permission the user grants on the command line for one
command, never something a config file, a sweep file or a received run folder can carry."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from emozsl.calibration import CALIBRATIONS
from emozsl.data import IMPUTE_CHOICES, MODALITIES, default_data_path
from emozsl.data.corpora import CORPORA, OTHER
from emozsl.data.dataset import IMPUTE_DEFAULT, SPLITS
from emozsl.data.formats import missing_data
from emozsl.errors import EmozslError, FieldError, check_choice
from emozsl.features import ALIGN_CHOICES, DEFAULT_MAX_STEPS
from emozsl.fileio import read_json
from emozsl.metrics import METRICS
from emozsl.models import (
    EMOTION_MAPS,
    HEAD_DEFAULTS,
    HEADS,
    REGISTRY,
    SIMILARITIES,
    resolve_options,
)
from emozsl.numeric import (
    ABOVE_0,
    AT_LEAST_0,
    AT_LEAST_1,
    NOT_NEGATIVE,
    OPEN_UNIT,
    check_number,
)
from emozsl.splits import (
    PROTOCOLS,
    SPLIT_RULES,
    check_protocol,
    load_manifest,
    protocol_from_options,
)

PRECISIONS = ("fp32", "bf16")
EXECUTORS = ("local", "process", "ray")
DATASETS = tuple(name for name in CORPORA if name != OTHER.name)  # the corpora `split --dataset` checks
INPUT_PATHS = ("data", "extra", "split", "embeddings", "label_words", "label_encoder")  # stored absolute
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
TRUST_FIELD = "trust_pickle"  # a field of configs written by emozsl 0.1.0
TRUST_REFUSAL = ("pickle trust comes only from the command line, never from a file; remove the field "
                 "and pass --trust-pickle if you trust the data")

# What a setting is to a run; a run's identity (`identity`) is every role but placement.
ROLES = {
    "system": "two runs that differ in it are different systems: a report never averages them (SYSTEM_FIELDS)",
    "input": "what a run reads (reports compare the data set and the vectors by content)",
    "task": "which table cell a run fills: protocol and target",
    "repetition": "which repeat a run is, or how a command repeats runs",
    "placement": "where and how a run runs or writes, never what it computes (a finished run is "
                 "resumed whatever these were)",
    "output": "what a command scores, shows or writes of a finished run",
}
DEVICE_RULE = ("not a training device (auto, cpu, cuda, cuda:N or mps)", lambda v: DEVICE_PATTERN.fullmatch(v))


def setting(default=dataclasses.MISSING, help: str = "", *, role: str, factory=dataclasses.MISSING, choices=None,
            check: tuple | None = None, flag: str | None = None, path: str | None = None, multiple: bool = False):
    """A setting, declared once: its default, help, `role` (one of ROLES), choices or `check` (a rule
    (reason, test) of emozsl.numeric; both checked when the settings are made: `check_declared`),
    command-line flag (None: no flag of its own), `path` ("file" or "folder": the flag names one)
    and `multiple` (the flag is repeatable). The command's options are made from these:
    `config_option` in emozsl/cli/options.py."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is none of {', '.join(ROLES)}")
    metadata = {"help": help, "role": role, "choices": choices, "check": check, "flag": flag, "path": path,
                "multiple": multiple}
    return field(default=default, default_factory=factory, metadata=metadata)


@functools.cache
def hints(settings: type) -> dict:
    """A settings class's field -> its type, resolved once."""
    return typing.get_type_hints(settings)


def check_declared(settings) -> None:
    """Each field of a settings dataclass against its declaration: its type, then its rule and its
    choices (a list's items each). FieldError naming the first field at fault."""
    declared = dataclasses.fields(settings)
    for f in declared:
        _check_type(f.name, getattr(settings, f.name), hints(type(settings))[f.name], f.metadata["check"])
    for f in declared:
        value = getattr(settings, f.name)
        if f.metadata["check"]:
            check_number(f.name, value, f.metadata["check"])
        if value is not None and f.metadata["choices"]:
            for item in value if isinstance(value, list) else [value]:
                check_choice(f.name, item, f.metadata["choices"])


@dataclass
class RunConfig:
    model: str = setting("eea", "Backbone (see `emozsl models`).", choices=tuple(REGISTRY), flag="--model",
                         role="system")
    model_options: dict = setting(help="Model option KEY=VALUE (see `emozsl models`).", factory=dict,
                                  flag="--option", role="system")
    head: str = setting(HEAD_DEFAULTS["head"], "embedding (scores unseen emotions) or linear (a plain classifier, "
                        "supervised comparison only).", choices=HEADS, flag="--head", role="system")
    similarity: str = setting(HEAD_DEFAULTS["similarity"], "Embedding head: dot (the paper's), cosine with a learned "
                              "temperature, neg-sq-distance.", choices=SIMILARITIES, flag="--similarity", role="system")
    emotion_map: str = setting(HEAD_DEFAULTS["emotion_map"], "Embedding head: linear (the paper's) or mlp.",
                               choices=EMOTION_MAPS, flag="--emotion-map", role="system")
    data: str = setting(help="Data (default: $EMOZSL_DATA or data/synth-mosei).", factory=default_data_path,
                        flag="--data", role="input")
    extra: str | None = setting(None, "IEMOCAP 9-class folder that supplies the extra emotion.", flag="--extra",
                                role="input")
    impute: str = setting(IMPUTE_DEFAULT, "NaN and infinite feature values: none refuses them (COVAREP audio -inf is set to 0 "
                          "either way); zero sets them to 0, as the field's loaders do.", choices=IMPUTE_CHOICES,
                          flag="--impute", role="system")
    split: str | None = setting(None, "A split manifest (else one is made from --zsl/--fsl).", flag="--split",
                                role="input")
    protocol: str = setting("supervised", "Set by --zsl / --fsl or the manifest.", choices=PROTOCOLS, role="task")
    target: str | int | None = setting(None, "The held-out (zsl) or few-shot (fsl) emotion, by name or index.",
                                       role="task")
    shots: int | None = setting(None, "Few-shot: keep exactly N positives (default ceil(F*P)+1).",
                                check=SPLIT_RULES["shots"], flag="--shots", role="system")
    fraction: float = setting(0.01, "Few-shot: keep ceil(F*P)+1 of the P positives.", check=SPLIT_RULES["fraction"],
                              flag="--fraction", role="system")
    split_seed: int = setting(0, "Seed of the few-shot sample and of cross-validation folds.",
                              check=SPLIT_RULES["split_seed"], flag="--split-seed", role="system")
    folds: int | None = setting(None, "k-fold cross-validation over all rows: this run is fold `fold` of `folds`.",
                                check=("need at least 3 (test, valid and train folds)", lambda v: v >= 3),
                                role="system")
    fold: int | None = setting(None, "This run's fold (with folds).", role="repetition")
    # Modalities used; text+audio answers FACET's leak (its visual columns hold a commercial
    # emotion classifier's output), see docs/protocols.md.
    modalities: list = setting(help="Comma-separated subset of text,audio,visual (e.g. text,audio).",
                               factory=lambda: list(MODALITIES), flag="--modalities", role="system")
    embeddings: str | None = setting(None, "Word-vector file (default: the shipped GloVe 6B 50d emotions).",
                                     flag="--embeddings", role="input")
    emotion_words: dict = setting(help="Word form for an emotion, EMOTION=WORD (excited=exciting).", factory=dict,
                                  flag="--word", role="system")
    label_words: str | None = setting(None, "Emotions as several words: a shipped set (mosei, iemocap, cherma) or a "
                                      "label-word file (see `emozsl embeddings show --label-words`).",
                                      flag="--label-words", role="system")
    label_encoder: str | None = setting(None, "Emotion vectors from their descriptions, encoded by this local "
                                        "sentence-encoder folder (needs the extra [text]).", flag="--label-encoder",
                                        role="system")
    calibration: str = setting("standardize", "Unseen emotions' calibrated thresholded metrics (calibration.py).",
                               choices=CALIBRATIONS, flag="--calibration", role="system")
    epochs: int | None = setting(None, "Training epochs (default: the backbone's, 100; 20 for fe2e/mesm; early "
                                 "stopping ends most sooner).", check=AT_LEAST_1, flag="--epochs", role="system")
    batch_size: int = setting(64, "Rows per training step.", check=AT_LEAST_1, flag="--batch-size", role="system")
    lr: float = setting(1e-3, "Adam's learning rate.", check=ABOVE_0, flag="--lr", role="system")
    weight_decay: float = setting(0.0, "Adam's weight decay.", check=NOT_NEGATIVE, flag="--weight-decay",
                                  role="system")
    clip: float = setting(1.0, "Gradient-norm clip; 0 turns it off.", check=NOT_NEGATIVE, flag="--clip", role="system")
    early_stop: int = setting(8, "Stop after N epochs without a better validation score.", check=AT_LEAST_1,
                              flag="--early-stop", role="system")
    scheduler_patience: int = setting(5, "Epochs without improvement before the learning rate drops.",
                                      check=AT_LEAST_0, flag="--scheduler-patience", role="system")
    scheduler_factor: float = setting(0.1, "Factor of each learning-rate drop.", check=OPEN_UNIT,
                                      flag="--scheduler-factor", role="system")
    threshold: float = setting(0.5, "Probability above which an emotion is predicted present.", check=OPEN_UNIT,
                               flag="--threshold", role="system")
    select_metric: str | None = setting(None, "Validation metric that picks the best epoch (default: wacc for "
                                        "MOSEI, acc for IEMOCAP).", choices=tuple(METRICS), flag="--select-metric",
                                        role="system")
    seed: int = setting(0, "Random seed of the model and the batches.", check=AT_LEAST_0, flag="--seed",
                        role="repetition")
    device: str = setting("auto", "auto (CUDA when present), cpu, cuda, cuda:N or mps.", check=DEVICE_RULE,
                          flag="--device", role="placement")
    # bf16 changes the numbers a run computes: a system setting, not a placement
    precision: str = setting("fp32", "bf16: autocast on CUDA.", choices=PRECISIONS, flag="--precision", role="system")
    compile: bool = setting(False, "torch.compile the backbone.", flag="--compile", role="placement")
    cuda_graphs: bool = setting(True, "On CUDA: capture each training and scoring step as a CUDA graph.",
                                flag="--cuda-graphs/--no-cuda-graphs", role="placement")
    loader_workers: int | None = setting(None, "Raw media: DataLoader workers reading the cache (default 0 on a "
                                         "CPU, 4 on CUDA).", check=AT_LEAST_0, flag="--loader-workers",
                                         role="placement")
    runs_dir: str = setting("runs", "Parent folder of run folders.", flag="--runs-dir", role="placement")
    name: str | None = setting(None, "Run folder name (default from model, protocol, target, seed).", flag="--name",
                               role="placement")
    # False for a config read back from a run folder: it was checked when the run was made, and the
    # check builds the model (torch), which reading runs (`emozsl report`) must not need.
    check_build: dataclasses.InitVar[bool] = True

    def __post_init__(self, check_build: bool = True):
        check_declared(self)
        if self.epochs is None:
            self.epochs = REGISTRY[self.model].epochs
        for name in INPUT_PATHS:  # a run's files say where its inputs are from anywhere (`eval RUN`)
            value = getattr(self, name)
            if value and not (name == "label_words" and _is_label_set(value)):
                setattr(self, name, os.path.abspath(value))
        for name in ("label_words", "label_encoder"):
            if getattr(self, name) == "":
                raise FieldError(name, "", "must not be empty")
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
        check_protocol(self.protocol, self.target, self.shots, manifest=self.split is not None)
        if (self.folds is None) != (self.fold is None):
            raise FieldError("fold", self.fold, "give folds and fold together, or neither")
        if self.folds is not None:
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


RUN_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}


def defaults(settings: type) -> types.SimpleNamespace:
    """The declared defaults of a settings class, by name (`DEFAULTS.device`): what library
    functions default to. A default made by a factory is left out (it is made when the settings are,
    e.g. data from $EMOZSL_DATA)."""
    return types.SimpleNamespace(**{f.name: f.default for f in dataclasses.fields(settings)
                                    if f.default is not dataclasses.MISSING})


DEFAULTS = defaults(RunConfig)


# The fields whose values make a run a different system: a report never averages two runs that
# differ in one. The paths data, extra, split and embeddings (role input) are compared by what
# they hold (the manifest's dataset, the vectors' sha256).
SYSTEM_FIELDS = tuple(name for name, f in RUN_FIELDS.items() if f.metadata["role"] == "system")


def identity(config: RunConfig | dict, repeats: bool = True) -> dict:
    """What a run computes: its settings of every role but placement (ROLES), and with `repeats`
    False but repetition too (what every run of a --seeds/--folds group shares). A sweep resumes a
    finished trial, and `train --seeds` a group folder, only when its identity is the one asked
    for; two runs of one identity are one system of one table cell in a report (they differ in no
    SYSTEM_FIELDS). `config`: a RunConfig or its to_dict (a field it lacks counts as None)."""
    values = config.to_dict() if isinstance(config, RunConfig) else config
    left_out = {"placement"} if repeats else {"placement", "repetition"}
    return {name: values.get(name) for name, f in RUN_FIELDS.items() if f.metadata["role"] not in left_out}


def like(name: str, default=dataclasses.MISSING, *, of: type = RunConfig, **changes):
    """A command's setting that sets what setting `name` of `of` sets: that declaration (help, role,
    rule, choices, flag, default), with another `default` or `changes` to its metadata where the
    command means it otherwise (eval's --calibration: None, the run's)."""
    declared = {f.name: f for f in dataclasses.fields(of)}[name]
    metadata = {**declared.metadata, **changes}
    if default is dataclasses.MISSING:
        return field(default=declared.default, default_factory=declared.default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class CommandSettings:
    """A command's own settings (RunConfig's are a run's): checked against their declarations when
    made, so a bad value stops the command before it reads anything."""

    def __post_init__(self):
        check_declared(self)

    @classmethod
    def from_dict(cls, values: dict, where: str) -> CommandSettings:
        """Settings read from the file `where`: an error names it."""
        try:
            return cls(**values)
        except FieldError as exc:
            raise exc.located(where) from None


@dataclass
class TaskSettings(CommandSettings):
    """`train`'s and `split`'s protocol flags, which set RunConfig's protocol and target."""
    zsl: str | None = setting(None, "Zero-shot on this emotion (index or name).", flag="--zsl", role="task")
    fsl: str | None = setting(None, "Few-shot on this emotion (index or name).", flag="--fsl", role="task")


@dataclass
class RepeatSettings(CommandSettings):
    """How runs are repeated and placed: `train --seeds/--folds/--stack`, a sweep's file and flags
    (executor, workers, stack). Checked here only (crossval.repeated_runs, sweep.run_sweep)."""
    seeds: int = setting(1, "Repeat with N seeds; reports mean +- std.", check=("need at least 1 seed", lambda v: v >= 1),
                         flag="--seeds", role="repetition")
    folds: int | None = like("folds", help="k-fold cross-validation over all rows (with --seeds: folds x seeds runs).",
                             flag="--folds", role="repetition")
    stack: int | None = setting(None, "Runs trained together in one process: those of --seeds/--folds, or a sweep's "
                                "trials of the same data (default: 32 on CUDA, 4 for raw media, 1 on CPU).",
                                check=AT_LEAST_1, flag="--stack", role="repetition")
    executor: str = setting("local", "Where a sweep's groups of trials train: local (one after another here), "
                            "process (--workers at once on this machine), ray (a Ray cluster).", choices=EXECUTORS,
                            flag="--executor", role="repetition")
    workers: int = setting(1, "process / ray: trials (or stacked groups) at a time.",
                           check=("must be an integer of at least 1", lambda v: v >= 1), flag="--workers",
                           role="repetition")


@dataclass
class QuickstartSettings(CommandSettings):
    """`emozsl quickstart`: generated data, a zero-shot split and one `eea` run in one folder."""
    out: str = setting("quickstart", "Folder for the generated data, split and run.", flag="--out", path="folder",
                       role="placement")
    target: str = setting("fear", "Emotion held out (name or index).", flag="--zsl", role="task")
    epochs: int = like("epochs", 40, help="Training epochs (early stopping may end them sooner).")
    seed: int = like("seed")
    device: str = like("device")


@dataclass
class SplitSettings(CommandSettings):
    """`emozsl split`: a split manifest from data (the same split settings as a run's)."""
    dataset: str | None = setting(None, "Checked against the data.", choices=DATASETS, flag="--dataset", role="input")
    data_path: str | None = like("data", None, help="MOSEI folder, MulT IEMOCAP pickle or converted .h5 (default: "
                                 "$EMOZSL_DATA or data/synth-mosei).")
    extra: str | None = like("extra")
    zsl: str | None = like("zsl", of=TaskSettings)
    fsl: str | None = like("fsl", of=TaskSettings)
    shots: int | None = like("shots")
    fraction: float = like("fraction")
    split_seed: int = like("split_seed", flag="--seed")
    out: str | None = setting(None, "Manifest file (default: splits/<name>.json).", flag="--out", path="file",
                              role="output")
    impute: str = like("impute")


@dataclass
class EvalSettings(CommandSettings):
    """`emozsl eval RUN`: a finished run's test table."""
    emotions: str | None = setting(None, "Comma-separated emotions to score (default: all of the run's split).",
                                   flag="--emotions", role="output")
    data_path: str | None = like("data", None, help="Data to evaluate on (default: the run's; must match its split).")
    device: str = like("device")
    out: str | None = setting(None, "Folder for the tables (default: RUN/eval).", flag="--out", path="folder",
                              role="output")
    calibration: str | None = like("calibration", None, help="Unseen emotions' calibration (default: the run's).")


@dataclass
class PredictSettings(CommandSettings):
    """`emozsl predict RUN`: a finished run's scores on any data, for any emotion words."""
    data_path: str | None = like("data", None, help="Data to score: any path emozsl reads, labelled or not, or a "
                                 "folder of clips (default: the run's data).")
    emotions: str | None = setting(None, "Comma-separated emotions: the run's, or any words (NAME=WORD or "
                                   "NAME=WORD1+WORD2 to give a name its words); default the run's (another labelled "
                                   "corpus: its own).", flag="--emotions", role="output")
    vectors: str | None = setting(None, "A larger word-vector file for words the run's file lacks (any form "
                                  "`embeddings build` reads; checked to be the run's space).", flag="--vectors",
                                  path="file", role="input")
    label_words: str | None = like("label_words", help="Label-word set (mosei, iemocap, cherma or a file) for "
                                   "emotions the run lacks.")
    words: dict = like("emotion_words", help="Word form for an emotion, NAME=WORD (excited=exciting), as train's "
                       "--word; the same as NAME=WORD in --emotions.")
    split: str | None = setting(None, "Score this split only (default: all rows).", choices=SPLITS, flag="--split",
                                role="output")
    out: str | None = setting(None, "Output file, .csv, .jsonl or .parquet, with OUT.meta.json beside it (default: "
                              "CSV on standard output).", flag="--out", path="file", role="output")
    overwrite: bool = setting(False, "Replace --out if it exists.", flag="--overwrite", role="output")
    top: int = setting(3, "Most probable emotions listed per utterance (0: none).",
                       check=("must be 0 or more", lambda v: v >= 0), flag="--top", role="output")
    calibration: str | None = like("calibration", None, help="Unseen emotions' calibration (default: the run's).")
    strict: bool = setting(False, "Stop at the first clip that cannot be decoded (default: name it in the error "
                           "column and score the rest).", flag="--strict", role="output")
    no_cache: bool = setting(False, "Decode clips into a temporary folder, not the media cache.", flag="--no-cache",
                             role="placement")
    device: str = like("device")
    impute: str = like("impute")


@dataclass
class BenchSettings(CommandSettings):
    """`emozsl bench`: training and scoring speed per backbone."""
    models: list = setting(help=f"Backbone to time (repeatable; default {DEFAULTS.model}).", factory=list,
                           choices=tuple(REGISTRY), flag="--model", multiple=True, role="system")
    all_models: bool = setting(False, "Every registered backbone.", flag="--all", role="system")
    device: str = like("device")
    data_path: str | None = like("data", None, help="Data to time on (default: generated MOSEI data of --size, "
                                 "cached).")
    size: str = setting("full", "Size of the generated data (full: the real split sizes).", choices=("small", "full"),
                        flag="--size", role="input")
    batch_size: int = like("batch_size")
    precision: str = like("precision")
    compile: bool = like("compile")
    cuda_graphs: bool = like("cuda_graphs")
    profile: bool = setting(False, "Also per step: host syncs (with their lines), operations, graph breaks; on CUDA "
                            "kernel launches, kernel vs step time.", flag="--profile", role="output")
    out: str = setting("bench.json", "The results as JSON.", flag="--out", path="file", role="output")


@dataclass
class FeaturesSettings(CommandSettings):
    """`emozsl features extract SOURCE OUT`: which extractors, and how (emozsl.features.extract_features
    takes each by the same name; `no_cache` is its `cache` turned round)."""
    text: str | None = setting(None, "Text extractor NAME[:ARG] (see `emozsl features list`), e.g. "
                               "words:glove.840B.300d.txt.", flag="--text", role="system")
    audio: str | None = setting(None, "Audio extractor NAME[:ARG], e.g. opensmile:egemaps, logmel, "
                                "hf:~/models/wav2vec2.", flag="--audio", role="system")
    visual: str | None = setting(None, "Visual extractor NAME[:ARG], e.g. openface:DIR (OpenFace 2 CSV files), "
                                 "hf:~/models/vit.", flag="--visual", role="system")
    max_steps: int = setting(DEFAULT_MAX_STEPS, "Most steps per modality (words when word-aligned).",
                             flag="--max-steps", role="system")
    align: str = setting("auto", "word: one step per word (needs word timings); none: each modality at its own "
                         "rate; auto: word when every utterance has timings.", choices=ALIGN_CHOICES, flag="--align",
                         role="system")
    words_dir: str | None = setting(None, "Folder of STEM.words.csv word timings (columns word,start,end).",
                                    flag="--words-dir", path="folder", role="input")
    frame_interval: float = setting(0.5, "Seconds between the frames an image encoder sees.",
                                    flag="--frame-interval", role="system")
    device: str = setting("cpu", "Device of the Hugging Face encoders.", flag="--device", role="placement")
    overwrite: bool = setting(False, "Replace OUT if it exists.", flag="--overwrite", role="output")
    strict: bool = setting(False, "Stop at the first clip that fails (default: name it, leave it out and extract "
                           "the rest).", flag="--strict", role="output")
    no_cache: bool = setting(False, "Extract every clip anew (default: reuse each clip's cached features, so a "
                             "killed extraction resumes).", flag="--no-cache", role="placement")
    workers: int | None = setting(None, "Processes extracting clips at once for the per-clip extractors (openSMILE, "
                                  "log-mel, MFCC, OpenFace CSVs) [default: one per core from 32 clips].", check=AT_LEAST_1,
                                  flag="--workers", role="placement")


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


def _check_type(name: str, value, hint, rule: tuple | None = None) -> None:
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
    reason = f"must be {' or '.join(names[k] for k in allowed)}"
    if rule and rule[0].startswith("must be at least"):  # a count: its least value too, not "or empty"
        reason = f"must be {names[allowed[0]]} of {rule[0].removeprefix('must be ')}"
    raise FieldError(name, value, reason)


def check_sources(config: RunConfig, where: str | None = None) -> None:
    """What a config reads must be there before any training starts (a run, or every trial of a
    sweep): its paths exist and its label words parse. Not part of making a config: a finished
    run's config must stay readable after its files have moved."""
    for name in ("data", "extra", "split", "embeddings", "label_encoder"):
        value = getattr(config, name)
        if value is not None and not Path(value).exists():
            raise FieldError(name, value, missing_data(value) if name == "data" else "no such file or folder", where)
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
