"""OpenFace 2.2 `FeatureExtraction` CSV files in their published layout, written: the one place that
knows all 714 columns (the reader, extractors.read_openface, needs only OPENFACE_COLUMNS of them).

Columns, in OpenFace's order (its wiki, "Output Format"): frame, face_id, timestamp (s), confidence
(0-1), success (0/1); gaze_0_{x,y,z}, gaze_1_{x,y,z} (unit vectors), gaze_angle_{x,y} (radians);
eye_lmk_{x,y}_0..55 (pixels), eye_lmk_{X,Y,Z}_0..55 (mm); pose_T{x,y,z} (mm), pose_R{x,y,z}
(radians); {x,y}_0..67 (pixels), {X,Y,Z}_0..67 (mm); p_scale, p_r{x,y,z}, p_t{x,y}, p_0..p_33
(the shape model's rigid and non-rigid parameters); AU*_r (17 intensities, 0-5), AU*_c (18 presences, 0/1).
Values are separated by ", ", as OpenFace writes them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emozsl.features.extractors import AU_INTENSITY, AU_PRESENCE, GAZE, POSE
from emozsl.fileio import replacing

EYE_LANDMARKS, FACE_LANDMARKS, SHAPE_PARAMETERS = 56, 68, 34


def openface_header() -> list[str]:
    """OpenFace 2.2 FeatureExtraction's 714 column names, in its order."""
    eye = [f"eye_lmk_{a}_{i}" for a in ("x", "y", "X", "Y", "Z") for i in range(EYE_LANDMARKS)]
    shape = [f"{a}_{i}" for a in ("x", "y", "X", "Y", "Z") for i in range(FACE_LANDMARKS)]
    rigid = ["p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty", *(f"p_{i}" for i in range(SHAPE_PARAMETERS))]
    return ["frame", "face_id", "timestamp", "confidence", "success", *GAZE, *eye, *POSE, *shape,
            *rigid, *(f"AU{a}_r" for a in AU_INTENSITY), *(f"AU{a}_c" for a in AU_PRESENCE)]


def write_openface_csv(file: str | Path, values: np.ndarray, header: list[str] | None = None,
                       durable: bool = True) -> Path:
    """Write `values` (rows, len(header)) under `header` (default: the full layout) as OpenFace
    writes a CSV (", " separators, numbers in %g form), atomically. Raises EmozslError naming the
    file when it cannot be written."""
    header = openface_header() if header is None else header
    values = np.asarray(values, np.float64).reshape(-1, len(header))
    row = ", ".join(["%.6g"] * len(header))
    lines = [", ".join(header)] + [row % tuple(r) for r in values]
    with replacing(file, durable=durable) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(file)
