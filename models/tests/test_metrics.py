"""Metric functions (sdumc.metrics) against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from sdumc.metrics import call_metrics, class3, pearson, regression_metrics


def test_regression_metrics_by_hand():
    true = np.array([-2.0, -0.4, 0.0, 1.0, 2.6])
    pred = np.array([-1.0, 0.2, -0.3, 1.4, 2.6])
    m = regression_metrics(pred, true)
    assert m["mae"] == pytest.approx((1.0 + 0.6 + 0.3 + 0.4 + 0.0) / 5)
    # non-negative convention: true [F T? ...] -> signs (>=0): true [0,0,1,1,1], pred [0,1,0,1,1]
    assert m["acc2"] == pytest.approx(3 / 5)
    # F1 weighted: class 0 (support 2): tp1 fp1 fn1 -> 0.5; class 1 (support 3): tp2 fp1 fn1 -> 2/3
    assert m["f1"] == pytest.approx((2 * 0.5 + 3 * (2 / 3)) / 5)
    # nonzero convention drops the true 0: true>0 [0,0,1,1], pred>0 [0,1,1,1]
    assert m["acc2_nonzero"] == pytest.approx(3 / 4)
    # acc7: round(clip): true [-2,-0,0,1,3], pred [-1,0,-0,1,3]
    assert m["acc7"] == pytest.approx(4 / 5)
    assert m["corr"] == pytest.approx(np.corrcoef(pred, true)[0, 1])


def test_pearson_of_a_constant_is_zero_and_bad_input_is_refused():
    assert pearson(np.ones(4), np.arange(4)) == 0.0
    with pytest.raises(ValueError, match="equal-length"):
        regression_metrics(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        regression_metrics(np.array([np.nan, 1.0]), np.zeros(2))


def test_call_metrics_by_hand():
    true = np.array([-2.0, -0.4, 0.0, 1.0, 2.6, 0.6])
    pred = np.array([-1.0, -0.6, 0.3, 0.4, 2.6, 1.0])
    # classes (neutral band 0.5): true [-1, 0, 0, 1, 1, 1], pred [-1, -1, 0, 0, 1, 1]
    assert list(class3(true)) == [-1, 0, 0, 1, 1, 1] and list(class3(pred)) == [-1, -1, 0, 0, 1, 1]
    m = call_metrics(pred, true)
    # F1: class -1 (support 1) tp1 fp1 fn0 -> 2/3; 0 (2) tp1 fp1 fn1 -> 1/2; +1 (3) tp2 fp0 fn1 -> 4/5
    assert m["f1"] == pytest.approx((1 * 2 / 3 + 2 * 0.5 + 3 * 0.8) / 6)
    assert m["mae"] == pytest.approx(np.mean(np.abs(pred - true)))
    assert m["corr"] == pytest.approx(np.corrcoef(pred, true)[0, 1]) and m["n"] == 6
    assert list(class3(np.array([-0.5, 0.5]))) == [0, 0]   # the band's edges are neutral


def test_word_errors_levenshtein_over_normalised_words():
    from sdumc.metrics import word_errors
    assert word_errors("Hello, world!", "hello world") == (0, 2)          # case and punctuation
    assert word_errors("I can't go", "I can not go") == (2, 3)            # substitution + insertion
    assert word_errors("a b c d", "a c d") == (1, 4)                     # deletion
    assert word_errors("", "noise") == (1, 0)
