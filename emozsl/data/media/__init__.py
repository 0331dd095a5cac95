"""Raw media: references to an utterance's transcript, audio and frames (refs), decoding and
preprocessing (decode), and the cache of preprocessed media (cache)."""
