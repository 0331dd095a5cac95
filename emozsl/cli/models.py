"""`emozsl models`."""

from __future__ import annotations

import click
from click.core import ParameterSource

from emozsl.cli.options import EmozslCommand, pairs
from emozsl.models import REGISTRY


@click.command("models", cls=EmozslCommand)
@click.option("--model", "models", multiple=True, type=click.Choice(list(REGISTRY)),
              help="Only this backbone (repeatable; default every one).")
@click.option("--option", "options", multiple=True, help="Model option KEY=VALUE (repeatable): count each --model's "
              "parameters at it, or with --flops measure at it (e.g. width=64, the paper's).")
@click.option("--flops", is_flag=True, help="Instead: GFLOPs of MESM's feature extraction against top_p (and FE2E's).")
@click.option("--seconds", type=float, default=5.0, show_default=True, help="--flops: the utterance's length.")
def models_command(models, options, flops, seconds):
    """The registered backbones with their parameter counts at the paper's MOSEI sizes, and each
    one's options with default and kind."""
    ctx = click.get_current_context()
    if flops and models:
        raise click.UsageError("--flops measures mesm against fe2e: --model does not apply")
    if not flops and ctx.get_parameter_source("seconds") == ParameterSource.COMMANDLINE:
        raise click.UsageError("--seconds needs --flops")
    if not flops and options and not models:
        raise click.UsageError("--option needs --model NAME (the backbones to count at it) or --flops")
    if flops:
        from emozsl.models.flops import flops_table

        click.echo(flops_table(seconds, pairs(options, "--option")))
        return
    from emozsl.models.summary import models_table

    click.echo(models_table(list(models), pairs(options, "--option")))


COMMANDS = (models_command,)
