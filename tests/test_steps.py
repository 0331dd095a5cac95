"""Training and scoring steps fit for a GPU by construction, checked on the CPU: every backbone's
steps synchronise nothing (the detector that says so catches every kind of sync), its forward and
loss trace as one graph, padding is found once at load, and a captured step (CUDA graphs, here a
stand-in with the same contract) trains exactly as the eager one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from emozsl.batches import (
    PAD_LADDER,
    ResidentInputs,
    map_tensors,
    media_items,
    padded_length,
)
from emozsl.commands.bench import graph_breaks
from emozsl.config import RunConfig
from emozsl.data import SplitData
from emozsl.data.generated.raw_synth import synth_raw
from emozsl.models import REGISTRY
from emozsl.models.build import build_model
from emozsl.models.mesm import SparseCNN
from emozsl.models.sequence import LENGTHS, BiRNN, Steps, left_align
from emozsl.scoring import scoring_step
from emozsl.session import build_session
from emozsl.syncs import SyncDetector
from emozsl.train import Trainer, train_epoch

RAW_OPTIONS = {"width": 2, "d": 8, "layers": 1, "heads": 2, "text_dim": 8, "text_layers": 1, "vocabulary": 64}


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw")
    synth_raw(out, seed=0, sizes={"train": 24, "valid": 8, "test": 8})
    return out


def trainer_for(name: str, synth_mosei_dir, raw_dir, backend=None, **fields) -> Trainer:
    raw = REGISTRY[name].inputs == "raw"
    fields = {"batch_size": 8, "model_options": RAW_OPTIONS if raw else {}, **fields}
    config = RunConfig(model=name, data=str(raw_dir if raw else synth_mosei_dir), protocol="zsl", target="fear",
                       device="cpu", **fields)
    return Trainer(build_session(config), backend)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_training_and_scoring_steps_synchronise_nothing_and_trace_as_one_graph(name, synth_mosei_dir, raw_dir):
    trainer = trainer_for(name, synth_mosei_dir, raw_dir)
    batches = trainer.start_epoch()
    watched = [next(batches) for _ in range(2)]
    with SyncDetector() as training:
        for payload, rows in watched:
            trainer._train_step(payload, rows)
    assert training.total == 0 and training.ops > 50, training.sites()
    trainer.model.eval()
    payload, rows = next(iter(trainer.valid_inputs.batches(8)))
    with SyncDetector() as scoring, torch.no_grad():
        logits = scoring_step(trainer.model, trainer.valid_inputs, trainer.vectors)(payload, rows)
    assert scoring.total == 0, scoring.sites()
    assert logits.shape == (8, len(trainer.vectors))
    breaks, reasons = graph_breaks(trainer, *watched[0])
    assert breaks == 0, reasons


def test_the_detector_catches_every_kind_of_sync():
    """What e480d0b's steps did (values read for packing, trimming and fast paths), each caught with
    its line; so a detector reporting 0 on a step means something."""
    x, mask = torch.randn(4, 6, 3), torch.tensor([True, False, True, True])
    lstm = torch.nn.LSTM(3, 5, batch_first=True)
    lengths = torch.tensor([6, 2, 3, 1])
    cases = {
        "a value read into Python": lambda: bool(x.abs().sum() > 0),
        "indexing with a boolean mask": lambda: x[mask],
        "nonzero": lambda: mask.nonzero(),
        "a copy to the host (.cpu())": lambda: lengths.cpu(),
        "a copy to the host (.tolist())": lambda: lengths.tolist(),
        "lengths read on the host for packing": lambda: lstm(pack_padded_sequence(x, lengths, True, False)),
        "unique": lambda: torch.unique(lengths),
    }
    for what, action in cases.items():
        with SyncDetector() as detector:
            action()
        assert detector.total >= 1, what
        assert any(what in site and "tests/test_steps.py" in site for site in detector.sites()), (what, detector.sites())
    with SyncDetector() as clean:
        out, _ = lstm(x)
        (out * mask[:, None, None]).sum().backward()
    assert clean.total == 0 and torch.Tensor.cpu is not None and "cpu" not in torch.Tensor.__dict__


def test_padding_is_found_once_at_load_and_shapes_are_static():
    """Front and end padding move behind the real steps at load, each modality's own (for early
    fusion, aligned modalities keep their steps together), the split keeps one length (its longest
    real sequence), and every batch carries the rows' lengths."""
    text = np.zeros((3, 6, 2), np.float32)
    text[0, 2:] = 1  # front-padded (MOSEI), 4 real steps
    text[1, :3] = 2  # end-padded, 3 real steps
    text[2, 1] = 3  # one real step
    audio = np.zeros((3, 6, 1), np.float32)
    audio[0, 1:] = 5  # audio real one step earlier than text in row 0: the aligned rule keeps steps together
    audio[1, :3] = 6
    split = SplitData({"text": text, "audio": audio}, np.zeros((3, 1), np.float32), np.array(["a", "b", "c"]))
    own = ResidentInputs(split, torch.device("cpu"))  # late fusion: each modality by its own steps
    assert own.lengths["text"].tolist() == [4, 3, 1] and own.lengths["audio"].tolist() == [5, 3, 1]
    assert own.values["text"].shape == (3, 4, 2) and own.values["audio"].shape == (3, 5, 1)
    inputs = ResidentInputs(split, torch.device("cpu"), joint=True)  # early fusion: steps stay together
    assert inputs.values["text"].shape == (3, 5, 2)  # the longest real sequence (row 0: 5 steps)
    payload, rows = next(iter(inputs.batches(2, torch.tensor([2, 0, 1]))))
    batch = inputs.features(payload, rows)
    assert batch[LENGTHS]["text"].tolist() == [1, 5] == batch[LENGTHS]["audio"].tolist()
    assert batch["text"][1, :, 0].tolist() == [0, 1, 1, 1, 1] and batch["audio"][1, :, 0].tolist() == [5] * 5
    assert batch["text"][0, :, 0].tolist() == [3, 0, 0, 0, 0]
    # unaligned modalities are aligned each by its own steps, joint or not
    alone = left_align({"text": torch.from_numpy(text), "audio": torch.from_numpy(audio[:, 1:])}, joint=True)
    assert alone[LENGTHS]["text"].tolist() == [4, 3, 1] and alone[LENGTHS]["audio"].tolist() == [5, 2, 1]


def test_raw_batches_hold_real_items_only_in_a_few_static_shapes():
    """Chunks or frames of utterances of 2, 0 and 3 decoded steps: 5 real items padded to 6, laid
    out per utterance by their slots (6, one past the last item, marks padding)."""
    assert [padded_length(n) for n in (1, 5, 7, 13, 100, 257, 600)] == [1, 6, 8, 16, 128, 512, 768]
    assert all(padded_length(n) in PAD_LADDER for n in range(1, PAD_LADDER[-1] + 1))
    sequences = [np.full((n, 2), k + 1, np.float32) for k, n in enumerate((2, 0, 3))]
    items, slots, rows = media_items(sequences)
    assert items[:, 0].tolist() == [1, 1, 3, 3, 3, 0]
    assert slots.tolist() == [[0, 1, 6], [6, 6, 6], [2, 3, 4]] and rows.tolist() == [0, 0, 2, 2, 2, 0]


def test_bidirectional_rnn_equals_the_packed_one_and_reads_its_checkpoints():
    """BiRNN (no packing, static shapes) gives nn.LSTM/GRU(bidirectional) over packed sequences, at
    every real step and in the final states, from that module's own state dict (emozsl 0.1 runs)."""
    torch.manual_seed(0)
    x = torch.randn(5, 7, 4)
    lengths = torch.tensor([7, 3, 1, 5, 2])
    x = x * (torch.arange(7)[None] < lengths[:, None])[..., None]
    for kind, cell in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)):
        packed_rnn = cell(4, 6, num_layers=2, batch_first=True, bidirectional=True).eval()
        rnn = BiRNN(kind, 4, 6, layers=2).eval()
        rnn.load_state_dict(packed_rnn.state_dict())
        out, hidden = packed_rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=7)
        hidden = hidden[0] if kind == "lstm" else hidden
        ours, final = rnn(Steps(x, lengths))
        torch.testing.assert_close(ours, out, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(final, hidden[-2:], rtol=1e-5, atol=1e-6)


def test_mesm_masked_convolutions_equal_the_sparse_gather():
    torch.manual_seed(0)
    model = build_model("mesm", {"text": 1, "audio": 128, "visual": 3}, 8, {**RAW_OPTIONS, "top_p": 0.5})
    cnn = model.backbone.streams["visual"].cnn
    assert isinstance(cnn, SparseCNN) and cnn.implementation == "masked"
    frames, query = torch.randn(6, 3, 48, 48), torch.randn(6, 8)  # normalised crops, as the stream feeds it
    masked = cnn(frames, query)
    cnn.implementation = "gather"
    torch.testing.assert_close(cnn(frames, query), masked, rtol=1e-4, atol=1e-5)


class StandInGraphs:
    """capture.CudaGraphs' contract on a CPU: a capture and its first replay run the step once; each
    later replay runs it again on the static inputs and writes into the same static outputs (which
    the next replay overwrites, as a CUDA graph's do)."""

    def __init__(self):
        self.captures = self.replays = 0

    def warm_up(self, fn, args):
        return fn(*args)

    def capture(self, fn, static_args):
        self.captures += 1
        outputs, fresh = fn(*static_args), [True]

        def replay():
            self.replays += 1
            if fresh.pop() if fresh else False:
                return  # the capture's own run is this replay's
            map_tensors(lambda static, new: static.copy_(new), outputs, fn(*static_args))

        return replay, outputs

    def synchronize(self):
        pass


def test_captured_steps_reuse_static_buffers_and_train_as_the_eager_step(synth_mosei_dir, raw_dir):
    """Warm-up, capture and replays, with a tail batch of its own shape: the same training and
    validation losses, validation scores and weights as eager steps (the stand-in replays run the
    same arithmetic on the static buffers)."""
    results = []
    for backend in (None, StandInGraphs()):
        torch.manual_seed(0)
        trainer = trainer_for("eea", synth_mosei_dir, raw_dir, backend, batch_size=300)
        losses = [(train_epoch([trainer], epoch)[trainer], *trainer.validate(epoch, "wacc")) for epoch in (1, 2, 3)]
        results.append((losses, [p.detach().clone() for p in trainer.model.parameters()], trainer.step))
    (eager_losses, eager_weights, _), (losses, weights, step) = results
    assert len(trainer.train_inputs) % 300  # a tail batch of its own shape
    assert step.captured == 2  # the full batches and the tail
    assert trainer.score_step.captured and step.backend.captures == 2 + trainer.score_step.captured
    assert step.backend.replays > 6 and step.capture_seconds > 0
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-6)
    for a, b in zip(weights, eager_weights):
        torch.testing.assert_close(a, b)


def test_a_captured_optimizer_keeps_its_learning_rate_on_the_device_and_the_scheduler_lowers_it(synth_mosei_dir, raw_dir):
    """A CUDA graph holds the learning rate's address, not its value: it must be a device tensor
    that ReduceLROnPlateau fills in place."""
    trainer = trainer_for("lf_lstm", synth_mosei_dir, raw_dir, StandInGraphs(), scheduler_patience=0,
                          model_options={"hidden": 8, "layers": 1})
    rates = [g["lr"] for g in trainer.optimizer.param_groups]
    assert all(isinstance(r, torch.Tensor) for r in rates) and trainer.optimizer.param_groups[0]["capturable"]
    for loss in (1.0, 2.0, 3.0):
        trainer.scheduler.step(loss)
    assert [g["lr"] for g in trainer.optimizer.param_groups] == rates  # the same tensors ...
    assert float(rates[0]) == pytest.approx(1e-5)  # ... lowered twice by the factor 0.1
    eager = trainer_for("lf_lstm", synth_mosei_dir, raw_dir, None, model_options={"hidden": 8, "layers": 1})
    assert isinstance(eager.optimizer.param_groups[0]["lr"], float) and eager.optimizer.param_groups[0]["fused"]


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_backbone_trains_under_bf16_autocast(name):
    """What `--precision bf16` runs on CUDA, checked under the CPU's bf16 autocast: finite logits
    and a backward pass (statistics kept in fp32, e.g. LMR-CBT's masked BatchNorm)."""
    from conftest import cpu_bf16_autocast
    from test_models import batch, model_for, ready, shapes

    model = model_for(name)
    with cpu_bf16_autocast():
        outputs = model.outputs(ready(batch(shapes(name))), torch.randn(4, 8))
    assert all(torch.isfinite(o.float()).all() for o in outputs.values())
    sum(o.float().sum() for o in outputs.values()).backward()


@pytest.mark.slow
def test_bf16_backbones_train_on_a_cpu_without_bf16_lstm_kernels(tmp_path):
    """An AVX2-only CPU (oneDNN capped at AVX2, as on such a machine) has no bf16 LSTM primitive: the
    probe says so and the LSTM backbones still train under bf16 autocast there."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).parent
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import conftest, test_steps\n"
              "assert not conftest.onednn_bf16_lstm()\n"
              "for name in ('eea', 'lmr_cbt'): test_steps.test_every_backbone_trains_under_bf16_autocast(name)\n")
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    done = subprocess.run([sys.executable, "-c", script, str(tests)], env=env, capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
