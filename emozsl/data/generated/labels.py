"""Generated labels shared by the feature (synth.py) and raw-media (raw_synth.py) generators:
CMU-MOSEI-like emotion intensities with the corpus's prevalence and co-occurrence."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from emozsl.data.readers.mosei import MOSEI_EMOTIONS

MOSEI_PREVALENCE = np.array([0.21, 0.18, 0.08, 0.53, 0.26, 0.10])
# Latent correlations of anger, disgust, fear, happy, sad, surprise (negative emotions co-occur).
MOSEI_CORRELATION = np.array([
    [1.00, 0.50, 0.20, -0.30, 0.35, 0.05],
    [0.50, 1.00, 0.15, -0.30, 0.30, 0.00],
    [0.20, 0.15, 1.00, -0.15, 0.30, 0.10],
    [-0.30, -0.30, -0.15, 1.00, -0.25, 0.10],
    [0.35, 0.30, 0.30, -0.25, 1.00, 0.00],
    [0.05, 0.00, 0.10, 0.10, 0.00, 1.00]])
INTENSITY_LEVELS = np.arange(1, 10) / 3.0  # 0.33 .. 3.0, MOSEI's annotation steps
INTENSITY_PROBS = np.array([0.30, 0.20, 0.17, 0.11, 0.08, 0.06, 0.04, 0.02, 0.02])


def mosei_intensities(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 6) MOSEI-like intensities: a Gaussian copula gives the prevalence and co-occurrence."""
    # Cholesky by hand: multivariate_normal's SVD can differ across BLAS builds, and the
    # generated labels must be identical on every machine (splits are tied to them).
    z = rng.standard_normal((n, len(MOSEI_EMOTIONS))) @ np.linalg.cholesky(MOSEI_CORRELATION).T
    present = z > norm.ppf(1 - MOSEI_PREVALENCE)
    return present * rng.choice(INTENSITY_LEVELS, size=present.shape, p=INTENSITY_PROBS)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (emotion prototypes, word directions)."""
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
