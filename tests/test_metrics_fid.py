"""Frechet distance against closed forms."""
import numpy as np
import pytest

from sg2im.metrics.fid import feature_statistics, frechet_distance, frechet_distance_from_features


def test_identical_sets_give_zero():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(500, 16))
    assert frechet_distance_from_features(feats, feats) == pytest.approx(0.0, abs=1e-6)


def test_mean_shift_only():
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(400, 8))
    shifted = feats + np.array([3.0] + [0.0] * 7)
    assert frechet_distance_from_features(feats, shifted) == pytest.approx(9.0, rel=1e-6)


def test_diagonal_gaussians_closed_form():
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 0.0])
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 1.0])
    # |mu|^2 = 5; sum (sqrt a - sqrt b)^2 = 1 + 1 + 4 = 6
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(11.0, rel=1e-9)


def test_non_commuting_covariances_match_direct_sqrtm():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    vals, vecs = np.linalg.eig(s1 @ s2)  # eigenvalues of S1 S2 are real and positive
    expected_tr = np.sqrt(vals.real).sum()
    expected = np.trace(s1) + np.trace(s2) - 2 * expected_tr
    assert frechet_distance(np.zeros(5), s1, np.zeros(5), s2) == pytest.approx(expected, rel=1e-8)


def test_singular_covariance_is_finite_and_non_negative():
    feats = np.zeros((10, 4))
    feats[:, 0] = np.arange(10)
    value = frechet_distance_from_features(feats, feats)
    assert value == pytest.approx(0.0, abs=1e-6)


def test_statistics_need_two_samples():
    with pytest.raises(ValueError):
        feature_statistics(np.zeros((1, 3)))


def test_low_rank_path_matches_full_covariance_path():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(6, 20))
    fake = rng.normal(size=(9, 20)) * 1.5 + 0.3
    fast = frechet_distance_from_features(real, fake)  # 6 samples < 20 dims: singular-value path
    full = frechet_distance(*feature_statistics(real), *feature_statistics(fake))
    assert fast == pytest.approx(full, rel=1e-7)
    assert frechet_distance_from_features(real, real) == pytest.approx(0.0, abs=1e-9)
