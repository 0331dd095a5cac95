"""The feature extractors, one table (EXTRACTORS): what `extract_features` and the CLI's
`--text NAME[:ARG]`, `--audio NAME[:ARG]`, `--visual NAME[:ARG]` accept.

Each row: name, modality, what it needs (an argument and the optional libraries), dim (None when
the model or file sets it), rate (what one step is, before alignment), version (bumped whenever
its output changes; recorded in the recipe), the function that opens it, and whether its clips are
shared among worker processes (`per_clip`: runner.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from emozsl.errors import EmozslError

MODALITY_KINDS = ("text", "audio", "visual")


@dataclass(frozen=True)
class Extractor:
    name: str  # as given on the command line, before ':'
    modality: str  # text, audio or visual
    needs: str  # what it takes: its argument and the optional libraries
    dim: int | None  # features per step; None when set by the model or file
    rate: str  # what one step is before alignment
    version: int  # of emozsl's extraction code for it (recorded in the recipe)
    opener: str  # "module:function" of emozsl.features.extractors: (arg, settings) -> an opened extractor
    arg: str | None = None  # the argument's metavar; None: takes none
    arg_required: bool = True  # with `arg`: False when the argument is optional
    per_clip: bool = False  # single-threaded work on each clip: clips shared among worker processes (runner.py)

    @property
    def usage(self) -> str:
        if self.arg is None:
            return self.name
        return f"{self.name}:{self.arg}" if self.arg_required else f"{self.name}[:{self.arg}]"


EXTRACTORS: tuple[Extractor, ...] = (
    Extractor("words", "text", "FILE: word vectors (any file emozsl reads: GloVe, word2vec text/binary, fastText)",
              None, "word", 1, "words", "FILE"),
    Extractor("hf", "text", "FOLDER: a local Hugging Face text encoder (AutoTokenizer + AutoModel); [text] extra",
              None, "word (tokens mean-pooled per word)", 1, "hf_text", "FOLDER"),
    Extractor("logmel", "audio", "N mel bins (default 80); [media] extra", None,
              "10 ms frame (25 ms window, 16 kHz)", 1, "logmel", "N", False, True),
    Extractor("mfcc", "audio", "N coefficients (default 13, of 40 mel bands); [media] extra", None,
              "10 ms frame (25 ms window, 16 kHz)", 1, "mfcc", "N", False, True),
    Extractor("opensmile", "audio", "SET: egemaps (eGeMAPSv02, 25 LLDs) or compare (ComParE_2016, 65 LLDs); "
              "[opensmile] extra", None, "10 ms frame (LLDs)", 1, "opensmile", "SET", per_clip=True),
    Extractor("hf", "audio", "FOLDER: a local wav2vec 2.0 / HuBERT folder (AutoFeatureExtractor + AutoModel); "
              "[text] extra", None, "20 ms frame", 1, "hf_audio", "FOLDER"),
    Extractor("openface", "visual", "DIR: OpenFace 2 FeatureExtraction CSVs (ID.csv or CLIP.csv), else STEM.csv "
              "beside each video", 49, "video frame (OpenFace rows)", 1, "openface", "DIR", False, True),
    Extractor("hf", "visual", "FOLDER: a local Hugging Face image encoder (ViT, CLIP vision: AutoImageProcessor "
              "+ AutoModel); [text] and [media] extras", None, "frame every 0.5 s (face crop)", 1, "hf_visual",
              "FOLDER"),
)

OPENSMILE_SETS = {"egemaps": ("eGeMAPSv02", 25), "compare": ("ComParE_2016", 65)}


def extractor(modality: str, name: str) -> Extractor:
    for row in EXTRACTORS:
        if row.modality == modality and row.name == name:
            return row
    names = ", ".join(row.usage for row in EXTRACTORS if row.modality == modality)
    raise EmozslError(f"--{modality} {name}: no such {modality} extractor (choose one of {names})")


def parse_spec(modality: str, spec: str) -> tuple[Extractor, str | None]:
    """`NAME[:ARG]` -> the extractor row and its argument (None when not given)."""
    if modality not in MODALITY_KINDS:
        raise EmozslError(f"modality {modality!r}: choose one of {', '.join(MODALITY_KINDS)}")
    name, sep, arg = str(spec).partition(":")
    row = extractor(modality, name.strip().lower())
    arg = arg if sep else None
    if row.arg is None and arg:
        raise EmozslError(f"--{modality} {spec}: {row.name} takes no argument")
    if row.arg is not None and row.arg_required and not arg:
        raise EmozslError(f"--{modality} {spec}: give {row.usage} ({row.needs})")
    return row, arg or None


def extractor_table() -> list[dict]:
    """The table as rows (what `emozsl features list` would print)."""
    return [{"modality": r.modality, "name": r.usage, "dim": r.dim, "rate": r.rate, "version": r.version,
             "needs": r.needs} for r in EXTRACTORS]


def format_extractor_table() -> str:
    """`emozsl features list`: the registered extractors as aligned text."""
    rows = [("modality", "extractor", "dim", "step", "needs")]
    rows += [(r["modality"], r["name"], str(r["dim"] or "from ARG"), r["rate"], r["needs"]) for r in extractor_table()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
