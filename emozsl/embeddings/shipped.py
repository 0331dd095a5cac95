"""The emotion vectors emozsl ships: the repository's embeddings/ folder, installed in a wheel as the
package `emozsl.shipped_embeddings` (pyproject.toml), and the default vectors file in it."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

# The repository's embeddings/ folder; an installed wheel carries it as this package (pyproject.toml).
CHECKOUT_EMBEDDINGS = Path(__file__).resolve().parents[2] / "embeddings"
SHIPPED_PACKAGE = "emozsl.shipped_embeddings"
DEFAULT_FILE_NAME = "glove6b50d_emotions.txt"


def shipped_path(name: str) -> Path:
    """The shipped file `name`: in the source checkout (editable installs and tests), else installed
    with the package (a wheel)."""
    checkout = CHECKOUT_EMBEDDINGS / name
    return checkout if checkout.exists() else Path(str(resources.files(SHIPPED_PACKAGE) / name))


def default_embeddings_path() -> Path:
    """$EMOZSL_EMBEDDINGS, else the shipped emotion vectors."""
    if os.environ.get("EMOZSL_EMBEDDINGS"):
        return Path(os.environ["EMOZSL_EMBEDDINGS"])
    return shipped_path(DEFAULT_FILE_NAME)
