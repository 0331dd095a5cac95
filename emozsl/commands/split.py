"""`emozsl split`: a split manifest from data, and the line that says what it holds."""

from __future__ import annotations

import dataclasses

from emozsl.config import SplitSettings
from emozsl.splits import write_split


def split_and_report(settings: SplitSettings, trust_pickle: bool = False) -> str:
    """`emozsl split`: splits.write_split at `settings` (each setting by its name), then one line:
    the manifest's file, protocol, target and rows per split."""
    path, manifest = write_split(**dataclasses.asdict(settings), trust_pickle=trust_pickle)
    rows = manifest["rows"]
    return (f"wrote {path}: {manifest['protocol']}" + (f" on '{manifest['target']}'" if manifest["target"] else "")
            + "; rows " + ", ".join(f"{s} {sum(len(r) for r in rows[s].values())}" for s in manifest["positives"]))
