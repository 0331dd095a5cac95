"""Readers of the real on-disk formats, one module per format (rows of formats.FORMATS)."""
