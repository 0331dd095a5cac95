"""`emozsl bench`."""

from __future__ import annotations

import click

from emozsl.cli.options import EmozslCommand, settings_options
from emozsl.config import BenchSettings


@click.command("bench", cls=EmozslCommand)
@settings_options(BenchSettings, into="settings")
def bench_command(settings):
    """Train/eval samples per second and full-epoch time per backbone; table and JSON."""
    from emozsl.commands.bench import bench_and_report

    click.echo(bench_and_report(settings))


COMMANDS = (bench_command,)
