"""Feature extraction: a user's raw recordings -> the feature layout the feature backbones train on
(emozsl's safe HDF5 copy), offline, with the recipe recorded in the file. Imports only the
foundations (emozsl/data/, emozsl/embeddings/, errors.py, extras.py, fileio.py)."""

from emozsl.features.align import overlap_means, pool_windows
from emozsl.features.extract import ALIGN_CHOICES, DEFAULT_MAX_STEPS, Extraction, extract_features
from emozsl.features.recipe import check_recipe, folder_sha256, read_recipe
from emozsl.features.registry import EXTRACTORS, Extractor, extractor_table, parse_spec

__all__ = ["ALIGN_CHOICES", "DEFAULT_MAX_STEPS", "EXTRACTORS", "Extraction", "Extractor", "check_recipe",
           "extract_features", "extractor_table", "folder_sha256", "overlap_means", "parse_spec", "pool_windows",
           "read_recipe"]
