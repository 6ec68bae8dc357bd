"""The linear fall-back of skcmkd.fallback (SafeAlignment uses it where nothing is aligned)."""

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from skcmkd import fallback
from skcmkd._inputs import input_scaler, stratified_subset
from skcmkd.fallback import fit_linear_fallback


def shared_units(n_per_class=20, seed=0):
    """Three classes told apart by two wide features, among 30 narrow noise features.

    Standardising lifts the noise to the signal's size; keeping the features'
    relative sizes (the global scaling) does not.
    """
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(3), n_per_class)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    signal = centres[y] + rng.randn(len(y), 2) * 2.5
    noise = rng.randn(len(y), 30) * 0.05
    return np.hstack([signal, noise]), y


def fitted_fallback(X, y, **kwargs):
    scaler = input_scaler().fit(X)
    return fit_linear_fallback(X, y, len(np.unique(y[y >= 0])), scaler, **kwargs)


def test_features_that_share_a_unit_get_the_global_scaling():
    X, y = shared_units()
    linear, choice = fitted_fallback(X, y)
    assert choice.used and choice.scaling == "global" == linear.scaling
    assert choice.cv_global > choice.cv_standardised


def test_a_feature_in_another_unit_keeps_the_standardised_scaling():
    X, y = shared_units()
    X[:, 5] *= 1e5  # a noise feature in other units: it dominates the global spread
    linear, choice = fitted_fallback(X, y)
    assert choice.scaling == "standardised" == linear.scaling
    assert choice.cv_standardised >= choice.cv_global


def test_the_fallback_is_the_logistic_regression_of_its_scaling():
    X, y = shared_units()
    for scaling in fallback.SCALINGS:
        divisor, offset, scale = fallback.scalings(input_scaler().fit(X))[scaling]
        Z = (X / divisor - offset) / scale
        expected = LogisticRegression(max_iter=2000).fit(Z, y).predict_proba(Z)
        linear, _ = fitted_fallback(X, y)
        if linear.scaling != scaling:
            continue
        got = torch.softmax(torch.from_numpy(linear.logits(X)), dim=1).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-10)


def test_the_scalings_come_from_the_scalers_statistics():
    X, _ = shared_units()
    X[:, 3] *= 1e250  # huge magnitudes: nothing overflows, and no copy of the rows is made
    maps = fallback.scalings(input_scaler().fit(X))
    Z = {name: (X / d - o) / s for name, (d, o, s) in maps.items()}
    np.testing.assert_allclose(Z["standardised"].std(axis=0), 1.0, rtol=1e-9)
    np.testing.assert_allclose(Z["global"].mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(np.mean(Z["global"].var(axis=0)), 1.0, rtol=1e-9)
    # the common scale keeps the columns' relative sizes
    small = X / np.abs(X).max()
    spread = small.std(axis=0) / small.std(axis=0).max()
    np.testing.assert_allclose(Z["global"].std(axis=0) / Z["global"].std(axis=0).max(), spread)


def test_two_classes_give_a_logit_per_class():
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 3), np.arange(40) % 2
    X[:, 0] += 2 * y
    linear, _ = fitted_fallback(X, y)
    assert linear.coef.shape == (2, 3) and linear.intercept.shape == (2,)
    Z = (X / linear.divisor - linear.offset) / linear.scale
    expected = LogisticRegression(max_iter=2000).fit(Z, y).predict_proba(Z)
    got = torch.softmax(torch.from_numpy(linear.logits(X)), dim=1).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_a_class_without_a_labelled_row_gets_no_fallback():
    X, y = shared_units()
    codes = np.where(y == 2, -1, y)
    linear, choice = fit_linear_fallback(X, codes, 3, input_scaler().fit(X))
    assert linear is None and not choice.used
    assert "[2] have no labelled row" in choice.reason


def test_a_single_label_in_a_class_keeps_the_safe_scaling_without_comparing():
    X, y = shared_units()
    codes = y.copy()
    codes[np.flatnonzero(y == 1)[1:]] = -1
    linear, choice = fit_linear_fallback(X, codes, 3, input_scaler().fit(X))
    assert choice.scaling == "standardised" and np.isnan(choice.cv_global)
    assert "single labelled row" in choice.reason


def test_many_labelled_rows_are_drawn_down_with_every_class():
    X, y = shared_units(n_per_class=40)
    y = np.concatenate([y, np.full(3, 3)])  # a class of three rows among 120
    X = np.vstack([X, X[:3]])
    _, choice = fitted_fallback(X, y, max_rows=20)
    assert 20 <= choice.n_rows <= 22  # rounded per class
    drawn = stratified_subset(np.arange(len(y)), y, 20, np.random.RandomState(0))
    assert set(y[drawn]) == {0, 1, 2, 3} and len(set(drawn)) == len(drawn)


def test_huge_magnitudes_give_finite_logits():
    X, y = shared_units()
    linear, _ = fitted_fallback(X * 1e300, y)
    assert np.isfinite(linear.logits(X * 1e300)).all()
