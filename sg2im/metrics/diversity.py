"""Diversity: how different are images generated from the same scene graph with different noise.

For each graph, ``K >= 2`` samples; the score is the mean over graphs of the mean over the
K(K-1)/2 unordered sample pairs of a per-pixel distance, with pixels in [0, 1]:
``l1`` = mean |a - b|, ``l2`` = sqrt(mean (a - b)^2) (root-mean-square).  0 means every sample of
a graph is identical.  ``crop_feature_l2``: the same over the K crops of each object, as the
Euclidean distance between crop-classifier features (mean over objects).  (The literature's "diversity score" is LPIPS with AlexNet weights, which
this repository does not download; these pixel distances are not comparable to it.)
"""
from __future__ import annotations

import torch
from torch import Tensor


def pairwise_sample_distances(samples: Tensor) -> dict[str, Tensor]:
    """Per-graph mean pairwise distances of ``samples`` (N graphs, K samples, C, H, W) in [0, 1].

    Returns ``{"l1": (N,), "l2": (N,)}``."""
    if samples.dim() != 5 or samples.shape[1] < 2:
        raise ValueError(f"need samples of shape (N, K>=2, C, H, W), got {tuple(samples.shape)}")
    n, k = samples.shape[:2]
    flat = samples.reshape(n, k, -1).double()
    i, j = torch.triu_indices(k, k, offset=1)
    diff = flat[:, i] - flat[:, j]  # (N, pairs, P)
    l1 = diff.abs().mean(-1).mean(-1)
    l2 = diff.pow(2).mean(-1).sqrt().mean(-1)
    return {"l1": l1, "l2": l2}


def pairwise_feature_distances(features: Tensor) -> Tensor:
    """Mean pairwise Euclidean distance per item of ``features`` (N items, K samples, F) -> (N,)."""
    if features.dim() != 3 or features.shape[1] < 2:
        raise ValueError(f"need features of shape (N, K>=2, F), got {tuple(features.shape)}")
    i, j = torch.triu_indices(features.shape[1], features.shape[1], offset=1)
    f = features.double()
    return (f[:, i] - f[:, j]).norm(dim=-1).mean(-1)


class DiversityAccumulator:
    """Accumulates per-graph distances over batches; ``result()`` gives the means."""

    def __init__(self) -> None:
        self._sums = {"l1": 0.0, "l2": 0.0}
        self._count = 0
        self._feature_sum = 0.0
        self._feature_count = 0

    def update(self, samples: Tensor) -> None:
        dist = pairwise_sample_distances(samples)
        for key, value in dist.items():
            self._sums[key] += float(value.sum())
        self._count += int(samples.shape[0])

    def update_features(self, features: Tensor) -> None:
        """Per-object features of the K samples (objects, K, F)."""
        if len(features):
            self._feature_sum += float(pairwise_feature_distances(features).sum())
            self._feature_count += int(features.shape[0])

    def result(self) -> dict[str, float]:
        if self._count == 0:
            out: dict[str, float] = {"l1": float("nan"), "l2": float("nan"), "num_graphs": 0}
        else:
            out = {key: value / self._count for key, value in self._sums.items()}
            out["num_graphs"] = self._count
        if self._feature_count:
            out["crop_feature_l2"] = self._feature_sum / self._feature_count
        return out
