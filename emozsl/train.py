"""The one training loop for every backbone, and the recipe it trains with.

The recipe (beside the loop, so the benchmark times exactly this code): each output's targets (the
prediction learns the shared label; an auxiliary space, LFMIM's uni-modal heads, its modality's own
label when the data carry one); BCE with logits and pos_weight = #neg/#pos per trained emotion;
Adam, fused (a pretrained part a backbone fine-tunes at lr/10); gradient-norm clipping;
ReduceLROnPlateau on the validation loss; early stopping and the best checkpoint on the validation
average of the selection metric (never on test).

The step: forward, loss, backward, clipping and the update, with no host synchronisation (padding
and shapes are fixed at load, batches.py), so on CUDA it is captured once per shape and replayed as
one CUDA graph (capture.py; the optimizer is capturable and its learning rate a device tensor the
scheduler updates in place). The non-finite loss check is kept on the device and read once an epoch.

Runs trained together (`train_group`): several runs, e.g. the held-out emotions x seeds of a sweep,
train in one process in lockstep, one batch of each in turn; each keeps its own random state (so it
equals the run trained alone, on a CPU exactly), early stopping, best checkpoint and run folder, and
on CUDA its own stream, so the GPU overlaps their steps. A single run is a group of one."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from emozsl.capture import CapturedStep, CudaGraphs
from emozsl.config import RunConfig
from emozsl.errors import EmozslError
from emozsl.fileio import file_sha256
from emozsl.metrics import METRICS
from emozsl.models import get_backbone
from emozsl.runs import (
    RunBusy,
    RunDir,
    RunFinished,
    RunMetadata,
    RunResults,
    default_run_name,
)
from emozsl.scoring import predict_logits, score, scoring_step
from emozsl.session import Session, build_session, resolve_device, selection_metric

FINE_TUNE_LR_SCALE = 0.1  # the paper's rate for a pretrained text encoder
# Runs trained together by default on a CUDA device (each keeps its data on the device: about 0.7 GB
# for MOSEI-size features); raw-media runs fewer, each with its DataLoader workers.
CUDA_STACK, RAW_CUDA_STACK = 32, 4
log = logging.getLogger("emozsl")


# ---- the recipe ------------------------------------------------------------------------------

def output_targets(session: Session, split: str = "train") -> dict[str, torch.Tensor]:
    """Each output's targets on `split`, (N, K_trained) on the device."""
    part, columns = session.task.splits[split], session.trained_columns
    shared = torch.from_numpy(part.presence[:, columns].astype(np.float32)).to(session.device)
    out = {"prediction": shared}
    for space in getattr(session.model.backbone, "auxiliary_spaces", ()):
        own = part.modality_labels.get(space)
        out[space] = shared if own is None else torch.from_numpy((own[:, columns] > 0).astype(np.float32)).to(session.device)
    return out


def loss_function(session: Session) -> torch.nn.Module:
    """BCE with logits, pos_weight = #neg/#pos per trained emotion on train."""
    labels = session.task.splits["train"].presence[:, session.trained_columns]
    positives = labels.sum(0)
    empty = [e for e, p in zip(session.task.train_emotions, positives) if p == 0]
    if empty:
        raise EmozslError(f"train split has no positive for: {', '.join(empty)} (nothing to learn them from)")
    weights = torch.from_numpy(((len(labels) - positives) / positives).astype(np.float32)).to(session.device)
    return torch.nn.BCEWithLogitsLoss(pos_weight=weights)


def make_optimizer(session: Session, captured: bool) -> torch.optim.Optimizer:
    """Adam, fused (one kernel for every parameter, no value read on the host); captured on CUDA:
    capturable, with each group's learning rate a device tensor (the scheduler fills it in place)."""
    config, model = session.config, session.model
    slow = {id(p) for p in getattr(model.backbone, "fine_tuned_parameters", list)()}
    groups = [(config.lr, [p for p in model.parameters() if id(p) not in slow])]
    if slow:
        groups.append((config.lr * FINE_TUNE_LR_SCALE, [p for p in model.parameters() if id(p) in slow]))
    rate = (lambda lr: torch.tensor(lr, device=session.device)) if captured else float
    return torch.optim.Adam([{"params": params, "lr": rate(lr)} for lr, params in groups], lr=rate(config.lr),
                            weight_decay=config.weight_decay, fused=True, capturable=captured)


def make_scheduler(config: RunConfig, optimizer: torch.optim.Optimizer):
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=config.scheduler_factor,
                                                      patience=config.scheduler_patience)


def graph_backend(session: Session) -> CudaGraphs | None:
    """CUDA graphs on a CUDA device unless the config turns them off; eager elsewhere."""
    return CudaGraphs(session.device) if session.config.cuda_graphs and session.device.type == "cuda" else None


class Trainer:
    """A session's training: the recipe, the training and scoring steps (captured with `backend`),
    an epoch's running loss, validation. `isolate()` gives it its own random state (and a CUDA
    stream) for training beside others; every call is then made inside `context()`."""

    def __init__(self, session: Session, backend=None):
        config = self.config = session.config
        self.session, self.model = session, session.model
        self.targets = output_targets(session)
        self.loss_fn = loss_function(session)
        self.optimizer = make_optimizer(session, backend is not None)
        self.scheduler = make_scheduler(config, self.optimizer)
        self.vectors = session.train_vectors
        self.model.check_emotions(self.vectors)
        self.train_inputs, _ = session.inputs("train")
        self.valid_inputs, self.valid_labels = session.inputs("valid")
        self.precision = session.precision()
        self.generator = torch.Generator(device="cpu").manual_seed(config.seed)
        self.step = CapturedStep(self._train_step, backend, f"{config.model} training step")
        self.score_step = CapturedStep(scoring_step(self.model, self.valid_inputs, self.vectors), backend,
                                       f"{config.model} scoring step")
        self.rng_state, self.stream = None, None

    def loss(self, payload: dict, rows: torch.Tensor) -> torch.Tensor:
        """The forward pass and the loss of a training batch (summed over the model's outputs)."""
        features = self.train_inputs.features(payload, rows)
        with self.precision:
            outputs = self.model.outputs(features, self.vectors)
            return sum(self.loss_fn(logits.float(), self.targets[space][rows]) for space, logits in outputs.items())

    def _train_step(self, payload: dict, rows: torch.Tensor) -> torch.Tensor:
        """The training step: loss, backward, clipping, update; the loss, detached."""
        loss = self.loss(payload, rows)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip)
        self.optimizer.step()
        return loss.detach()

    @property
    def capture_seconds(self) -> float:
        return self.step.capture_seconds + self.score_step.capture_seconds

    # -- random state and stream of a trainer among others
    def isolate(self) -> None:
        """From now on, its own random state (the global one as it is now, right after its model
        was built, as when it trains alone) and, on CUDA, its own stream and its own state of the
        device's generator: its dropout draws from it, and each graph it captures registers that
        state, so the graphs of different trainers never share an RNG offset."""
        self.rng_state = torch.get_rng_state()
        device = self.session.device
        if device.type == "cuda":
            self.cuda_generator = torch.cuda.default_generators[device.index if device.index is not None
                                                                else torch.cuda.current_device()]
            self.cuda_state = self.cuda_generator.clone_state()
            self.stream = torch.cuda.Stream(device)
            self.stream.wait_stream(torch.cuda.current_stream(device))  # its inputs and model

    @contextlib.contextmanager
    def context(self):
        if self.rng_state is None:
            yield
            return
        outer = torch.get_rng_state()
        torch.set_rng_state(self.rng_state)
        if self.stream is not None:
            outer_cuda = self.cuda_generator.graphsafe_get_state()
            self.cuda_generator.graphsafe_set_state(self.cuda_state)
        try:
            with torch.cuda.stream(self.stream) if self.stream is not None else contextlib.nullcontext():
                yield
        finally:
            self.rng_state = torch.get_rng_state()
            torch.set_rng_state(outer)
            if self.stream is not None:
                self.cuda_generator.graphsafe_set_state(outer_cuda)

    # -- an epoch
    def start_epoch(self, max_rows: int | None = None):
        """The epoch's batches (the first `max_rows` rows of a random order, for a warm-up)."""
        self.model.train()
        order = torch.randperm(len(self.train_inputs), generator=self.generator)[:max_rows]
        device = self.session.device
        self.rows, self.batch = len(order), 0
        self.total, self.first_bad = torch.zeros((), device=device), torch.full((), -1, device=device)
        self.batch_count = -(-self.rows // self.config.batch_size)
        return iter(self.train_inputs.batches(self.config.batch_size, order))

    def train_batch(self, payload: dict, rows: torch.Tensor) -> None:
        loss = self.step(payload, rows)
        self.total += loss * len(rows)
        self.first_bad = torch.where((self.first_bad < 0) & ~torch.isfinite(loss), self.batch, self.first_bad)
        self.batch += 1

    def epoch_loss(self, epoch: int) -> float:
        """The epoch's mean training loss (summed over the model's outputs); a non-finite loss stops
        training with an error naming the epoch and the first bad batch."""
        if int(self.first_bad) >= 0:
            raise EmozslError(f"epoch {epoch}, batch {int(self.first_bad) + 1} of {self.batch_count}: the training "
                              "loss is not finite; lower lr, or look for extreme values in the data")
        return float(self.total) / self.rows

    def validate(self, epoch: int, metric: str) -> tuple[float, float]:
        """The validation loss (of the prediction) and the mean of `metric` over the trained emotions."""
        logits = predict_logits(self.model, self.valid_inputs, self.vectors, self.precision, self.score_step)
        valid_loss = float(self.loss_fn(logits, self.valid_labels))
        if not np.isfinite(valid_loss):
            raise EmozslError(f"epoch {epoch}: the validation loss is not finite; look for extreme values in the "
                              "validation data, or lower lr")
        valid = score(logits, self.valid_labels, self.session.task.train_emotions, [], self.config.threshold, "valid")
        return valid_loss, float(np.nanmean(valid.per_emotion[metric]))


def train_epoch(trainers: list[Trainer], epoch: int = 1, max_rows: int | None = None,
                failures: dict | None = None) -> dict[Trainer, float]:
    """One pass over each trainer's training rows, their steps interleaved batch by batch; returns
    each one's mean loss. With `failures`, a trainer that fails is dropped and its error kept there
    (the others go on); without, the error is raised."""
    def guarded(trainer, action):
        try:
            with trainer.context():
                return action()
        except Exception as exc:
            if failures is None:
                raise
            failures[trainer] = exc
            return None

    pending = {t: guarded(t, lambda t=t: t.start_epoch(max_rows)) for t in trainers}
    pending = {t: batches for t, batches in pending.items() if t not in (failures or {})}
    total = sum(t.batch_count for t in pending)
    with tqdm(total=total, desc=f"epoch {epoch}", leave=False, disable=None) as bar:
        while pending:
            for trainer, batches in list(pending.items()):
                done = guarded(trainer, lambda: _next_step(trainer, batches))
                if done is not False:  # finished (True) or failed (None)
                    del pending[trainer]
                else:
                    bar.update()
    losses = {t: guarded(t, lambda t=t: t.epoch_loss(epoch)) for t in trainers if t not in (failures or {})}
    return {t: loss for t, loss in losses.items() if t not in (failures or {})}


def _next_step(trainer: Trainer, batches) -> bool:
    """Train the next batch; True when there is none left."""
    batch = next(batches, None)
    if batch is None:
        return True
    trainer.train_batch(*batch)
    return False


# ---- runs ------------------------------------------------------------------------------------

class TrainingRun:
    """One run being trained: its folder (written as it goes), trainer and early-stopping state.
    `label` prefixes its log lines (runs trained together interleave them)."""

    def __init__(self, session: Session, run: RunDir, backend=None, label: str = ""):
        self.session, self.run, self.config = session, run, session.config
        config, task, model = session.config, session.task, session.model
        self.metric, self.label = selection_metric(config), label
        parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
        run.write_config(config)
        run.write_manifest(task.manifest)
        run.write_metadata(RunMetadata(
            emotions=task.emotions, train_emotions=task.train_emotions, unseen=task.unseen,
            input_dims=task.input_dims(), parameters=parameters,
            embeddings={"path": str(session.embeddings.resolve()), "sha256": file_sha256(session.embeddings),
                        "vectors": session.vectors.cpu().tolist()},
            split={"protocol": task.manifest["protocol"], "target": task.manifest["target"],
                   "sources": task.manifest["sources"], "file": config.split},
            selection_metric=self.metric, device=str(session.device), features=data_recipe(config.data)))
        log.info("%srun %s: %s, %d parameters (%d-d word vectors), %s on %s", self.label, run.path, config.model,
                 parameters, session.vectors.shape[1], task.manifest["protocol"], session.device)
        for emotion in task.manifest.get("low_resource", []):  # how few: the split file alone said so before
            kept = {s: task.manifest["positives"][s][emotion] for s in ("train", "valid")}
            log.info("%sfew-shot on %s: %d train and %d valid positives kept", self.label, emotion, kept["train"],
                     kept["valid"])
        self.trainer = Trainer(session, backend)
        self.best, self.best_epoch, self.epoch, self.started = -np.inf, 0, 0, time.time()

    def end_epoch(self, epoch: int, train_loss: float, started: float, captured_before: float) -> bool:
        """Validate, step the scheduler, keep the best checkpoint and log the epoch (its seconds
        since `started`, the epoch's start: runs trained together share it); True when the run is
        done (early stop or its last epoch)."""
        trainer, config = self.trainer, self.config
        self.epoch = epoch
        valid_loss, valid_score = trainer.validate(epoch, self.metric)
        trainer.scheduler.step(valid_loss)
        improved = METRICS[self.metric].better(valid_score, self.best) or self.best_epoch == 0  # epoch 1 always saves
        if improved:
            self.best, self.best_epoch = valid_score, epoch
            self.run.save_checkpoint(self.session.model)
        capture = trainer.capture_seconds - captured_before
        self.run.append_metrics({"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
                                 f"valid_{self.metric}": valid_score, "lr": float(trainer.optimizer.param_groups[0]["lr"]),
                                 "best": improved, "seconds": round(time.time() - started, 3),
                                 **({"capture_seconds": round(capture, 3)} if capture else {})})
        log.info("%sepoch %d  train loss %.4f  valid loss %.4f  valid %s %.4f%s", self.label, epoch, train_loss,
                 valid_loss, self.metric, valid_score, "  *" if improved else "")
        if epoch - self.best_epoch >= config.early_stop:
            log.info("%searly stop: no better valid %s for %d epochs", self.label, self.metric, config.early_stop)
            return True
        return epoch >= config.epochs

    def finish(self) -> Path:
        self.run.load_checkpoint(self.session.model)
        reference = self.session.reference(self.trainer.precision)
        self.run.save_reference(reference.to_state())
        test = self.session.score_test(self.trainer.precision, reference=reference)
        return self.run.finish(RunResults(self.best_epoch, self.metric, self.best, self.epoch,
                                          round(time.time() - self.started, 2), test))

    def release(self) -> None:
        """Drop the trainer (its steps hold it through bound methods: a reference cycle), so its
        model, optimizer state, device data and graphs are freed as soon as the run is done."""
        self.trainer.step = self.trainer.score_step = None
        self.trainer = None


def data_recipe(path: str) -> dict | None:
    """The extraction recipe of the data at `path` (an HDF5 file made by `emozsl features extract`)."""
    from emozsl.features import read_recipe

    return read_recipe(path) if Path(path).is_file() and Path(path).suffix.lower() in (".h5", ".hdf5") else None


def stack_size(config: RunConfig) -> int:
    """How many runs like `config` train together by default: on a CUDA device CUDA_STACK (raw media:
    RAW_CUDA_STACK, each run has its DataLoader workers); on a CPU one, whose cores one run fills."""
    if resolve_device(config.device).type != "cuda":
        return 1
    return RAW_CUDA_STACK if get_backbone(config.model).inputs == "raw" else CUDA_STACK


def claim_outcome(outcome: Path | BaseException) -> str | BaseException:
    """What `train_group` gave a run of an exact name: 'done', 'skipped' (another process finished
    it), 'busy' (another process is training it), or the error that stopped it."""
    if isinstance(outcome, RunFinished):
        return "skipped"
    if isinstance(outcome, RunBusy):
        return "busy"
    return outcome if isinstance(outcome, BaseException) else "done"


def train(config: RunConfig, trust_pickle: bool = False, exact_name: bool = False) -> Path:
    """Train one model as configured; returns its finished run folder. `exact_name`: the run must
    be called config.name exactly (a sweep trial or one seed of a group; RunBusy if another process
    is training it), else a taken name gets a suffix. Any failure removes the unfinished run."""
    outcome = train_group([config], trust_pickle, exact_name)[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def train_group(configs: list[RunConfig], trust_pickle: bool = False, exact_names: bool = False,
                backend=None, datasets: dict | None = None) -> list[Path | Exception]:
    """Train the runs of `configs` together (module docstring); each run's outcome, in order: its
    finished folder, or the exception that stopped it (RunBusy / RunFinished for a run of an exact
    name that another process holds or finished; an error of its data, config or training). The
    data are read once per path. An interrupt (or any exception outside one run) removes every
    unfinished run. `backend`: the step capture of every run (default: graph_backend). `datasets`:
    data sets the caller read already (session.prepare_task's), which this group reads into too."""
    outcomes: list = [None] * len(configs)
    runs: dict[int, TrainingRun] = {}  # the runs still training; each leaves once finished or failed
    datasets = {} if datasets is None else datasets
    try:
        for k, config in enumerate(configs):
            try:
                session = build_session(config, trust_pickle, datasets=datasets)
                config = session.config  # its target named (`--zsl 3` is happy)
                name = config.name or default_run_name(config, f"seed{config.seed}")
                run = RunDir.create(config.runs_dir, name, exact=exact_names)
            except Exception as exc:
                outcomes[k] = exc
                continue
            try:
                label = f"{name}: " if len(configs) > 1 else ""
                runs[k] = TrainingRun(session, run, backend if backend is not None else graph_backend(session), label)
            except BaseException as exc:
                run.abandon()
                if not isinstance(exc, Exception):
                    raise
                outcomes[k] = exc
                continue
            if len(configs) > 1:
                runs[k].trainer.isolate()
        _train_runs(runs, outcomes)
    except BaseException:
        for training in runs.values():
            if not training.run.is_finished():
                training.run.abandon()
        raise
    return outcomes


def _train_runs(runs: dict[int, TrainingRun], outcomes: list) -> None:
    """Train `runs` to the end, epoch by epoch; each leaves `runs` once finished or failed (then
    nothing may abandon it again: another process may have claimed its name by then)."""
    epoch = 0
    while runs:
        epoch += 1
        started = time.time()
        by_trainer = {training.trainer: k for k, training in runs.items()}
        captured = {t: t.capture_seconds for t in by_trainer}
        failures: dict = {}
        losses = train_epoch(list(by_trainer), epoch, failures=failures)
        for trainer, k in by_trainer.items():
            training = runs[k]
            try:
                if trainer in failures:
                    raise failures[trainer]
                with trainer.context():
                    done = training.end_epoch(epoch, losses[trainer], started, captured[trainer])
                    if done:
                        outcomes[k] = training.finish()
            except Exception as exc:
                training.run.abandon()
                outcomes[k], done = exc, True
            if done:
                del runs[k]
                training.release()
