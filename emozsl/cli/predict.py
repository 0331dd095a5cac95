"""`emozsl predict RUN`."""

from __future__ import annotations

import click

from emozsl.cli.options import EmozslCommand, settings_options, trust_pickle_option
from emozsl.config import PredictSettings


@click.command("predict", cls=EmozslCommand)
@click.argument("run", type=click.Path(file_okay=False))
@settings_options(PredictSettings, into="settings")
@trust_pickle_option()
def predict_command(run, settings, trust_pickle):
    """Score any data with a finished run, for any emotion words: one row per utterance with each
    emotion's probability (and, for emotions the run never trained on, the calibrated one); the
    per-emotion table too when the data label them."""
    from emozsl.commands.predict import predict_and_report

    text, files = predict_and_report(run, settings, echo=click.echo, trust_pickle=trust_pickle)
    click.echo(text, err=not settings.out)
    if files:
        click.echo("wrote " + ", ".join(str(f) for f in files))


COMMANDS = (predict_command,)
