"""The one training loop for every backbone.

Adam; BCE with logits and pos_weight = #neg/#pos per trained emotion; gradient-norm clipping;
ReduceLROnPlateau on the validation loss; early stopping and the best checkpoint on the
validation average of the selection metric (never on test). Data stay on the training device
as whole tensors and batches are index slices (no per-sample loader)."""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from emozsl import __version__
from emozsl.embeddings import (
    default_embeddings_path,
    emotion_vectors,
    file_sha256,
    load_embeddings,
)
from emozsl.errors import EmozslError
from emozsl.evaluate import predict_logits, score, split_tensors
from emozsl.models import build_model, resolve_options
from emozsl.runs import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METADATA_FILE,
    METRICS_FILE,
    RESULTS_FILE,
    SPLIT_FILE,
    RunConfig,
    autocast,
    load_checkpoint,
    new_run_dir,
    prepare_task,
    read_json,
    resolve_device,
    save_checkpoint,
    selection_metric,
    write_json,
)
from emozsl.splits import dumps_manifest, load_manifest, protocol_from_options

log = logging.getLogger("emozsl")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pos_weights(labels: torch.Tensor, emotions: list[str]) -> torch.Tensor:
    positives = labels.sum(0)
    empty = [e for e, p in zip(emotions, positives.tolist()) if p == 0]
    if empty:
        raise EmozslError(f"train split has no positive for: {', '.join(empty)} (nothing to learn them from)")
    return (len(labels) - positives) / positives


def train_epoch(model: torch.nn.Module, features: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                vectors: torch.Tensor, loss_fn, optimizer, batch_size: int, generator: torch.Generator,
                clip: float, precision, description: str = "train") -> float:
    """One pass over the training rows in a random order, batches sliced from device tensors;
    returns the mean loss (summed over the model's outputs)."""
    model.train()
    n = len(targets["prediction"])
    device = targets["prediction"].device
    order = torch.randperm(n, generator=generator).to(device)
    total = torch.zeros((), device=device)
    for start in tqdm(range(0, n, batch_size), desc=description, leave=False, disable=None):
        rows = order[start:start + batch_size]
        with precision:
            outputs = model.outputs({m: a[rows] for m, a in features.items()}, vectors)
            loss = sum(loss_fn(logits.float(), targets[space][rows]) for space, logits in outputs.items())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total += loss.detach() * len(rows)
    return float(total) / n


def train(config: RunConfig) -> Path:
    """Train one model as configured; returns its run folder."""
    seed_everything(config.seed)
    task, manifest = prepare_task(config)
    config.model_options = resolve_options(config.model, config.model_options)
    metric = selection_metric(config, task)
    device = resolve_device(config.device)
    precision = autocast(device, config.precision)  # bf16 without CUDA fails here, before any work
    embeddings_path = Path(config.embeddings) if config.embeddings else default_embeddings_path()
    vectors = torch.from_numpy(emotion_vectors(load_embeddings(embeddings_path), task.emotions,
                                               config.emotion_words, embeddings_path)).to(device)
    trained = [task.emotions.index(e) for e in task.train_emotions]
    train_vectors = vectors[trained]
    if config.head == "linear" and task.unseen:
        raise EmozslError(f"--head linear cannot score the unseen emotion(s) {', '.join(task.unseen)}: "
                          "a plain classifier has no zero-shot route; use --head embedding")

    model = build_model(config.model, task.input_dims(), vectors.shape[1], config.model_options,
                        config.head_settings(), train_vectors).to(device)
    train_x, train_y = split_tensors(task.splits["train"], device)
    valid_x, valid_y = split_tensors(task.splits["valid"], device)
    train_y, valid_y = train_y[:, trained], valid_y[:, trained]
    # Each output's targets: the prediction learns the shared label; an auxiliary space (LFMIM's
    # uni-modal heads) learns its modality's own label when the data carry one.
    targets = {"prediction": train_y}
    for space in getattr(model.backbone, "auxiliary_spaces", ()):
        own = task.splits["train"].modality_labels.get(space)
        targets[space] = train_y if own is None else torch.from_numpy((own > 0).astype(np.float32)).to(device)[:, trained]
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weights(train_y, task.train_emotions))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=config.scheduler_factor,
                                                           patience=config.scheduler_patience)

    run_dir = new_run_dir(config)
    n_parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    write_json(run_dir / CONFIG_FILE, config.to_dict())
    (run_dir / SPLIT_FILE).write_text(dumps_manifest(manifest))
    metadata = {"emozsl": __version__, "torch": torch.__version__, "device": str(device),
                "emotions": task.emotions, "train_emotions": task.train_emotions, "unseen": task.unseen,
                "input_dims": task.input_dims(), "parameters": n_parameters,
                "embeddings": {"path": str(embeddings_path.resolve()), "sha256": file_sha256(embeddings_path)},
                "split": {"protocol": manifest["protocol"], "target": manifest["target"],
                          "sources": manifest["sources"], "file": config.split},
                "selection_metric": metric}
    write_json(run_dir / METADATA_FILE, metadata)
    log.info("run %s: %s, %d parameters, %s on %s", run_dir, config.model, n_parameters, manifest["protocol"], device)

    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    best, best_epoch, started = -np.inf, 0, time.time()
    if config.compile:
        model.backbone.compile()  # in place: the checkpoint keeps its plain parameter names
    with open(run_dir / METRICS_FILE, "w") as metrics_file:
        for epoch in range(1, config.epochs + 1):
            epoch_start = time.time()
            train_loss = train_epoch(model, train_x, targets, train_vectors, loss_fn, optimizer, config.batch_size,
                                     generator, config.clip, precision, f"epoch {epoch}")
            valid_logits = predict_logits(model, valid_x, train_vectors, precision=precision)
            valid_loss = float(loss_fn(valid_logits, valid_y))
            valid = score(valid_logits, valid_y, task.train_emotions, [], config.threshold, "valid")
            valid_score = float(np.nanmean(valid.per_emotion[metric]))
            scheduler.step(valid_loss)
            improved = valid_score > best or best_epoch == 0  # NaN-safe: epoch 1 always saves
            if improved:
                best, best_epoch = valid_score, epoch
                save_checkpoint(model, run_dir / CHECKPOINT_FILE)
            record = {"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
                      f"valid_{metric}": valid_score, "lr": optimizer.param_groups[0]["lr"],
                      "best": improved, "seconds": round(time.time() - epoch_start, 3)}
            metrics_file.write(json.dumps(record) + "\n")
            metrics_file.flush()
            log.info("epoch %d  train loss %.4f  valid loss %.4f  valid %s %.4f%s", epoch, record["train_loss"],
                     valid_loss, metric, valid_score, "  *" if improved else "")
            if epoch - best_epoch >= config.early_stop:
                log.info("early stop: no better valid %s for %d epochs", metric, config.early_stop)
                break

    load_checkpoint(model, run_dir / CHECKPOINT_FILE)
    test_x, test_y = split_tensors(task.splits["test"], device)
    test_logits = predict_logits(model, test_x, vectors, precision=precision)
    test = score(test_logits, test_y, task.emotions, task.unseen, config.threshold, "test")
    write_json(run_dir / RESULTS_FILE, {"best_epoch": best_epoch, f"best_valid_{metric}": best,
                                        "epochs_run": epoch, "seconds": round(time.time() - started, 2),
                                        "test": test.to_dict()})
    return run_dir


def config_from_options(config_file: str | None = None, *, zsl: str | None = None, fsl: str | None = None,
                        **overrides) -> RunConfig:
    """`emozsl train`'s config: a config file (optional) with command-line values on top; None means unset."""
    values = read_json(Path(config_file)) if config_file else {}
    # Unset means None, an empty dict (no --option) or an absent flag; 0 is a real value.
    values.update({k: v for k, v in overrides.items() if v is not None and v is not False and v != {}})
    protocol, target = protocol_from_options(zsl, fsl)
    if protocol != "supervised":
        if values.get("split"):
            raise EmozslError("--split already fixes the protocol: drop --zsl/--fsl")
        values["protocol"], values["target"] = protocol, target
    if values.get("split"):
        manifest = load_manifest(values["split"])
        values["protocol"], values["target"] = manifest["protocol"], manifest["target"]
    return RunConfig.from_dict(values, config_file or "options")
