"""What training and evaluation share: the run configuration, turning it into a Task, and the
run folder (config.json, metrics.jsonl, checkpoint.pt, metadata.json, results.json).

Checkpoints hold tensors only and are read with torch.load(weights_only=True), which refuses to
execute pickled code; everything else in a run folder is JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from emozsl.data import MODALITIES, default_data_path, load_dataset
from emozsl.errors import EmozslError, check_choice
from emozsl.splits import Task, apply_split, fold_dataset, load_manifest, make_split

PRECISIONS = ("fp32", "bf16")
CONFIG_FILE, METRICS_FILE, CHECKPOINT_FILE = "config.json", "metrics.jsonl", "checkpoint.pt"
METADATA_FILE, RESULTS_FILE, SPLIT_FILE = "metadata.json", "results.json", "split.json"


@dataclass
class RunConfig:
    model: str = "eea"
    model_options: dict = field(default_factory=dict)
    head: str = "embedding"  # or "linear": a plain classifier, supervised comparison only
    similarity: str = "dot"  # embedding head: dot (the paper's), cosine, neg-sq-distance
    emotion_map: str = "linear"  # embedding head: linear (the paper's) or mlp
    data: str = field(default_factory=default_data_path)
    extra: str | None = None  # IEMOCAP 9-class folder supplying the extra emotion
    trust_pickle: bool = False
    split: str | None = None  # a manifest; else made from protocol/target
    protocol: str = "supervised"
    target: str | None = None
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
    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip: float = 1.0
    early_stop: int = 8
    scheduler_patience: int = 5
    scheduler_factor: float = 0.1
    threshold: float = 0.5
    select_metric: str | None = None  # None: wacc for MOSEI, acc for IEMOCAP
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"  # or "bf16": autocast on CUDA
    compile: bool = False  # torch.compile the backbone
    runs_dir: str = "runs"
    name: str | None = None

    def __post_init__(self):
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                    "early_stop": self.early_stop}
        for name, value in positive.items():
            if not value > 0:
                raise EmozslError(f"{name}={value}: must be positive")
        if not 0 < self.threshold < 1:
            raise EmozslError(f"threshold={self.threshold}: must be within (0, 1)")
        check_choice("precision", self.precision, PRECISIONS)
        if (self.folds is None) != (self.fold is None):
            raise EmozslError("folds and fold: give both or neither")
        if self.folds is not None:
            if self.folds < 3:
                raise EmozslError(f"folds={self.folds}: need at least 3 (test, valid and train folds)")
            if not 0 <= self.fold < self.folds:
                raise EmozslError(f"fold={self.fold}: must be within 0..{self.folds - 1}")
            if self.split:
                raise EmozslError("cross-validation makes its own splits: drop --split")

    def head_settings(self) -> dict:
        return {"head": self.head, "similarity": self.similarity, "emotion_map": self.emotion_map}

    @classmethod
    def from_dict(cls, values: dict, where: str = "config") -> RunConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise EmozslError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            return cls(**values)
        except TypeError as exc:  # a value of the wrong type
            raise EmozslError(f"{where}: {exc}") from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EmozslError(f"--device {name}: CUDA is not available on this machine")
    try:
        return torch.device(name)
    except RuntimeError:
        raise EmozslError(f"--device {name}: not a device (use auto, cpu, cuda or cuda:N)") from None


def autocast(device: torch.device, precision: str):
    """The context the forward passes run in: bf16 autocast on CUDA, or plain fp32."""
    if precision == "bf16" and device.type != "cuda":
        raise EmozslError(f"--precision bf16 needs a CUDA device (got {device})")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def prepare_task(config: RunConfig) -> tuple[Task, dict]:
    """Load the data (and extra data), then apply the manifest or make one; returns the task and
    the manifest to store in the run folder."""
    data = load_dataset(config.data, config.trust_pickle)
    if config.folds is not None:
        data = fold_dataset(data, config.folds, config.fold, config.split_seed)
    extra = load_dataset(config.extra, config.trust_pickle) if config.extra else None
    if config.split:
        manifest = load_manifest(config.split)
    else:
        manifest = make_split(data, config.protocol, config.target, config.split_seed, config.shots,
                              config.fraction, extra)
    unknown = [m for m in config.modalities if m not in data.modalities]
    if unknown or not config.modalities:
        raise EmozslError(f"modalities {config.modalities}: choose among {', '.join(data.modalities)}")
    task = apply_split(manifest, data, extra)
    for part in task.splits.values():
        part.features = {m: part.features[m] for m in data.modalities if m in config.modalities}
    return task, manifest


def selection_metric(config: RunConfig, task: Task) -> str:
    return config.select_metric or ("acc" if task.dataset.startswith("iemocap") else "wacc")


def default_run_name(config: RunConfig, suffix: str) -> str:
    """model_protocol[_target][_foldFofK]_suffix: what a run (or a group of runs) is called."""
    target = f"_{config.target}" if config.target is not None else ""
    target += f"_fold{config.fold}of{config.folds}" if config.folds is not None else ""
    return f"{config.model}_{config.protocol}{target}_{suffix}"


def new_run_dir(config: RunConfig) -> Path:
    """A fresh folder: an existing run is never overwritten (a suffix is added instead)."""
    base = config.name or default_run_name(config, f"seed{config.seed}")
    root = Path(config.runs_dir)
    candidate, n = root / base, 1
    while candidate.exists():
        n += 1
        candidate = root / f"{base}_{n}"
    candidate.mkdir(parents=True)
    return candidate


def write_json(path: Path, value: dict) -> None:
    """Atomic: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=False, default=_jsonable) + "\n")
    tmp.replace(path)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_json(path: Path) -> dict:
    if not path.exists():
        raise EmozslError(f"{path}: missing (is {path.parent} a finished emozsl run?)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise EmozslError(f"{path}: not valid JSON ({exc})") from None


def save_checkpoint(model: torch.nn.Module, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    tmp.replace(path)


def load_checkpoint(model: torch.nn.Module, path: Path) -> None:
    if not path.exists():
        raise EmozslError(f"{path}: missing checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses anything but tensors and plain containers
        raise EmozslError(f"{path}: not a tensors-only checkpoint ({type(exc).__name__})") from None
    model.load_state_dict(state)
