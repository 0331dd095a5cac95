"""`emozsl report RUNS_DIR`."""

from __future__ import annotations

import click

from emozsl.cli.options import EmozslCommand


@click.command("report", cls=EmozslCommand)
@click.argument("runs_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default: RUNS_DIR/report).")
def report_command(runs_dir, out):
    """Long CSV of every run and metric; mean +- std tables (Markdown, CSV, LaTeX); plots."""
    from emozsl.commands.report import write_report

    text, files = write_report(runs_dir, out)
    click.echo(text)
    click.echo(f"\nwrote {len(files)} files to {files[0].parent}")


COMMANDS = (report_command,)
