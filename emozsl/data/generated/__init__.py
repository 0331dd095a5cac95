"""Generated data in the real on-disk formats: labels, feature data sets, raw media, and the
writers they go through."""
