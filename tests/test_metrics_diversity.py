"""Diversity distances with known answers."""
import pytest
import torch

from sg2im.metrics.diversity import DiversityAccumulator, pairwise_feature_distances, pairwise_sample_distances


def test_identical_samples_give_zero():
    img = torch.rand(3, 8, 8)
    samples = img.expand(2, 4, 3, 8, 8)  # 2 graphs, 4 identical samples each
    d = pairwise_sample_distances(samples)
    assert d["l1"].tolist() == [0.0, 0.0] and d["l2"].tolist() == [0.0, 0.0]


def test_black_and_white_pair_and_three_samples():
    black, white = torch.zeros(3, 4, 4), torch.ones(3, 4, 4)
    d = pairwise_sample_distances(torch.stack([black, white])[None])
    assert d["l1"].item() == pytest.approx(1.0) and d["l2"].item() == pytest.approx(1.0)
    # three samples 0, 0, 1: pairs (0,0)=0, (0,1)=1, (0,1)=1 -> mean 2/3
    d3 = pairwise_sample_distances(torch.stack([black, black, white])[None])
    assert d3["l1"].item() == pytest.approx(2 / 3)


def test_accumulator_averages_over_graphs():
    acc = DiversityAccumulator()
    acc.update(torch.stack([torch.zeros(2, 3, 2, 2), torch.zeros(2, 3, 2, 2)]))  # 2 graphs, dist 0
    acc.update(torch.stack([torch.zeros(3, 2, 2), torch.full((3, 2, 2), 0.5)])[None])  # 1 graph, 0.5
    r = acc.result()
    assert r["num_graphs"] == 3 and r["l1"] == pytest.approx(0.5 / 3)


def test_needs_two_samples():
    with pytest.raises(ValueError):
        pairwise_sample_distances(torch.zeros(2, 1, 3, 4, 4))


def test_feature_distances():
    same = torch.ones(4, 3, 5).expand(4, 3, 5)
    assert pairwise_feature_distances(same).tolist() == [0.0] * 4
    f = torch.tensor([[[0.0, 0.0], [3.0, 4.0]]])  # one object, two samples 5 apart
    assert pairwise_feature_distances(f).item() == pytest.approx(5.0)
    acc = DiversityAccumulator()
    acc.update_features(f)
    acc.update_features(torch.zeros(1, 2, 2))
    assert acc.result()["crop_feature_l2"] == pytest.approx(2.5)


def _plain_pairwise(samples: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per graph: mean over sample pairs of the mean |a - b| and of the RMS of a - b (plain loops)."""
    l1s, l2s = [], []
    for graph in samples.double():
        pairs = [(a, b) for i, a in enumerate(graph) for b in graph[i + 1:]]
        l1s.append(sum(float((a - b).abs().mean()) for a, b in pairs) / len(pairs))
        l2s.append(sum(float((a - b).pow(2).mean().sqrt()) for a, b in pairs) / len(pairs))
    return l1s, l2s


def test_rms_is_taken_per_pair_before_the_mean_over_pairs():
    """Three samples whose pairs differ unevenly: averaging over pairs first gives another l2."""
    g = torch.Generator().manual_seed(3)
    samples = torch.rand(2, 3, 1, 2, 3, generator=g)
    samples[0, 2] = samples[0, 0]  # one identical pair of three
    out = pairwise_sample_distances(samples)
    l1, l2 = _plain_pairwise(samples)
    assert out["l1"].tolist() == pytest.approx(l1, rel=1e-12)
    assert out["l2"].tolist() == pytest.approx(l2, rel=1e-12)


def test_accumulator_sums_every_batch_of_both_distances_and_starts_empty():
    empty = DiversityAccumulator().result()
    assert set(empty) == {"l1", "l2", "num_graphs"} and empty["num_graphs"] == 0
    assert empty["l1"] != empty["l1"] and empty["l2"] != empty["l2"]  # NaN
    g = torch.Generator().manual_seed(4)
    batches = [torch.rand(2, 2, 1, 2, 2, generator=g), torch.rand(3, 2, 1, 2, 2, generator=g)]
    acc = DiversityAccumulator()
    for b in batches:
        acc.update(b)
    l1, l2 = _plain_pairwise(torch.cat(batches))
    res = acc.result()
    assert res["num_graphs"] == 5
    assert res["l1"] == pytest.approx(sum(l1) / 5, rel=1e-12)
    assert res["l2"] == pytest.approx(sum(l2) / 5, rel=1e-12)


def test_feature_distances_with_more_dimensions_than_samples_and_one_dimension():
    g = torch.Generator().manual_seed(5)
    feats = torch.rand(4, 3, 5, generator=g)  # 4 objects, 3 crops, 5 features
    want = [sum(float((f[i] - f[j]).norm()) for i, j in ((0, 1), (0, 2), (1, 2))) / 3 for f in feats.double()]
    assert pairwise_feature_distances(feats).tolist() == pytest.approx(want, rel=1e-12)
    one = torch.tensor([[[0.0], [3.0]]])  # a single feature
    assert pairwise_feature_distances(one).tolist() == [3.0]


def test_wrong_shapes_are_named_in_the_error():
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        pairwise_feature_distances(torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"\(4, 1, 3\)"):
        pairwise_feature_distances(torch.zeros(4, 1, 3))
    with pytest.raises(ValueError, match=r"\(2, 1, 1, 4, 4\)"):
        pairwise_sample_distances(torch.zeros(2, 1, 1, 4, 4))


def test_feature_distances_of_three_crops_with_fewer_features_than_crops():
    feats = torch.tensor([[[0.0], [3.0], [7.0]]])  # 3 crops, 1 feature: pairs (0,1) (0,2) (1,2)
    assert pairwise_feature_distances(feats).tolist() == [pytest.approx((3 + 7 + 4) / 3)]
