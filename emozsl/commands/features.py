"""`emozsl features extract`: features of your own recordings, and what the extraction did."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from emozsl.config import FeaturesSettings


def extract_and_report(source: str | Path, out: str | Path, settings: FeaturesSettings | None = None,
                       trust_pickle: bool = False) -> str:
    """`emozsl features extract`: features.extract_features of `source` into `out` at `settings`
    (each by its name; `no_cache` as `cache`), then what it did: clips extracted and failed, media
    seconds and seconds taken, each modality's size and steps, the alignment, out-of-vocabulary
    words, and the commands that use `out`."""
    from emozsl.features import extract_features  # extractors' libraries: loaded once the values are checked

    options = dataclasses.asdict(settings or FeaturesSettings())
    options["cache"] = not options.pop("no_cache")
    extraction = extract_features(source, out, **options, trust_pickle=trust_pickle)
    extractors, summary = extraction.recipe["extractors"], extraction.summary
    failures = ", ".join(f"{cause} {n}" for cause, n in summary.get("failures", {}).items())
    done = (f"{summary['extracted']} of {summary['clips']} clips ({summary['media_seconds']:.0f} s of media) in "
            f"{summary['seconds']:.1f} s" + (f"; failed: {failures} (named above and in the recipe's summary)"
                                             if failures else ""))
    dims = ", ".join(f"{m} {e['dim']} x {e['steps']} steps" for m, e in extractors.items())
    stats = extractors.get("text", {}).get("stats", {})
    oov = f"\nout-of-vocabulary words (zero vectors): {stats['oov_words']} of {stats['words']}" if "oov_words" in stats else ""
    use = (f"emozsl train --data {extraction.out} --zsl fear --modalities {','.join(extractors)}"
           if extraction.dataset.labelled else f"emozsl predict RUN --data {extraction.out}  (unlabelled: a feature "
           "run trained on the same recipe scores them)")
    return (f"{done}\nwrote {extraction.out}: {dims}; alignment {extraction.recipe['settings']['alignment']}{oov}\n"
            f"next: emozsl data info {extraction.out}\n      {use}")
