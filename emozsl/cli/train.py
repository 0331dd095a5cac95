"""`emozsl train` and `emozsl quickstart`."""

from __future__ import annotations

import dataclasses

import click

from emozsl.cli.options import EmozslCommand, config_option, setting_values, settings_options, trust_pickle_option
from emozsl.config import QuickstartSettings, RepeatSettings, RunConfig, TaskSettings

# Settings that `emozsl train` takes from the command line: every run setting with a flag, in the
# order RunConfig declares them (protocol and target come from --zsl / --fsl).
TRAIN_SETTINGS = [f.name for f in dataclasses.fields(RunConfig) if f.metadata["flag"]]


def train_options(command):
    for name in reversed(TRAIN_SETTINGS):
        command = config_option(name)(command)
    return command


@click.command(cls=EmozslCommand)
@settings_options(QuickstartSettings, into="settings")
def quickstart(settings: QuickstartSettings):
    """Generate data, train EmoEmbs without one emotion, print the unseen-emotion table."""
    from emozsl.commands.quickstart import quickstart as run_quickstart

    click.echo(run_quickstart(settings.out, settings.target, settings.epochs, settings.seed, settings.device))


@click.command("train", cls=EmozslCommand)
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="JSON run config (e.g. a run's config.json); options given here override it.")
@settings_options(TaskSettings, into="task")
@settings_options(RepeatSettings, "seeds", "folds", "stack", into="repeat")
@train_options
@trust_pickle_option()
def train_command(config_file, task, repeat, trust_pickle, **settings):
    """Train a model; writes runs/NAME/ (config, metrics.jsonl, checkpoint, results) and prints its
    test table (with --seeds/--folds: one folder per run and a mean +- std table; the same command
    again resumes them). Every run setting has a flag below; a config file gives the rest."""
    from emozsl.commands.train import train_and_report

    click.echo(train_and_report(config_file, task, repeat, trust_pickle, **setting_values(settings)))


COMMANDS = (quickstart, train_command)
