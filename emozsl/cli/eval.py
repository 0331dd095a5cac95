"""`emozsl eval RUN`."""

from __future__ import annotations

import click

from emozsl.cli.options import EmozslCommand, settings_options, trust_pickle_option
from emozsl.config import EvalSettings


@click.command("eval", cls=EmozslCommand)
@click.argument("run", type=click.Path(file_okay=False))
@settings_options(EvalSettings, into="settings")
@trust_pickle_option()
def eval_command(run, settings, trust_pickle):
    """Test-set table per emotion, seen and unseen, with CSV / Markdown / JSON copies; unseen emotions
    get calibrated thresholded metrics beside the raw ones (AUC needs none)."""
    from emozsl.commands.eval import evaluate_and_report

    table, files = evaluate_and_report(run, settings, trust_pickle)
    click.echo(table)
    click.echo("\nwrote " + ", ".join(str(f) for f in files))


COMMANDS = (eval_command,)
