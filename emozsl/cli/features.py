"""`emozsl features extract`, `features list` and `features check`."""

from __future__ import annotations

import click

from emozsl.cli.options import EmozslGroup, settings_options
from emozsl.config import FeaturesSettings


@click.group(cls=EmozslGroup)
def features():
    """Extract features from your own recordings for the feature backbones."""


@features.command("extract")
@click.argument("source", type=click.Path())
@click.argument("out", type=click.Path(dir_okay=False))
# a range, not only the declared check: the help says [x>=1], and 0 is a usage error, as before
@settings_options(FeaturesSettings, into="settings", overrides={"workers": {"type": click.IntRange(min=1)}})
@click.option("--trust-pickle", is_flag=True, help="Allow a words:FILE that is a gensim save of word vectors (a "
              "pickle runs code when loaded; never taken from a file).")
def features_extract(source, out, settings, trust_pickle):
    """Features of SOURCE (an utterance table, a MESM folder or a folder of clips) into OUT, emozsl's
    HDF5 copy that every feature backbone trains on; labels and splits carried over, the recipe
    recorded (a run trained on OUT extracts new clips the same way in `emozsl predict`)."""
    from emozsl.commands.features import extract_and_report

    click.echo(extract_and_report(source, out, settings, trust_pickle))


@features.command("list")
def features_list():
    """The registered extractors: modality, name, output size, step and what each needs."""
    from emozsl.features.registry import format_extractor_table

    click.echo(format_extractor_table())


@features.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
def features_check(path):
    """Whether every model folder and word-vector file PATH's recipe names is there, unchanged."""
    from emozsl.features import check_recipe, read_recipe

    recipe = read_recipe(path)
    if recipe is None:
        raise click.ClickException(f"{path}: holds no extraction recipe (not made by `emozsl features extract`)")
    check_recipe(recipe)
    click.echo(f"{path}: every file of its recipe is there, unchanged")


COMMANDS = (features,)
