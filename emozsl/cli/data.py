"""`emozsl data synth`, `data info` and `data convert`."""

from __future__ import annotations

import json

import click

from emozsl.cli.options import EmozslGroup, config_option, trust_pickle_option
from emozsl.errors import FieldError


@click.group(cls=EmozslGroup)
def data():
    """Read, inspect, convert and generate data sets."""


@data.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["mosei", "iemocap", "cherma", "raw"]), default="mosei",
              show_default=True, help="cherma: per-utterance .npy files with uni-modal labels; raw: wav files, face "
              "frames, transcripts with word timings and OpenFace CSVs in the pickle-free table layout, with the "
              "GloVe vectors of its words (for fe2e and mesm, or `features extract`).")
@click.option("--size", type=click.Choice(["small", "full"]), default="small", show_default=True,
              help="full: the real split sizes.")
@click.option("--seed", default=0, show_default=True)
@click.option("--unaligned", is_flag=True, help="iemocap: also write iemocap_data_noalign.pkl.")
@click.option("--embeddings", type=click.Path(dir_okay=False), help="Emotion vectors (default: shipped).")
@click.option("--disagreement", type=float, default=0.25, show_default=True,
              help="cherma: chance that a modality's own label differs from the multimodal one.")
def data_synth(out, fmt, size, seed, unaligned, embeddings, disagreement):
    """Write a generated data set in the real on-disk formats to OUT."""
    from emozsl.commands.data import synth_and_report

    click.echo(synth_and_report(fmt, out, size, seed, embeddings, unaligned, disagreement))


@data.command("info")
@click.argument("path", type=click.Path())
@trust_pickle_option()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option("impute", declared_default=True)
def data_info(path, trust_pickle, as_json, impute):
    """Shapes, dims and label counts per split and emotion."""
    from emozsl.data.info import format_summary, summary_of

    summary = summary_of(path, trust_pickle, impute)
    click.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))


@data.command("convert")
@click.argument("source", type=click.Path())
@click.argument("out", type=click.Path(dir_okay=False))
@trust_pickle_option()
@config_option("impute", declared_default=True)
def data_convert(source, out, trust_pickle, impute):
    """Write a copy of SOURCE that loads without trusting any pickle: an HDF5 file of features, or
    for raw media (the MESM layout) a table (OUT.csv) pointing at the same media files."""
    from emozsl.commands.data import convert_data

    try:
        written = convert_data(source, out, trust_pickle, impute)
    except FieldError as exc:  # OUT's name does not fit what SOURCE holds: a usage error of the argument
        if exc.field != "out":
            raise
        raise click.BadParameter(f"{out}: {exc.reason}", param_hint="OUT") from None
    click.echo(f"wrote {written}")


COMMANDS = (data,)
