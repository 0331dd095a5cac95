"""The corpus a data set follows, declared with its format (the `corpus` of each row of FORMATS in
emozsl/data/formats.py), never read off the data set's name: the protocol its labels follow (the
comment on each) and the validation metric that picks a run's best epoch (`--select-metric`
overrides it). The protocols, emotion orders and papers: docs/protocols.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Corpus:
    name: str  # as HDF5 copies record it (attribute `corpus`)
    select_metric: str  # a name of emozsl.metrics.METRICS


# Multi-label: an emotion is present when its intensity is above 0; a low-resource emotion is named
# by its index among the six.
MOSEI = Corpus("mosei", "wacc")
# One emotion per utterance (4-class MulT pickles, 9-class files, 6-class raw media); the zero- and
# few-shot emotions come from the 9-class files (--extra); the best epoch by accuracy (the EmoEmbs recipe).
IEMOCAP = Corpus("iemocap", "acc")
# A shared label and one label per modality for each utterance.
CHERMA = Corpus("cherma", "wacc")
# The emotions a table or a folder of clips names, present when their label is above 0.
OTHER = Corpus("other", "wacc")
CORPORA = {corpus.name: corpus for corpus in (MOSEI, IEMOCAP, CHERMA, OTHER)}


def corpus_named(name: str) -> Corpus:
    """The corpus a data set's name stands for, where the file records no corpus of its own: a raw
    table's `dataset` column, and HDF5 copies written before the corpus was recorded. The rule
    those files were written under: a name starting with 'iemocap' is IEMOCAP, any other follows
    the multi-label protocol (its metric is MOSEI's)."""
    return IEMOCAP if name.startswith("iemocap") else CORPORA.get(name, OTHER)
