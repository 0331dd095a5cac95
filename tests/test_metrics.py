import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    roc_auc_score,
)

from emozsl.metrics import emotion_metrics, group_summary, harmonic_mean


@pytest.mark.parametrize("seed", range(5))
def test_per_emotion_metrics_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, k = 200, 6
    truth = rng.random((n, k)) < rng.uniform(0.05, 0.6, k)
    # Scores correlated with truth, rounded so ties occur.
    scores = np.round(np.clip(0.5 * truth + rng.random((n, k)) * 0.8, 0, 1), 2)
    got = emotion_metrics(truth, scores, threshold=0.5)
    predicted = scores > 0.5
    for j in range(k):
        assert got["wacc"][j] == pytest.approx(balanced_accuracy_score(truth[:, j], predicted[:, j]))
        assert got["f1_weighted"][j] == pytest.approx(f1_score(truth[:, j], predicted[:, j], average="weighted"))
        assert got["f1_positive"][j] == pytest.approx(f1_score(truth[:, j], predicted[:, j], zero_division=0))
        assert got["auc"][j] == pytest.approx(roc_auc_score(truth[:, j], scores[:, j]))
        assert got["acc"][j] == pytest.approx(accuracy_score(truth[:, j], predicted[:, j]))
        assert got["positives"][j] == truth[:, j].sum()


def test_wacc_is_the_mosei_formula():
    truth = np.array([[1], [1], [0], [0], [0], [0], [0], [0]])
    predicted = np.array([[0.9], [0.1], [0.9], [0.1], [0.1], [0.1], [0.1], [0.1]])
    tp, tn, p, n = 1, 5, 2, 6
    assert emotion_metrics(truth, predicted)["wacc"][0] == pytest.approx((tp * n / p + tn) / (2 * n))


def test_undefined_metrics_are_nan_not_zero():
    truth = np.zeros((5, 1))
    got = emotion_metrics(truth, np.linspace(0, 1, 5)[:, None])
    assert np.isnan(got["auc"][0]) and np.isnan(got["wacc"][0])
    assert got["acc"][0] == pytest.approx(0.6)


def test_never_saying_yes_scores_half_wacc_and_zero_positive_f1():
    truth = np.zeros((100, 1))
    truth[:3] = 1
    got = emotion_metrics(truth, np.zeros((100, 1)))
    assert got["acc"][0] == pytest.approx(0.97)
    assert got["wacc"][0] == pytest.approx(0.5) and got["f1_positive"][0] == 0


def test_group_summary_and_harmonic_mean():
    per = {m: np.array([0.8, 0.6, 0.5]) for m in ("wacc", "f1_weighted", "f1_positive", "auc", "acc")}
    summary = group_summary(per, ["a", "b", "c"], unseen=["c"])
    assert summary["seen"]["auc"] == pytest.approx(0.7)
    assert summary["unseen"]["auc"] == pytest.approx(0.5)
    assert summary["harmonic"]["auc"] == pytest.approx(2 * 0.7 * 0.5 / 1.2)
    assert set(group_summary(per, ["a", "b", "c"], unseen=[])) == {"seen"}  # no empty group, no harmonic mean
    assert np.isnan(harmonic_mean(0.5, float("nan")))
