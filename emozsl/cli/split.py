"""`emozsl split`."""

from __future__ import annotations

import click

from emozsl.cli.options import EmozslCommand, settings_options, trust_pickle_option
from emozsl.config import SplitSettings


@click.command(cls=EmozslCommand)
@settings_options(SplitSettings, into="settings")
@trust_pickle_option()
def split(settings, trust_pickle):
    """Write a zero-shot, few-shot or supervised split manifest."""
    from emozsl.commands.split import split_and_report

    click.echo(split_and_report(settings, trust_pickle))


COMMANDS = (split,)
