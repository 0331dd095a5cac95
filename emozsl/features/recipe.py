"""The recipe of an extracted data set: what made its features, stored in the HDF5 file as the
attribute `emozsl_recipe` (JSON), so a copy can be checked against the models and word vectors it
needs before new data are extracted the same way.

{"recipe_version": 1, "emozsl": "0.1.0", "source": ..., "versions": {package: version},
 "settings": {"max_steps": 50, "alignment": "word" | "none", "frame_interval": 0.5, ...},
 "extractors": {modality: {"name", "arg", "version", "dim", "rate", "stats",
                           "files": [{"kind": "file" | "folder", "path", "sha256"}]}}}
A folder's sha256 is that of its files' relative paths (POSIX, sorted) and their own sha256 values,
every file under it included.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

from emozsl.data.hdf5 import open_h5
from emozsl.errors import EmozslError
from emozsl.fileio import file_sha256, folder_sha256

RECIPE_ATTRIBUTE = "emozsl_recipe"
RECIPE_VERSION = 1


def sha256_of(kind: str, path: str | Path) -> str:
    return folder_sha256(path) if kind == "folder" else file_sha256(path)


def package_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def read_recipe(path: str | Path) -> dict | None:
    """The recipe stored in an emozsl HDF5 file, or None when it holds none (a copy made by
    `data convert`). An unreadable file or a recipe that is not JSON is an EmozslError."""
    path = Path(path)
    with open_h5(path) as h5:
        raw = h5.attrs.get(RECIPE_ATTRIBUTE)
    if raw is None:
        return None
    try:
        recipe = json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        raise EmozslError(f"{path}: attribute {RECIPE_ATTRIBUTE} is not JSON") from None
    if not isinstance(recipe, dict):
        raise EmozslError(f"{path}: attribute {RECIPE_ATTRIBUTE} is not a JSON object")
    return recipe


def check_recipe(recipe: dict) -> None:
    """Every model folder and word-vector file the recipe names is there with the sha256 it had;
    else an EmozslError in one line naming the modality, extractor and path."""
    for modality, entry in (recipe.get("extractors") or {}).items():
        label = f"--{modality} {entry.get('name')}"
        for item in entry.get("files") or []:
            kind, path, expected = item.get("kind"), Path(item.get("path", "")), item.get("sha256")
            what = "model folder" if kind == "folder" else "word-vector file"
            present = path.is_dir() if kind == "folder" else path.is_file()
            if not present:
                raise EmozslError(f"{label}: {what} {path} is missing (the recipe needs it, sha256 {expected})")
            actual = sha256_of(kind, path)
            if actual != expected:
                raise EmozslError(f"{label}: {what} {path} changed since extraction (sha256 {actual}, the recipe "
                                  f"says {expected})")


def scoring_specs(recipe: dict) -> dict[str, str]:
    """{modality: spec} that extracts new clips as the recipe did: a model folder or word-vector file
    named by the absolute path the recipe recorded (and `check_recipe` verified), never the spec's
    path relative to wherever training ran; OpenFace's folder only while it exists (it held the
    training clips' CSVs; OpenFace looks beside each clip too)."""
    specs = {}
    for modality, entry in recipe["extractors"].items():
        files = entry.get("files") or []
        if entry["name"] == "openface":  # its folder when it is still there (each clip's own CSV first: predict)
            folder = Path(entry["arg"]).expanduser().resolve() if entry.get("arg") else None
            specs[modality] = f"openface:{folder}" if folder is not None and folder.is_dir() else "openface"
        elif files:
            specs[modality] = f"{entry['name']}:{files[0]['path']}"
        else:
            specs[modality] = entry["spec"]
    return specs
