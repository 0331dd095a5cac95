"""Data: the in-memory data-set type, readers and writers of the real formats, generated data."""

from emozsl.data.dataset import MODALITIES, SPLITS, MultimodalDataset, SplitData
from emozsl.data.readers import default_data_path, load_dataset, write_safe_h5

__all__ = ["MODALITIES", "SPLITS", "MultimodalDataset", "SplitData", "default_data_path", "load_dataset", "write_safe_h5"]
