"""The one training loop for every backbone.

Adam; BCE with logits and pos_weight = #neg/#pos per trained emotion; gradient-norm clipping;
ReduceLROnPlateau on the validation loss; early stopping and the best checkpoint on the
validation average of the selection metric (never on test). Feature data stay on the training
device as whole tensors and batches are index slices; raw media stream from the preprocessing
cache (batches.py)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from emozsl.config import RunConfig
from emozsl.embeddings import file_sha256
from emozsl.errors import EmozslError
from emozsl.runs import RunDir, RunMetadata, RunResults, default_run_name
from emozsl.scoring import predict_logits, score
from emozsl.session import Session, build_session, selection_metric

log = logging.getLogger("emozsl")


def train_epoch(model: torch.nn.Module, inputs, targets: dict[str, torch.Tensor], vectors: torch.Tensor, loss_fn,
                optimizer, batch_size: int, generator: torch.Generator, clip: float, precision, epoch: int = 1,
                max_rows: int | None = None) -> float:
    """One pass over the training rows (the first `max_rows` of them, for a warm-up) in a random
    order; `inputs` gives the batches (batches.py). Returns the mean loss (summed over the model's
    outputs). A non-finite loss stops training with an error naming the epoch and the first bad
    batch (tracked on the device: no per-batch sync)."""
    model.train()
    device = targets["prediction"].device
    order = torch.randperm(len(inputs), generator=generator)[:max_rows]
    n = len(order)
    total = torch.zeros((), device=device)
    first_bad = torch.full((), -1, device=device)
    batches = inputs.batches(batch_size, order)
    for batch, (features, rows) in enumerate(tqdm(batches, total=-(-n // batch_size), desc=f"epoch {epoch}",
                                                   leave=False, disable=None)):
        with precision:
            outputs = model.outputs(features, vectors)
            loss = sum(loss_fn(logits.float(), targets[space][rows]) for space, logits in outputs.items())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total += loss.detach() * len(rows)
        first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss.detach()), batch, first_bad)
    if int(first_bad) >= 0:
        raise EmozslError(f"epoch {epoch}, batch {int(first_bad) + 1} of {-(-n // batch_size)}: the training loss "
                          "is not finite; lower lr, or look for extreme values in the data")
    return float(total) / n


def train(config: RunConfig, trust_pickle: bool = False, exact_name: bool = False) -> Path:
    """Train one model as configured; returns its finished run folder. `exact_name`: the run must
    be called config.name exactly (a sweep trial or one seed of a group; RunBusy if another process
    is training it), else a taken name gets a suffix. Any failure removes the unfinished run."""
    session = build_session(config, trust_pickle)
    name = config.name or default_run_name(config, f"seed{config.seed}")
    run = RunDir.create(config.runs_dir, name, exact=exact_name)
    try:
        return _train(session, run)
    except BaseException:
        run.abandon()
        raise


def _train(session: Session, run: RunDir) -> Path:
    config, task, model = session.config, session.task, session.model
    metric = selection_metric(config, task)
    n_parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    run.write_config(config)
    run.write_manifest(task.manifest)
    run.write_metadata(RunMetadata(
        emotions=task.emotions, train_emotions=task.train_emotions, unseen=task.unseen,
        input_dims=task.input_dims(), parameters=n_parameters,
        embeddings={"path": str(session.embeddings.resolve()), "sha256": file_sha256(session.embeddings),
                    "vectors": session.vectors.cpu().tolist()},
        split={"protocol": task.manifest["protocol"], "target": task.manifest["target"],
               "sources": task.manifest["sources"], "file": config.split},
        selection_metric=metric, device=str(session.device)))
    log.info("run %s: %s, %d parameters, %s on %s", run.path, config.model, n_parameters,
             task.manifest["protocol"], session.device)

    loss_fn, optimizer = session.loss_fn(), session.optimizer()
    scheduler = session.scheduler(optimizer)
    train_x, _ = session.inputs("train")
    targets = session.targets("train")
    valid_x, valid_y = session.inputs("valid")
    precision = session.precision()
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    best, best_epoch, started = -np.inf, 0, time.time()
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.time()
        train_loss = train_epoch(model, train_x, targets, session.train_vectors, loss_fn, optimizer,
                                 config.batch_size, generator, config.clip, precision, epoch)
        valid_logits = predict_logits(model, valid_x, session.train_vectors, precision=precision)
        valid_loss = float(loss_fn(valid_logits, valid_y))
        if not np.isfinite(valid_loss):
            raise EmozslError(f"epoch {epoch}: the validation loss is not finite; look for extreme values in the "
                              "validation data, or lower lr")
        valid = score(valid_logits, valid_y, task.train_emotions, [], config.threshold, "valid")
        valid_score = float(np.nanmean(valid.per_emotion[metric]))
        scheduler.step(valid_loss)
        improved = valid_score > best or best_epoch == 0  # NaN-safe: epoch 1 always saves
        if improved:
            best, best_epoch = valid_score, epoch
            run.save_checkpoint(model)
        record = {"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
                  f"valid_{metric}": valid_score, "lr": optimizer.param_groups[0]["lr"],
                  "best": improved, "seconds": round(time.time() - epoch_start, 3)}
        run.append_metrics(record)
        log.info("epoch %d  train loss %.4f  valid loss %.4f  valid %s %.4f%s", epoch, train_loss,
                 valid_loss, metric, valid_score, "  *" if improved else "")
        if epoch - best_epoch >= config.early_stop:
            log.info("early stop: no better valid %s for %d epochs", metric, config.early_stop)
            break

    run.load_checkpoint(model)
    test = session.score_test(precision)
    return run.finish(RunResults(best_epoch, metric, best, epoch, round(time.time() - started, 2), test))
