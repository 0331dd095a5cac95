"""Emotion word vectors, one module per concept:

- `read`: word vectors read from a file of any form they ship in (`read_word_vectors`), streamed
  and checked; `sniff`: which form a file is, by content (`detect_format`);
- `build`: a small emotion-vectors file built from a big source (`build_embeddings`);
- `load`: an emotion-vectors file in use (`load_embeddings`, `neighbors`, `describe`,
  `close_matches`);
- `shipped`: the vectors emozsl ships and the default file (`default_embeddings_path`);
- `presets`: the word lists `embeddings build --words` takes (`PRESETS`, `read_word_list`).

The names below are the package's public API; anything else is imported from its module.
"""

from emozsl.embeddings.build import build_embeddings
from emozsl.embeddings.load import close_matches, describe, load_embeddings, neighbors
from emozsl.embeddings.presets import PRESETS, read_word_list
from emozsl.embeddings.read import WordVectors, read_word_vectors
from emozsl.embeddings.shipped import default_embeddings_path
from emozsl.embeddings.sniff import detect_format

__all__ = ["PRESETS", "WordVectors", "build_embeddings", "close_matches", "default_embeddings_path", "describe",
           "detect_format", "load_embeddings", "neighbors", "read_word_list",
           "read_word_vectors"]
