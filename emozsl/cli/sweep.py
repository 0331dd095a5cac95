"""`emozsl sweep FILE`."""

from __future__ import annotations

import click

from emozsl.cli.options import EmozslCommand, settings_options, trust_pickle_option
from emozsl.config import RepeatSettings


@click.command("sweep", cls=EmozslCommand)
@click.argument("file", type=click.Path(dir_okay=False))
@settings_options(RepeatSettings, "executor", "workers", "stack", given_only=True, into="overrides")
@trust_pickle_option()
def sweep_command(file, overrides, trust_pickle):
    """Run every trial of a TOML sweep; finished trials are skipped, so a rerun resumes, and trials
    another process is training are left to it. Paths in the file are relative to the file; the
    sweep's folder (default runs/NAME) to the current folder. --executor, --workers and --stack
    override the file's. --executor ray joins the Ray cluster
    at $RAY_ADDRESS (data, word vectors and the sweep folder on a file system every node shares)."""
    from emozsl.commands.sweep import run_sweep

    folder, counts = run_sweep(file, trust_pickle, **overrides)
    click.echo(f"{folder}: {counts['trials']} trials, {counts['done']} trained, {counts['skipped']} already finished"
               + (f", {counts['busy']} being trained by another process" if counts["busy"] else ""))


COMMANDS = (sweep_command,)
