"""The main job on the embedded default: generate MOSEI-format data, hold one emotion out,
train EmoEmbs on the rest, and print the unseen-emotion table."""

from __future__ import annotations

import logging
from pathlib import Path

from emozsl.commands.train import report_training_result
from emozsl.config import QuickstartSettings, RunConfig, defaults
from emozsl.data import load_dataset
from emozsl.data.generated.synth import write_synth
from emozsl.splits import make_split, manifest_name, save_manifest
from emozsl.train import train

log = logging.getLogger("emozsl")
QUICKSTART = defaults(QuickstartSettings)


def quickstart(out: str | Path = QUICKSTART.out, zsl: str = QUICKSTART.target, epochs: int = QUICKSTART.epochs,
               seed: int = QUICKSTART.seed, device: str = QUICKSTART.device) -> str:
    """`emozsl quickstart` (QuickstartSettings): generated data, a zero-shot split on `zsl` and one
    run of the default backbone, all under `out`; returns the run's folder and its test table."""
    out = Path(out)
    data_dir = out / "data" / "synth-mosei"
    write_synth("mosei", data_dir, size="small", seed=seed)
    log.info("wrote generated MOSEI-format data to %s", data_dir)
    manifest = make_split(load_dataset(data_dir), "zsl", zsl, seed=seed)
    split_file = save_manifest(manifest, out / "splits" / manifest_name(manifest))
    log.info("zero-shot split on '%s': %s", manifest["target"], split_file)
    config = RunConfig(data=str(data_dir), split=str(split_file), protocol="zsl",
                       target=manifest["target"], epochs=epochs, seed=seed, device=device,
                       runs_dir=str(out / "runs"))
    run_dir = train(config)
    return f"run: {run_dir}\n\n{report_training_result(run_dir)}"

