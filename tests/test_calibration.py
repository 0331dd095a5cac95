"""Calibrated unseen-emotion scores: each method's definition, what it may read, and the metrics it
leaves alone; an emotion's calibration depends on the run and that emotion only."""

import numpy as np
import pytest
import torch

from emozsl.calibration import CALIBRATIONS, fit_calibration
from emozsl.errors import EmozslError
from emozsl.scoring import score_calibrated

SEEN = np.array([True, True, True, False])


def reference(seed: int = 0, n: int = 400):
    """Seen columns whose positives score higher; an unseen column on another scale and offset."""
    rng = np.random.default_rng(seed)
    labels = rng.random((n, 4)) < np.array([0.3, 0.2, 0.1, 0.0])
    logits = rng.normal(0, 1, (n, 4)) + 2.0 * labels
    logits[:, 3] = 5.0 * rng.normal(0, 1, n) + 7.0
    return logits, labels


def fit(method, logits, labels=None, calibrate=~SEEN):
    """The calibration of every column of `logits` against the seen columns as the run's trained ones."""
    return fit_calibration(method, logits[:, SEEN], None if labels is None else labels[:, SEEN], logits, calibrate)


@pytest.mark.parametrize("method", CALIBRATIONS)
def test_seen_emotions_keep_their_logits_and_unseen_labels_are_never_read(method):
    logits, labels = reference()
    fitted = fit(method, logits, labels)
    assert np.array_equal(fitted.apply(logits)[:, :3], logits[:, :3])
    flipped = labels.copy()
    flipped[:, 3] = ~flipped[:, 3]  # the unseen emotion's labels, whatever they are, change nothing
    again = fit(method, logits, flipped)
    assert np.array_equal(again.scale, fitted.scale) and np.array_equal(again.shift, fitted.shift)
    assert (fitted.scale > 0).all()  # an increasing map: every ranking (AUC) is kept


def test_none_and_no_unseen_emotion_are_the_identity():
    logits, labels = reference()
    for fitted in (fit("none", logits, labels), fit("standardize", logits, labels, np.zeros(4, bool))):
        assert np.array_equal(fitted.apply(logits), logits)


def test_standardize_gives_the_unseen_emotion_the_seen_average_mean_and_spread():
    logits, _ = reference()
    adjusted = fit("standardize", logits).apply(logits)  # label-free: no labels passed
    assert adjusted[:, 3].mean() == pytest.approx(logits[:, :3].mean(0).mean())
    assert adjusted[:, 3].std() == pytest.approx(logits[:, :3].std(0).mean())


def test_seen_fpr_makes_the_unseen_emotion_say_yes_as_often_as_seen_ones_wrongly_do():
    logits, labels = reference()
    adjusted = fit("seen-fpr", logits, labels).apply(logits)
    false_positive_rate = np.mean([(logits[~labels[:, k], k] > 0).mean() for k in range(3)])
    assert (adjusted[:, 3] > 0).mean() == pytest.approx(false_positive_rate, abs=2 / len(logits))


@pytest.mark.parametrize("method", ["standardize", "seen-fpr"])
def test_an_emotions_calibration_does_not_depend_on_what_else_is_scored(method):
    """The seen side is always every trained emotion: scoring fear alone, with sad, or with happy
    gives fear the same map (it moved with the other emotions asked for before)."""
    logits, labels = reference()
    rng = np.random.default_rng(1)
    other = rng.normal(size=(len(logits), 2)) * 3 + 1  # another unseen emotion
    alone = fit_calibration(method, logits[:, SEEN], labels[:, SEEN], logits[:, [3]], np.array([True]))
    beside = fit_calibration(method, logits[:, SEEN], labels[:, SEEN], np.column_stack([logits[:, [0, 3]], other]),
                             np.array([False, True, True, True]))
    assert alone.scale[0] == pytest.approx(beside.scale[1]) and alone.shift[0] == pytest.approx(beside.shift[1])
    assert alone.scale[0] != 1 or alone.shift[0] != 0  # one emotion alone is calibrated too


def test_calibrated_twin_changes_thresholded_metrics_only_for_unseen_emotions():
    logits, labels = reference(0)
    test_logits, test_labels = reference(1)
    test_labels[:, 3] = test_logits[:, 3] > np.quantile(test_logits[:, 3], 0.9)  # the unseen emotion's truth
    result = score_calibrated(torch.from_numpy(test_logits), torch.from_numpy(test_labels.astype(np.float32)),
                              fit("standardize", logits), ["a", "b", "c", "u"], ["u"], 0.5, "test")
    raw, calibrated = result.rows(), result.calibrated.rows()
    assert result.calibrated.calibration == "standardize" and result.calibration is None
    assert [r["auc"] for r in raw] == pytest.approx([r["auc"] for r in calibrated])
    assert [r["f1_positive"] for r in raw[:3]] == [r["f1_positive"] for r in calibrated[:3]]
    assert raw[3]["f1_positive"] < 0.2 < calibrated[3]["f1_positive"]  # the raw scale says yes to everything
    stored = type(result).from_dict(result.to_dict())
    assert stored.calibrated.rows() == calibrated


def test_unknown_method_is_an_error():
    with pytest.raises(EmozslError, match="calibration"):
        fit("platt", reference()[0])
