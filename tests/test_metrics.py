import warnings

import numpy as np
import pytest
from sklearn.metrics import matthews_corrcoef

from dnabert_nb.training.metrics import classification_metrics, matthews_correlation


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_mcc_is_scikit_learns_on_random_and_degenerate_predictions(n_classes):
    rng = np.random.default_rng(n_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns where only one class is present
        for trial in range(300):
            n = int(rng.integers(1, 80))
            targets = rng.integers(0, n_classes, n)
            if trial % 3 == 0:  # a constant predictor: MCC undefined, 0 in both
                predicted = np.full(n, rng.integers(0, n_classes))
            elif trial % 3 == 1:  # mostly right
                predicted = np.where(rng.random(n) < 0.8, targets, rng.integers(0, n_classes, n))
            else:
                predicted = rng.integers(0, n_classes, n)
            expected = matthews_corrcoef(targets, predicted)
            assert matthews_correlation(targets, predicted, n_classes) == pytest.approx(expected, abs=1e-12)


def test_classification_metrics_reports_that_mcc():
    targets = np.array([0, 1, 1, 0, 1])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.1, 0.9]])
    assert classification_metrics(targets, probabilities, ("mcc",))["mcc"] == pytest.approx(
        matthews_corrcoef(targets, probabilities.argmax(axis=1))
    )
