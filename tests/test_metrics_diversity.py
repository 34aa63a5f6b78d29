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
