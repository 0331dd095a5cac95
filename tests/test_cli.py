import json

from click.testing import CliRunner
from conftest import write_mult

from emozsl.cli import main


def run(*args, env=None):
    return CliRunner().invoke(main, ["-q", *map(str, args)], env=env)


def one_line_error(result, fragment):
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], result.output


def test_split_on_default_data_writes_a_manifest_under_splits(synth_mosei_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("split", "--zsl", 3, env={"EMOZSL_DATA": str(synth_mosei_dir)})
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "splits" / "mosei_zsl_happy_seed0.json").read_text())
    assert manifest["unseen"] == ["happy"] and manifest["positives"]["train"]["happy"] == 0
    again = run("split", "--dataset", "mosei", "--data", synth_mosei_dir, "--zsl", "happy", "--out", tmp_path / "b.json")
    assert again.exit_code == 0
    assert (tmp_path / "b.json").read_bytes() == (tmp_path / "splits" / "mosei_zsl_happy_seed0.json").read_bytes()


def test_cli_errors_are_one_line(synth_mosei_dir, tmp_path):
    one_line_error(run("split", "--data", tmp_path / "missing", "--zsl", 1), "missing: no such file or folder")
    one_line_error(run("split", "--data", synth_mosei_dir, "--zsl", 9), "choices: 0 anger")
    one_line_error(run("split", "--data", synth_mosei_dir, "--dataset", "iemocap"), "holds mosei data")
    pkl = write_mult(tmp_path / "iemocap_data.pkl")
    one_line_error(run("data", "info", pkl), "--trust-pickle")
    one_line_error(run("split", "--data", pkl, "--zsl", "excited", "--trust-pickle"), "pass --extra DIR")
    one_line_error(run("train", "--data", synth_mosei_dir, "--zsl", 1, "--split", tmp_path / "x.json"), "--split " + str(tmp_path / "x.json") + ": a manifest fixes the protocol and target already")
    one_line_error(run("train", "--data", synth_mosei_dir, "--option", "depth=3"), "--option depth=3: not an option of eea")
    one_line_error(run("split", "--data", synth_mosei_dir, "--zsl", 1, "--fsl", 2), "--fsl 2: give one protocol: --zsl 1 or --fsl 2, not both")
    one_line_error(run("train", "--data", synth_mosei_dir, "--epochs", 0), "--epochs 0: must be at least 1")
    one_line_error(run("embeddings", "neighbors", "angri"), "close matches: angry")
    one_line_error(run("eval", tmp_path), "not a finished emozsl run")
    one_line_error(run("train", "--device", "cuda:7", "--data", synth_mosei_dir, "--epochs", 1)
                   if not __import__("torch").cuda.is_available() else run("train", "--device", "tpu"), "--device")


def test_data_commands(tmp_path):
    pkl = write_mult(tmp_path / "iemocap_data.pkl")
    info = run("data", "info", pkl, "--trust-pickle")
    assert info.exit_code == 0 and "neutral" in info.output and "train" in info.output
    converted = run("data", "convert", pkl, tmp_path / "safe.h5", "--trust-pickle")
    assert converted.exit_code == 0
    as_json = json.loads(run("data", "info", tmp_path / "safe.h5", "--json").output)
    assert as_json["splits"]["train"]["n"] == 30 and as_json["emotions"][-1] == "angry"
    synth = run("data", "synth", "--format", "iemocap", tmp_path / "ie")
    assert synth.exit_code == 0 and (tmp_path / "ie" / "iemocap9" / "y_test.p").exists()


def test_embeddings_commands(tmp_path):
    shown = run("embeddings", "show")
    assert shown.exit_code == 0 and "50 dimensions" in shown.output and "PDDL" in shown.output
    near = run("embeddings", "neighbors", "sad", "-k", "3")
    assert near.exit_code == 0 and len(near.output.strip().splitlines()) == 3
    (tmp_path / "words.txt").write_text("joy\nfear\n")
    built = run("embeddings", "build", "--source", "kumo", "--words", tmp_path / "words.txt", "--out", tmp_path / "e.txt")
    assert built.exit_code == 0 and (tmp_path / "e.txt.json").exists()


def test_train_and_models_commands(synth_mosei_dir, tmp_path):
    result = run("train", "--model", "eea", "--fsl", 5, "--data", synth_mosei_dir, "--epochs", 1, "--runs-dir",
                 tmp_path, "--option", "audio_hidden=16", "--option", "visual_hidden=8", "--option", "layers=1",
                 "--device", "cpu")
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "eea_fsl_surprise_seed0"  # the index names its emotion in the run and its config
    config = json.loads((run_dir / "config.json").read_text())
    assert config["protocol"] == "fsl" and config["target"] == "surprise" and config["model_options"]["audio_hidden"] == 16
    assert json.loads((run_dir / "split.json").read_text())["low_resource"] == ["surprise"]
    again = run("train", "--config", run_dir / "config.json", "--name", "from-config")
    assert again.exit_code == 0 and (tmp_path / "from-config" / "checkpoint.pt").exists()
    models = run("models")
    assert models.exit_code == 0 and models.output.splitlines()[1].startswith("eea")


def test_split_train_eval_on_a_mosei_folder_emozsl_did_not_write(mosei_dir, tmp_path):
    """Files written with plain h5py in the CMU-MOSEI layout go through the whole pipeline."""
    manifest = tmp_path / "m.json"
    assert run("split", "--data", mosei_dir, "--zsl", "sad", "--out", manifest).exit_code == 0
    trained = run("train", "--data", mosei_dir, "--split", manifest, "--epochs", 2, "--batch-size", 8,
                  "--runs-dir", tmp_path / "runs", "--option", "layers=1", "--option", "audio_hidden=8",
                  "--option", "visual_hidden=8")
    assert trained.exit_code == 0, trained.output
    evaluated = run("eval", tmp_path / "runs" / "eea_zsl_sad_seed0")
    assert evaluated.exit_code == 0
    assert any(line.startswith("sad") and "unseen" in line for line in evaluated.output.splitlines())


def test_shipped_manifests_apply_to_the_generated_default_data(synth_mosei_dir):
    """splits/ holds the manifests of the embedded default (data synth, small, seed 0)."""
    from pathlib import Path

    from emozsl.data import load_dataset
    from emozsl.splits import apply_split, load_manifest

    shipped = sorted((Path(__file__).resolve().parent.parent / "splits").glob("mosei_zsl_*_seed0.json"))
    assert len(shipped) == 6
    data = load_dataset(synth_mosei_dir)
    for path in shipped:
        manifest = load_manifest(path)
        task = apply_split(manifest, data)
        column = task.emotions.index(manifest["target"])
        assert task.splits["train"].presence[:, column].sum() == 0


def test_quickstart_prints_the_unseen_table(tmp_path):
    result = run("quickstart", "--out", tmp_path, "--epochs", 1, "--device", "cpu")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("fear") and "unseen" in line for line in lines)
    assert any(line.startswith("unseen average") for line in lines)
    assert (tmp_path / "splits" / "mosei_zsl_fear_seed0.json").exists()
    assert (tmp_path / "runs" / "eea_zsl_fear_seed0" / "eval" / "eval.md").exists()


def test_every_commands_options_are_made_from_their_declarations():
    """Each command's settings (emozsl.config) are its options: flag, help, default and choices."""
    import dataclasses

    from emozsl import config

    every = None
    commands = {"quickstart": [(config.QuickstartSettings, every, True)], "split": [(config.SplitSettings, every, True)],
                "eval": [(config.EvalSettings, every, True)], "predict": [(config.PredictSettings, every, True)],
                "bench": [(config.BenchSettings, every, True)],
                "train": [(config.TaskSettings, every, True), (config.RepeatSettings, ("seeds", "folds", "stack"), True)],
                "sweep": [(config.RepeatSettings, ("executor", "workers", "stack"), False)]}  # None: the file's
    for command, parts in commands.items():
        params = {p.name: p for p in main.commands[command].params}
        for settings, names, declared_default in parts:
            for setting in dataclasses.fields(settings):
                if names and setting.name not in names:
                    continue
                option, meta = params[setting.name], setting.metadata
                assert meta["flag"].split("/")[0] in option.opts and option.help.startswith(meta["help"]), setting.name
                default = setting.default if setting.default is not dataclasses.MISSING else None  # a factory's: None
                assert option.default == (default if declared_default else None), (command, setting.name)
                assert list(getattr(option.type, "choices", [])) == list(meta["choices"] or []), setting.name


def test_command_settings_are_checked_before_the_command_reads_or_writes(tmp_path):
    one_line_error(run("quickstart", "--out", tmp_path / "q", "--epochs", 0), "--epochs 0: must be at least 1")
    one_line_error(run("split", "--data", tmp_path / "missing", "--fsl", "fear", "--shots", 0),
                   "--shots 0: must be at least 1")
    one_line_error(run("eval", tmp_path / "missing", "--device", "tpu"), "--device tpu: not a training device")
    one_line_error(run("predict", tmp_path / "missing", "--top", -1), "--top -1: must be 0 or more")
    one_line_error(run("bench", "--batch-size", 0, "--out", tmp_path / "b.json"), "--batch-size 0: must be at least 1")
    one_line_error(run("sweep", tmp_path / "missing.toml", "--workers", 0), "--workers 0: must be an integer of at least 1")
    assert list(tmp_path.iterdir()) == []


def test_library_defaults_are_the_declared_ones():
    import inspect

    from emozsl.commands.bench import bench
    from emozsl.config import DEFAULTS, BenchSettings, QuickstartSettings, defaults
    from emozsl.evaluate import evaluate_run
    from emozsl.predict import Predictor, as_dataset
    from emozsl.commands.quickstart import quickstart

    def default(function, name):
        return inspect.signature(function).parameters[name].default

    declared = defaults(QuickstartSettings)
    assert [default(quickstart, n) for n in ("out", "zsl", "epochs", "seed", "device")] == \
        [declared.out, declared.target, declared.epochs, declared.seed, declared.device]
    declared = defaults(BenchSettings)
    assert [default(bench, n) for n in ("device", "size", "batch_size", "precision", "compile_model", "cuda_graphs",
                                        "out")] == [declared.device, declared.size, declared.batch_size,
                                                    declared.precision, declared.compile, declared.cuda_graphs,
                                                    declared.out]
    assert default(evaluate_run, "device") == default(Predictor.load, "device") == DEFAULTS.device
    assert default(as_dataset, "impute") == DEFAULTS.impute


def test_split_and_train_refuse_a_split_setting_alike(synth_mosei_dir, tmp_path):
    """`split` and a run's config apply the same split rules (emozsl.splits.SPLIT_RULES, check_protocol)."""
    for command in ("split", "train"):
        common = ["--data", synth_mosei_dir] + (["--out", tmp_path / "m.json"] if command == "split" else
                                                ["--runs-dir", tmp_path / "runs"])
        one_line_error(run(command, *common, "--zsl", "fear", "--shots", 2),
                       "--shots 2: applies to the few-shot protocol only (this is zsl)")
        one_line_error(run(command, *common, "--fsl", "fear", "--fraction", 1.5), "--fraction 1.5: must be within [0, 1]")
    assert list(tmp_path.iterdir()) == []
