"""emozsl: zero-shot and few-shot multimodal emotion recognition with modality-transferable
emotion embeddings."""

__version__ = "0.1.0"
