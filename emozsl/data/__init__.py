"""Data: the in-memory data-set type, readers and writers of the real formats, generated data."""

from emozsl.data.dataset import IMPUTE_CHOICES, MODALITIES, SPLITS, MultimodalDataset, SplitData
from emozsl.data.formats import default_data_path, load_dataset
from emozsl.data.readers.safe_h5 import write_safe_h5

__all__ = ["IMPUTE_CHOICES", "MODALITIES", "SPLITS", "MultimodalDataset", "SplitData", "default_data_path", "load_dataset", "write_safe_h5"]
