"""`emozsl data synth` and `data convert`: generated data sets in the real formats, with the commands
that use them next, and copies of a data set that load without trusting any pickle."""

from __future__ import annotations

from pathlib import Path

from emozsl.data import load_dataset, write_safe_h5
from emozsl.data.dataset import IMPUTE_DEFAULT
from emozsl.data.generated.synth import write_synth
from emozsl.errors import FieldError


def synth_and_report(fmt: str, out: str | Path, size: str = "small", seed: int = 0, embeddings: str | None = None,
                     unaligned: bool = False, disagreement: float = 0.25) -> str:
    """`emozsl data synth`: data.synth.write_synth's files (the same arguments), then the commands
    that inspect and train on them."""
    written = write_synth(fmt, out, size, seed, embeddings, unaligned, disagreement)
    lines = [f"wrote {path}" for path in written]
    # what uses it: IEMOCAP's zero-shot emotions come from the 9-class folder beside the 4-class pickle
    data, trust = written[0], " --trust-pickle" if written[0].suffix == ".pkl" else ""
    extra = f" --extra {written[1]} --zsl frustrated" if fmt == "iemocap" else " --zsl fear"
    extra += " --model fe2e" if fmt == "raw" else ""  # raw media: an end-to-end backbone
    lines.append(f"next: emozsl data info {data}{trust}\n      emozsl train --data {data}{extra}{trust}")
    if fmt == "raw":  # or standard features of the same media, for the feature backbones
        from emozsl.data.generated.raw_synth import next_commands

        lines += [f"      {line}" for line in next_commands(data).splitlines()]
    return "\n".join(lines)


def convert_data(source: str | Path, out: str | Path, trust_pickle: bool = False,
                 impute: str = IMPUTE_DEFAULT) -> Path:
    """`emozsl data convert`: a copy of `source` that loads without trusting any pickle: emozsl's
    HDF5 copy of features (data.write_safe_h5), or for raw media a table pointing at the same
    media files (data.utterance_table.write_raw_table), each recording the corpus. FieldError
    naming out when raw media are to go to a file not named .csv."""
    dataset = load_dataset(source, trust_pickle, impute)
    if dataset.kind != "raw":
        return write_safe_h5(dataset, out)
    from emozsl.data.readers.utterance_table import write_raw_table

    if not str(out).endswith(".csv"):
        raise FieldError("out", str(out), "raw media convert to a table: name it .csv")
    return write_raw_table(dataset, out)
