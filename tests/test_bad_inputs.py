"""emozsl's list of bad inputs: each case is a command a user (or an attacker) might run, and each
must end in exactly one line, 'Error: ...', naming the file, field or value at fault, without
running pickled code. Faults of the machine (kill, disk full, two processes) are in test_faults.py."""

from __future__ import annotations

import json
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import write_cherma, write_h5, write_mosei, write_mult

from emozsl.cli import main
from emozsl.config import RunConfig
from emozsl.train import train

TINY = {"audio_hidden": 8, "visual_hidden": 8, "layers": 1}
TINY_OPTIONS = [arg for key, value in TINY.items() for arg in ("--option", f"{key}={value}")]


class Evil:
    """A pickle that creates a marker file when it is loaded: it must never be loaded untrusted."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@dataclass
class World:
    root: Path
    data: Path  # small generated MOSEI data
    run: Path  # a finished zero-shot run on it
    lf_run: Path  # a finished run of another backbone
    marker: Path  # created if any pickle is ever loaded
    evil: Path  # a pickle that creates the marker

    def run_copy(self, tmp: Path, edit_file: str | None = None, edit=None) -> Path:
        copy = tmp / "run_copy"
        shutil.copytree(self.run, copy)
        if edit_file:
            values = json.loads((copy / edit_file).read_text())
            edit(values)
            (copy / edit_file).write_text(json.dumps(values))
        return copy


@pytest.fixture(scope="module")
def world(tmp_path_factory, synth_mosei_dir) -> World:
    root = tmp_path_factory.mktemp("world")
    run = train(RunConfig(data=str(synth_mosei_dir), protocol="zsl", target="anger", epochs=1, model_options=TINY,
                          runs_dir=str(root / "runs"), device="cpu"))
    lf_run = train(RunConfig(model="lf_lstm", data=str(synth_mosei_dir), protocol="zsl", target="anger", epochs=1,
                             model_options={"hidden": 8, "layers": 1}, runs_dir=str(root / "runs"), device="cpu"))
    marker = root / "PICKLE_WAS_LOADED"
    evil = root / "evil.pkl"
    evil.write_bytes(pickle.dumps(Evil(marker)))
    return World(root, synth_mosei_dir, run, lf_run, marker, evil)


CASES: dict[str, tuple] = {}


def case(fragment: str, exit_code: int = 1, nothing_in: str | None = None, name: str | None = None):
    """Register a bad input: the function returns the command's arguments; `fragment` must be in
    the one error line; `nothing_in` names a folder (under the case's tmp) that must stay empty."""
    def register(build):
        key = name or build.__name__
        assert key not in CASES, key
        CASES[key] = (build, fragment, exit_code, nothing_in)
        return build
    return register


def mosei(tmp: Path, **arrays) -> Path:
    """A small MOSEI folder (plain h5py), with some files replaced by `arrays` (file stem -> array)."""
    folder = write_mosei(tmp / "mosei")
    for stem, array in arrays.items():
        write_h5(folder / f"{stem}.h5", array)
    return folder


def train_args(data, *extra) -> list:
    return ["train", "--data", data, "--epochs", 1, "--device", "cpu", *TINY_OPTIONS, *extra]


# ---------------------------------------------------------------- pickle trust
@case("--trust-pickle")
def eval_of_a_received_run_whose_config_grants_trust(tmp, w):
    run = w.run_copy(tmp, "config.json", lambda c: c.update(trust_pickle=True, data=str(w.evil)))
    return ["eval", run, "--device", "cpu"]


@case("trust_pickle=True: pickle trust comes only from the command line", nothing_in="runs")
def train_config_file_grants_trust(tmp, w):
    (tmp / "c.json").write_text(json.dumps({"data": str(w.evil), "trust_pickle": True, "runs_dir": str(tmp / "runs")}))
    return ["train", "--config", tmp / "c.json"]


@case("trust_pickle=True: pickle trust comes only from the command line", nothing_in="sweep")
def sweep_file_grants_trust(tmp, w):
    (tmp / "s.toml").write_text(f'[base]\ndata = "{w.evil}"\ntrust_pickle = true\nruns_dir = "{tmp / "sweep"}"\n'
                                '[grid]\nseed = [0]\n')
    return ["sweep", tmp / "s.toml"]


@case("--trust-pickle", nothing_in="runs")
def training_on_a_pickle_without_trust(tmp, w):
    return train_args(w.evil, "--runs-dir", tmp / "runs")


@case("not a readable tensors-only file")
def checkpoint_that_runs_code(tmp, w):
    run = w.run_copy(tmp)
    torch.save({"x": Evil(w.marker)}, run / "checkpoint.pt")
    return ["eval", run, "--device", "cpu"]


# ---------------------------------------------------------------- sweeps
@case("trial name=..: must name one folder", nothing_in="sweep")
def sweep_grid_value_escapes_the_folder(tmp, w):
    (tmp / "s.toml").write_text(f'[base]\ndata = "{w.data}"\nepochs = 1\nruns_dir = "{tmp / "sweep"}"\n'
                                '[grid]\ntarget = [".."]\n')
    return ["sweep", tmp / "s.toml"]


@case("base must be a table ([base])")
def sweep_base_that_is_not_a_table(tmp, w):
    (tmp / "s.toml").write_text('base = 3\n[grid]\nseed = [0]\n')
    return ["sweep", tmp / "s.toml"]


@case("models.lf_lstmm=lf_lstmm: choose one of eea")
def sweep_override_for_a_misspelled_backbone(tmp, w):
    (tmp / "s.toml").write_text('[grid]\nseed = [0]\n[models.lf_lstmm]\nepochs = 3\n')
    return ["sweep", tmp / "s.toml"]


@case("stack=two: must be an integer of at least 1", nothing_in="sweep")
def sweep_file_with_a_stack_that_is_not_a_count(tmp, w):
    (tmp / "s.toml").write_text(f'stack = "two"\n[base]\ndata = "{w.data}"\nruns_dir = "{tmp / "sweep"}"\n'
                                '[grid]\nseed = [0]\n')
    return ["sweep", tmp / "s.toml"]


@case("--stack 0: must be at least 1", nothing_in="sweep")
def sweep_with_stack_zero(tmp, w):
    (tmp / "s.toml").write_text(f'[base]\ndata = "{w.data}"\nruns_dir = "{tmp / "sweep"}"\n[grid]\nseed = [0]\n')
    return ["sweep", tmp / "s.toml", "--stack", 0]


@case("--stack 0: must be at least 1", nothing_in="runs")
def seeds_with_stack_zero(tmp, w):
    return train_args(w.data, "--seeds", 2, "--stack", 0, "--runs-dir", tmp / "runs")


@case("[grid] is missing or empty")
def sweep_without_grid(tmp, w):
    (tmp / "s.toml").write_text(f'[base]\ndata = "{w.data}"\n')
    return ["sweep", tmp / "s.toml"]


@case("finished with other settings (epochs 1, this sweep 2)")
def sweep_rerun_with_changed_settings(tmp, w):
    folder = tmp / "sweep"
    shutil.copytree(w.run, folder / "seed0")
    (tmp / "s.toml").write_text(f'[base]\ndata = "{w.data}"\nprotocol = "zsl"\ntarget = "anger"\nepochs = 2\n'
                                f'model_options = {{ audio_hidden = 8, visual_hidden = 8, layers = 1 }}\n'
                                f'runs_dir = "{folder}"\n[grid]\nseed = [0]\n')
    return ["sweep", tmp / "s.toml"]


# ---------------------------------------------------------------- manifests
MANIFEST_EDITS = {
    "manifest_row_out_of_range": ("rows.train.data: row 5000 is outside 0..1599",
                                  lambda m: m["rows"]["train"]["data"].append(5000)),
    "manifest_negative_row": ("rows.valid.data: row -1 is outside", lambda m: m["rows"]["valid"]["data"].insert(0, -1)),
    "manifest_duplicate_row": ("rows.test.data: lists a row more than once", lambda m: m["rows"]["test"]["data"].append(0)),
    "manifest_trains_on_its_unseen_emotion": (
        "train_emotions ['disgust', 'fear', 'happy', 'sad', 'surprise', 'anger'] contradicts protocol zsl",
        lambda m: m["train_emotions"].append("anger")),
    "manifest_without_its_unseen_emotion": ("unseen [] contradicts protocol zsl", lambda m: m.update(unseen=[])),
    "manifest_with_unseen_positives_in_train": ("train sample(s) are positive for the unseen emotion anger",
                                                lambda m: m["rows"]["train"].update(data=list(range(1600)))),
    "manifest_with_empty_valid": ("the valid split is empty", lambda m: m["rows"]["valid"].update(data=[])),
    "manifest_rows_not_a_list": ("rows.train.data must be a list of row numbers",
                                 lambda m: m["rows"]["train"].update(data="all")),
    "manifest_of_other_emotions": ("emotions ['anger', 'joy'",
                                   lambda m: m.update(emotions=["anger", "joy", "fear", "happy", "sad", "surprise"])),
    "manifest_of_another_format": ("not an emozsl split manifest", lambda m: m.update(format="emozsl-split/9")),
}


def manifest_case(edit):
    def build(tmp, w):
        manifest = json.loads((w.run / "split.json").read_text())
        edit(manifest)
        (tmp / "m.json").write_text(json.dumps(manifest))
        return train_args(w.data, "--split", tmp / "m.json", "--runs-dir", tmp / "runs")
    return build


for case_name, (message, edit) in MANIFEST_EDITS.items():
    case(message, nothing_in="runs", name=case_name)(manifest_case(edit))


@case("split.json: is a folder, expected a split manifest")
def split_in_a_config_file_is_a_folder(tmp, w):
    (tmp / "split.json").mkdir()
    (tmp / "c.json").write_text(json.dumps({"split": str(tmp / "split.json")}))
    return ["train", "--config", tmp / "c.json"]


@case("sample(s) are in both train and test (e.g. id 'train_000')", nothing_in="runs")
def data_with_one_utterance_in_two_splits(tmp, w):
    folder = write_cherma(tmp / "cherma", splits=("train", "valid", "test"))
    for modality, suffix in (("text", ""), ("audio", ""), ("visual", ".mp4")):
        shutil.copy(folder / modality / "train" / f"train_000{suffix}.npy",
                    folder / modality / "test" / f"train_000{suffix}.npy")
    examples = json.loads((folder / "test.json").read_text())
    examples[0]["audio_file"] = "train_000.wav"
    (folder / "test.json").write_text(json.dumps(examples))
    return ["train", "--model", "lf_lstm", "--option", "hidden=8", "--option", "layers=1", "--data", folder,
            "--epochs", 1, "--runs-dir", tmp / "runs"]


# ---------------------------------------------------------------- numbers
@case("c.json: weight_decay=-1: must be a finite number, 0 or more")
def negative_weight_decay_in_a_config_file(tmp, w):
    (tmp / "c.json").write_text(json.dumps({"weight_decay": -1}))
    return ["train", "--config", tmp / "c.json", "--data", w.data]


@case("epoch 1, batch 1 of 1: the training loss is not finite", nothing_in="runs")
def features_that_overflow_in_training(tmp, w):
    huge = np.full((40, 20, 300), 3e38, np.float32)
    huge[:, :, ::2] = -3e38
    return ["train", "--model", "transformer_ef", "--data", mosei(tmp, text_train_emb=huge), "--epochs", 1,
            "--runs-dir", tmp / "runs"]


@case("epoch 1: the validation loss is not finite", nothing_in="runs")
def learning_rate_that_blows_the_weights_up(tmp, w):
    return train_args(mosei(tmp), "--lr", "1e30", "--runs-dir", tmp / "runs")


@case("holds values outside float32's range (largest magnitude 1e+300)")
def float64_values_beyond_float32(tmp, w):
    video = np.random.default_rng(0).normal(size=(40, 20, 35))
    video[3, 4, 5] = 1e300
    return ["data", "info", mosei(tmp, video_train=video)]


@case("audio_valid.h5:d1: holds values outside float32's range")
def audio_minus_huge_is_not_silently_zero(tmp, w):
    audio = np.random.default_rng(0).normal(size=(12, 20, 74))
    audio[0, 0, 0] = -1e300
    return ["data", "info", mosei(tmp, audio_valid=audio)]


@case("vector of 'fear' holds NaN or infinite values")
def embeddings_with_nan(tmp, w):
    (tmp / "e.txt").write_text("2 3\nanger 0.1 0.2 0.3\nfear nan 0.2 0.3\n")
    return ["embeddings", "show", "--file", tmp / "e.txt"]


@case("vector of 'fear' holds values outside float32's range")
def embeddings_beyond_float32(tmp, w):
    (tmp / "e.txt").write_text("2 3\nanger 0.1 0.2 0.3\nfear 1e39 0.2 0.3\n")
    return ["embeddings", "show", "--file", tmp / "e.txt"]


@case("vector of 'fear' holds NaN or infinite values", nothing_in="out")
def embeddings_build_from_a_source_with_inf(tmp, w):
    (tmp / "glove.txt").write_text("anger 0.1 0.2\nfear inf 0.2\n")
    (tmp / "words.txt").write_text("anger\nfear\n")
    return ["embeddings", "build", "--source", tmp / "glove.txt", "--words", tmp / "words.txt", "--out", tmp / "out" / "e.txt"]


@case("'fear' appears twice (first on line 3)")
def embeddings_with_a_duplicate_word(tmp, w):
    (tmp / "e.txt").write_text("3 2\nanger 0.1 0.2\nfear 0.1 0.2\nfear 0.3 0.4\n")
    return ["embeddings", "neighbors", "anger", "--file", tmp / "e.txt"]


@case("the header announces 5 words, the file holds 2")
def embeddings_with_a_wrong_header_count(tmp, w):
    (tmp / "e.txt").write_text("5 2\nanger 0.1 0.2\nfear 0.1 0.2\n")
    return ["train", "--data", w.data, "--embeddings", tmp / "e.txt", "--epochs", 1]


@case("the first line is not a header or a word with numbers (starts '<!DOCTYPE html>')")
def embeddings_that_are_a_saved_web_page(tmp, w):  # a headerless file is GloVe text, and is read
    (tmp / "e.txt").write_text("<!DOCTYPE html>\n<html><body>GloVe download</body></html>\n")
    return ["embeddings", "show", "--file", tmp / "e.txt"]


# ---------------------------------------------------------------- sizes and choices
TRAIN_FLAG_CASES = {  # emozsl train --data DATA ARGS...
    "infinite_learning_rate": ("--lr inf: must be a finite number above 0", ["--lr", "inf"]),
    # the flag named is the one whose value is wrong, not another setting of the same name's family
    "negative_seed_beside_a_split_seed": ("Error: --seed -1: must be at least 0", ["--split-seed", "0", "--seed", "-1"]),
    "nan_learning_rate": ("--lr nan: must be a finite number above 0", ["--lr", "nan"]),
    "zero_hidden_size": ("--option audio_hidden=0: must be at least 1", ["--option", "audio_hidden=0"]),
    "negative_layer_count": ("--option layers=-2: must be at least 1", ["--option", "layers=-2"]),
    "dropout_above_one": ("--option dropout=1.5: must be within [0, 1)", ["--option", "dropout=1.5"]),
    "negative_epochs": ("--epochs -1: must be at least 1", ["--epochs", -1]),
    "meta_device": ("--device meta: not a training device", ["--device", "meta"]),
    "absent_gpu": ("--device cuda:7", ["--device", "cuda:7", "--epochs", 1]),
    "zero_seeds": ("--seeds 0: need at least 1 seed", ["--seeds", 0]),
    "two_folds": ("--folds 2: need at least 3", ["--folds", 2]),
    "run_name_escapes_the_runs_folder": ("--name ../escape: must name one folder", ["--name", "../escape"]),
    "repeated_modality": ("--modalities text,text: give each of text, audio, visual at most once", ["--modalities", "text,text"]),
    "unknown_label_words": ("--label-words nope: neither a shipped label set", ["--label-words", "nope", "--zsl", "fear"]),
    "label_encoder_not_a_model": ("--label-encoder .: not a local Hugging Face model folder",
                                  ["--label-encoder", ".", "--zsl", "fear"]),
}
for case_name, (message, flags) in TRAIN_FLAG_CASES.items():
    case(message, name=case_name)(lambda tmp, w, flags=flags: ["train", "--data", w.data, *flags])


@case("--option heads=3: must divide the width 64")
def width_not_divisible_by_heads(tmp, w):
    return ["train", "--model", "transformer_lf", "--data", w.data, "--option", "heads=3"]


@case("-k 0: must be at least 1")
def zero_neighbours(tmp, w):
    return ["embeddings", "neighbors", "sad", "-k", 0]


@case("--seed -1: must be at least 0")
def negative_split_seed(tmp, w):
    return ["split", "--data", w.data, "--zsl", "fear", "--seed", -1, "--out", tmp / "m.json"]


@case("--seed -1: must be at least 0", nothing_in="out")
def negative_synth_seed(tmp, w):
    return ["data", "synth", "--seed", -1, tmp / "out"]


@case("c.json: batch_size=0: must be at least 1")
def zero_batch_size_in_a_config_file(tmp, w):
    (tmp / "c.json").write_text(json.dumps({"batch_size": 0}))
    return ["train", "--config", tmp / "c.json"]


@case("--batch-size 0: must be at least 1")
def bench_with_zero_batch_size(tmp, w):
    return ["bench", "--batch-size", 0, "--data", w.data, "--out", tmp / "b.json"]


@case("--device cuda: CUDA is not available on this machine", nothing_in="out")
def bench_on_a_missing_gpu(tmp, w):  # one line, and no bench.json of failed rows
    return ["bench", "--device", "cuda", "--data", w.data, "--out", tmp / "out" / "b.json"]


@case("--precision bf16: needs a CUDA device", nothing_in="out")
def bench_in_bf16_on_a_cpu(tmp, w):
    return ["bench", "--precision", "bf16", "--device", "cpu", "--data", w.data, "--out", tmp / "out" / "b.json"]


@case("--data", nothing_in="out")
def bench_on_missing_data(tmp, w):
    return ["bench", "--device", "cpu", "--data", tmp / "nowhere", "--out", tmp / "out" / "b.json"]


@case("--stack 2: applies to --seeds or --folds", nothing_in="runs")
def stack_for_a_single_run(tmp, w):
    return train_args(w.data, "--zsl", "fear", "--stack", 2, "--runs-dir", tmp / "runs")


@case("target=fear: the supervised protocol has no target emotion")
def supervised_config_with_a_target(tmp, w):
    (tmp / "c.json").write_text(json.dumps({"protocol": "supervised", "target": "fear"}))
    return ["train", "--config", tmp / "c.json"]


@case("seed=zero: must be an integer")
def seed_of_the_wrong_type(tmp, w):
    (tmp / "c.json").write_text(json.dumps({"seed": "zero"}))
    return ["train", "--config", tmp / "c.json"]


@case("c.json: expected a JSON object of run fields")
def config_file_that_is_a_list(tmp, w):
    (tmp / "c.json").write_text("[1, 2]")
    return ["train", "--config", tmp / "c.json"]


@case("--emotions joy: not an emotion of this data")
def eval_of_an_unknown_emotion(tmp, w):
    return ["eval", w.run, "--emotions", "joy", "--device", "cpu"]


@case("Invalid value for '--epochs': 'many' is not a valid integer", exit_code=2)
def flag_value_of_the_wrong_type(tmp, w):
    return ["train", "--epochs", "many"]


@case("No such command 'trian'", exit_code=2)
def misspelled_command(tmp, w):
    return ["trian"]


# ---------------------------------------------------------------- files and folders
@case("not a readable HDF5 file (")
def truncated_hdf5(tmp, w):
    folder = mosei(tmp)
    file = folder / "ey_train.h5"
    file.write_bytes(file.read_bytes()[:1000])
    return ["data", "info", folder]


@case("audio_test.h5: not a readable HDF5 file (")
def corrupt_hdf5(tmp, w):
    folder = mosei(tmp)
    (folder / "audio_test.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    return ["split", "--data", folder, "--zsl", "fear", "--out", tmp / "m.json"]


@case("no array 'd1'")
def hdf5_key_that_is_a_group(tmp, w):
    folder = mosei(tmp)
    with h5py.File(folder / "video_valid.h5", "w") as h5:
        h5.create_group("d1")
    return ["data", "info", folder]


@case("audio has 73 features per step in the valid split but 74 in the train split")
def feature_sizes_that_differ_between_splits(tmp, w):
    return ["data", "info", mosei(tmp, audio_valid=np.zeros((12, 20, 73), np.float32))]


@case("the test split is empty", nothing_in="runs")
def empty_test_split(tmp, w):
    empty = {"text_test_emb": np.zeros((0, 20, 300), np.float32), "audio_test": np.zeros((0, 20, 74), np.float32),
             "video_test": np.zeros((0, 20, 35), np.float32), "ey_test": np.zeros((0, 6), np.float32)}
    return train_args(mosei(tmp, **empty), "--runs-dir", tmp / "runs")


@case("not a data file emozsl reads (expected a raw-media table")
def data_path_that_is_a_text_file(tmp, w):
    (tmp / "data.txt").write_text("hello")
    return ["data", "info", tmp / "data.txt"]


@case("not a data folder emozsl reads (expected a raw-media table")
def data_folder_of_something_else(tmp, w):
    (tmp / "stuff").mkdir()
    return ["split", "--data", tmp / "stuff", "--zsl", 1]


@case("expected a non-empty list of utterances, found an empty list")
def cherma_with_an_empty_split(tmp, w):
    folder = write_cherma(tmp / "cherma")
    (folder / "test.json").write_text("[]")
    return ["data", "info", folder]


@case("not a readable .npy array")
def cherma_with_a_corrupt_feature_file(tmp, w):
    folder = write_cherma(tmp / "cherma")
    (folder / "audio" / "train" / "train_003.npy").write_bytes(b"\x93NUMPY garbage")
    return ["data", "info", folder]


@case("--trust-pickle")
def data_convert_without_trust(tmp, w):
    return ["data", "convert", write_mult(tmp / "iemocap_data.pkl"), tmp / "safe.h5"]


@case("cannot write (")
def runs_dir_below_a_file(tmp, w):
    (tmp / "file").write_text("x")
    return train_args(w.data, "--runs-dir", tmp / "file" / "runs")


@case("cannot write (")
def eval_tables_into_a_file(tmp, w):
    (tmp / "taken").write_text("x")
    return ["eval", w.run, "--out", tmp / "taken" / "tables", "--device", "cpu"]


@case("is a directory", exit_code=2)
def split_manifest_onto_a_folder(tmp, w):
    (tmp / "m.json").mkdir()
    return ["split", "--data", w.data, "--zsl", "fear", "--out", tmp / "m.json"]


@case("cannot write (")
def report_into_a_file(tmp, w):
    (tmp / "taken").write_text("x")
    return ["report", w.run.parent, "--out", tmp / "taken" / "report"]


@case("is a file", exit_code=2)
def eval_of_a_file(tmp, w):
    return ["eval", w.run / "config.json"]


@case("not a finished emozsl run")
def eval_of_an_unfinished_run(tmp, w):
    run = w.run_copy(tmp)
    (run / "results.json").unlink()
    return ["eval", run]


@case("does not fit this model (")
def checkpoint_of_another_backbone(tmp, w):
    run = w.run_copy(tmp)
    shutil.copy(w.lf_run / "checkpoint.pt", run / "checkpoint.pt")
    return ["eval", run, "--device", "cpu"]


@case("does not fit this model (")
def checkpoint_of_another_size(tmp, w):
    run = w.run_copy(tmp, "config.json", lambda c: c["model_options"].update(audio_hidden=16))
    return ["eval", run, "--device", "cpu"]


@case("checkpoint.pt: not a readable tensors-only file")
def truncated_checkpoint(tmp, w):
    run = w.run_copy(tmp)
    data = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(data[:len(data) // 2])
    return ["eval", run, "--device", "cpu"]


@case("run format 99, this emozsl")
def results_from_a_newer_emozsl(tmp, w):
    run = w.run_copy(tmp, "results.json", lambda r: r.update(format=99))
    return ["report", run]


@case("input_dims must map each modality to a positive size")
def metadata_with_a_negative_size(tmp, w):
    run = w.run_copy(tmp, "metadata.json", lambda m: m["input_dims"].update(audio=-74))
    return ["report", run, "--out", tmp / "report"]


@case("attributes emotions and neg_inf_replaced must hold JSON")
def safe_copy_with_broken_attributes(tmp, w):
    from emozsl.data import load_dataset, write_safe_h5

    file = write_safe_h5(load_dataset(mosei(tmp)), tmp / "safe.h5")
    with h5py.File(file, "a") as h5:
        h5.attrs["emotions"] = "anger, fear"
    return ["data", "info", file]


@case("results.json: not valid JSON")
def corrupt_results_in_a_report(tmp, w):
    run = w.run_copy(tmp)
    (run / "results.json").write_text('{"format": 2, "test"')
    return ["report", tmp]


# ---------------------------------------------------------------- raw media (fe2e, mesm)
def raw_table(tmp: Path, text: str = "hello there", sample_rate: str = "") -> Path:
    """Three utterances in the pickle-free table layout, written with soundfile and Pillow."""
    import soundfile
    from PIL import Image

    folder = tmp / "raw"
    (folder / "f").mkdir(parents=True, exist_ok=True)
    soundfile.write(str(folder / "a.wav"), np.zeros(8000, np.float32) + 0.1, 16000)
    Image.fromarray(np.full((48, 48, 3), 120, np.uint8)).save(folder / "f" / "0.png")
    lines = ["id,split,text,audio,frames,labels,sample_rate"]
    lines += [f"{s},{s},{text},a.wav,f,anger;fear,{sample_rate}" for s in ("train", "valid", "test")]
    (folder / "utterances.csv").write_text("\n".join(lines) + "\n")
    return folder


RAW_OPTIONS = ["--option", "width=1", "--option", "d=4", "--option", "heads=1", "--option", "text_dim=4"]


@case("utterance train: ", nothing_in="runs")
def raw_audio_file_missing(tmp, w):
    folder = raw_table(tmp)
    (folder / "a.wav").unlink()
    return ["train", "--model", "fe2e", "--data", folder, "--epochs", 1, "--device", "cpu", "--runs-dir", tmp / "runs",
            *RAW_OPTIONS]


@case("sample rate 16000 Hz, but the data say 44100 Hz", nothing_in="runs")
def raw_audio_with_a_contradicted_sample_rate(tmp, w):
    return ["train", "--model", "mesm", "--data", raw_table(tmp, sample_rate="44100"), "--epochs", 1, "--device", "cpu",
            "--runs-dir", tmp / "runs", *RAW_OPTIONS]


@case("utterance train: empty transcript")
def raw_empty_transcript(tmp, w):
    return ["data", "info", raw_table(tmp, text="  ")]


@case("--option top_p=0.0: must be within (0, 1]")
def mesm_top_p_zero(tmp, w):
    return ["train", "--model", "mesm", "--option", "top_p=0", "--data", raw_table(tmp)]


@case("--model eea: reads pre-extracted features, but")
def feature_model_on_raw_media(tmp, w):
    return ["train", "--model", "eea", "--data", raw_table(tmp)]


@case("--option text_model=")
def text_model_that_is_not_a_model_folder(tmp, w):
    return ["train", "--model", "fe2e", "--option", f"text_model={tmp}", "--data", raw_table(tmp)]


# ---------------------------------------------------------------- the field's other files (issue 18)
def sdk_sequence(file: Path, root: str, videos: dict) -> Path:
    """One CMU SDK computational sequence in its layout (docs/data-formats.md): ROOT/data/VIDEO/{features,intervals}, ROOT/metadata."""
    with h5py.File(file, "w") as h5:
        for video, (features, intervals) in videos.items():
            h5.create_dataset(f"{root}/data/{video}/features", data=features)
            h5.create_dataset(f"{root}/data/{video}/intervals", data=intervals)
        h5.create_dataset(f"{root}/metadata/root name", data=root, dtype=h5py.string_dtype())
    return file


def sdk_folder(tmp: Path, labels: bool = True) -> Path:
    folder = tmp / "sdk"
    folder.mkdir()
    words = np.array([[0.0, 0.5], [0.5, 1.0]])
    sdk_sequence(folder / "CMU_MOSEI_TimestampedGloveVectors.csd", "glove_vectors", {"81406": (np.ones((2, 300)), words)})
    sdk_sequence(folder / "CMU_MOSEI_COVAREP.csd", "COVAREP", {"81406": (np.ones((4, 74)), np.arange(5)[:, None] / 4 + [0, 0.25])})
    if labels:
        sdk_sequence(folder / "CMU_MOSEI_Labels.csd", "All Labels", {"81406": (np.ones((1, 7)), np.array([[0.0, 1.0]]))})
    return folder


@case("sdk: no labels sequence: 'All Labels' (usually CMU_MOSEI_Labels.csd)")
def sdk_folder_without_labels(tmp, w):
    return ["data", "info", sdk_folder(tmp, labels=False)]


@case("one CMU Multimodal SDK computational sequence ('COVAREP'); pass the folder holding it")
def one_sdk_file_instead_of_its_folder(tmp, w):
    return ["data", "info", sdk_folder(tmp) / "CMU_MOSEI_COVAREP.csd"]


@case("7 columns look like the CMU SDK's 'All Labels'")
def sdk_labels_in_a_processed_folder(tmp, w):
    return ["data", "info", mosei(tmp, ey_train=np.zeros((40, 7), np.float32))]


@case("an MMSA pickle (split 'train' holds regression_labels")
def mmsa_pickle(tmp, w):
    part = {"text": np.zeros((2, 3, 4)), "audio": np.zeros((2, 3, 4)), "vision": np.zeros((2, 3, 4)),
            "regression_labels": np.zeros(2)}
    (tmp / "mosei.pkl").write_bytes(pickle.dumps({s: part for s in ("train", "valid", "test")}))
    return ["data", "info", tmp / "mosei.pkl", "--trust-pickle"]


@case("video_test.h5:d1: holds 2 NaN, 1 +inf; pass --impute zero")
def nan_and_inf_in_visual_features(tmp, w):
    video = np.zeros((16, 20, 35), np.float32)
    video[0, 0, :3] = (np.nan, np.nan, np.inf)
    return ["split", "--zsl", "fear", "--data", mosei(tmp, video_test=video), "--out", tmp / "s.json"]


@case("Invalid value for '--impute': 'mean' is not one of 'none', 'zero'", exit_code=2)
def impute_by_an_unknown_rule(tmp, w):
    return ["data", "info", w.data, "--impute", "mean"]


@case("evil.pkl: a gensim save is a pickle, which runs code when loaded; pass --trust-pickle")
def pickled_word_vectors_without_trust(tmp, w):
    return ["embeddings", "show", "--file", w.evil]


@case("truncated or damaged gzip data")
def truncated_gzipped_word_vectors(tmp, w):
    import gzip

    data = gzip.compress((("anger " + " ".join(["0.1"] * 50) + "\n") * 200).encode())
    (tmp / "v.txt.gz").write_bytes(data[: len(data) // 2])
    return ["embeddings", "build", "--source", tmp / "v.txt.gz", "--words", "mosei", "--out", tmp / "out" / "e.txt"]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_ends_in_one_line_naming_the_culprit(name, tmp_path, world):
    build, fragment, exit_code, nothing_in = CASES[name]
    result = CliRunner().invoke(main, ["-q", *map(str, build(tmp_path, world))])
    lines = result.output.strip().splitlines()
    assert result.exit_code == exit_code and len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert fragment in lines[0], lines[0]
    assert not world.marker.exists(), "a pickle was loaded without trust"
    if nothing_in:
        made = tmp_path / nothing_in
        assert not made.exists() or not [p for p in made.rglob("*") if p.is_file()], sorted(made.rglob("*"))


def test_the_list_covers_every_class_of_the_issue():
    """Trust, sweeps, manifests, numbers, sizes, files: at least 60 cases in all."""
    assert len(CASES) >= 60, len(CASES)


# raw media checked before training
PREFLIGHT_CASES: dict[str, tuple] = {}


def preflight_case(fragment: str):
    """Register a fault of raw media (the test split's, found only after training before the check)
    or of their table: the command must end in one error line holding `fragment`, before any run
    folder or cache entry is made."""
    def register(build):
        PREFLIGHT_CASES[build.__name__] = (build, fragment)
        return build
    return register


def raw_table_with_test_media(tmp: Path, audio=None, video=None) -> Path:
    """raw_table with the test utterance's own audio (t.wav, written by `audio`) or video (v.avi)."""
    folder = raw_table(tmp)
    columns, *rows = (folder / "utterances.csv").read_text().splitlines()
    rows = [row + "," for row in rows]
    if audio is not None:
        audio(folder / "t.wav")
        rows[2] = rows[2].replace(",a.wav,", ",t.wav,")
    if video is not None:
        video(folder / "v.avi")
        rows[2] = rows[2].replace(",f,", ",,") + "v.avi"
    (folder / "utterances.csv").write_text("\n".join([columns + ",video", *rows]) + "\n")
    return folder


def raw_train(tmp: Path, folder: Path, *extra) -> list:
    return ["train", "--model", "fe2e", "--data", folder, "--epochs", 1, "--device", "cpu", "--runs-dir", tmp / "runs",
            *RAW_OPTIONS, *extra]


@preflight_case("test: utterance test: ")
def raw_test_clip_that_is_empty(tmp):
    return raw_train(tmp, raw_table_with_test_media(tmp, audio=lambda p: p.write_bytes(b"")))


@preflight_case("t.wav: the audio holds no samples")
def raw_test_wav_without_samples(tmp):
    import soundfile

    def write(path):
        soundfile.write(str(path), np.zeros(0, np.float32), 16000)
    return raw_train(tmp, raw_table_with_test_media(tmp, audio=write))


@preflight_case("v.avi: the video opens but decodes no frame")
def raw_test_video_without_frames(tmp):
    import cv2

    def write(path):
        cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48)).release()
    return raw_train(tmp, raw_table_with_test_media(tmp, video=write))


@preflight_case("t.wav: no such audio file")
def raw_test_clip_missing_for_seeds(tmp):
    folder = raw_table_with_test_media(tmp, audio=lambda p: None)
    return raw_train(tmp, folder, "--seeds", 2, "--stack", 2)


@preflight_case("line 2 is not UTF-8 (byte 0xe9 at column 19); save the table as UTF-8")
def raw_table_in_windows_1252(tmp):
    folder = raw_table(tmp, text="un café crème")
    table = folder / "utterances.csv"
    table.write_bytes(table.read_text().encode("cp1252"))
    return raw_train(tmp, folder)


@pytest.mark.parametrize("name", list(PREFLIGHT_CASES))
def test_raw_media_fault_stops_training_before_any_work(name, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOZSL_CACHE", str(tmp_path / "cache"))
    build, fragment = PREFLIGHT_CASES[name]
    result = CliRunner().invoke(main, ["-q", *map(str, build(tmp_path))])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert fragment in lines[0], lines[0]
    # nothing trained or decoded (a seed group's group.json records its settings only, no result)
    made = [p for folder in ("runs", "cache") for p in (tmp_path / folder).rglob("*")
            if p.is_file() and p.name != "group.json"]
    assert not made, made


@pytest.mark.parametrize("length", [242, 255, 300])
def test_a_run_name_too_long_for_the_file_system_is_refused_before_anything_is_written(tmp_path, length):
    from click.testing import CliRunner

    from emozsl.cli import main
    from emozsl.errors import EmozslError
    from emozsl.runs import RunDir

    name = "r" * length
    result = CliRunner().invoke(main, ["train", "--name", name, "--runs-dir", str(tmp_path / "runs"), "--device", "cpu"])
    assert result.exit_code == 1 and f"is {length} bytes long; a name may be at most 241 bytes" in result.output
    assert "lock" not in result.output.split("at most")[0] and not (tmp_path / "runs").exists()
    with pytest.raises(EmozslError, match="at most 241 bytes"):
        RunDir.create(tmp_path / "runs", "é" * 121)  # 242 bytes in UTF-8
    assert not (tmp_path / "runs").exists()
