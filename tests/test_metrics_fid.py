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


def test_two_samples_are_enough_and_one_is_named_in_the_error():
    two = np.array([[0.0, 1.0], [2.0, 3.0]])
    mu, cov = feature_statistics(two)
    assert mu.tolist() == [1.0, 2.0] and cov.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert frechet_distance_from_features(two, two + 1.0) == pytest.approx(2.0, rel=1e-9)
    with pytest.raises(ValueError, match=r"\(1, 2\)"):
        feature_statistics(two[:1])
    with pytest.raises(ValueError, match=r"\(1, 2\) and \(2, 2\)"):
        frechet_distance_from_features(two[:1], two)


@pytest.mark.parametrize("real, fake", [
    (np.zeros((4, 3)), np.zeros((4, 2))),  # feature sizes differ
    (np.zeros(4), np.zeros((4, 3))),  # real not 2-d
    (np.zeros((4, 3)), np.zeros(4)),  # fake not 2-d
])
def test_feature_sets_of_the_wrong_shape_are_refused(real, fake):
    with pytest.raises(ValueError, match="need features"):
        frechet_distance_from_features(real, fake)


def test_mismatched_means_are_refused_even_when_the_covariances_agree():
    with pytest.raises(ValueError, match="shape mismatch"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="shape mismatch"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))


def test_float32_inputs_are_computed_in_float64():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(50, 6)).astype(np.float32) * 1e3
    y = rng.normal(size=(50, 6)).astype(np.float32) * 1e3 + 1.0
    mu, cov = feature_statistics(x)
    assert mu.dtype == np.float64 and mu.tolist() == x.astype(np.float64).mean(0).tolist()
    assert frechet_distance_from_features(x, y) == frechet_distance_from_features(x.astype(np.float64),
                                                                                   y.astype(np.float64))
    s1, s2 = np.cov(x, rowvar=False).astype(np.float32), np.cov(y, rowvar=False).astype(np.float32)
    m1, m2 = x.mean(0), y.mean(0)
    want = frechet_distance(m1.astype(np.float64), s1.astype(np.float64), m2.astype(np.float64), s2.astype(np.float64))
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(want, rel=1e-12)


def test_float32_features_fewer_than_dimensions_are_computed_in_float64():
    rng = np.random.default_rng(8)
    x = (rng.normal(size=(5, 12)) * 1e3).astype(np.float32)  # N < D: the low-rank path
    y = (rng.normal(size=(6, 12)) * 1e3 + 3).astype(np.float32)
    want = frechet_distance_from_features(x.astype(np.float64), y.astype(np.float64))
    assert frechet_distance_from_features(x, y) == want
    assert frechet_distance_from_features(x.astype(np.float64), y) == want
