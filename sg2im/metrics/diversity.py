"""Diversity: how different are images generated from the same scene graph with different noise.

For each graph, ``K >= 2`` samples; the score is the mean over graphs of the mean over the
K(K-1)/2 unordered sample pairs of a per-pixel distance, with pixels in [0, 1]:
``l1`` = mean |a - b|, ``l2`` = sqrt(mean (a - b)^2) (root-mean-square).  0 means every sample of
a graph is identical.  (The literature's "diversity score" is LPIPS with AlexNet weights, which
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


class DiversityAccumulator:
    """Accumulates per-graph distances over batches; ``result()`` gives the means."""

    def __init__(self) -> None:
        self._sums = {"l1": 0.0, "l2": 0.0}
        self._count = 0

    def update(self, samples: Tensor) -> None:
        dist = pairwise_sample_distances(samples)
        for key, value in dist.items():
            self._sums[key] += float(value.sum())
        self._count += int(samples.shape[0])

    def result(self) -> dict[str, float]:
        if self._count == 0:
            return {"l1": float("nan"), "l2": float("nan"), "num_graphs": 0}
        out: dict[str, float] = {key: value / self._count for key, value in self._sums.items()}
        out["num_graphs"] = self._count
        return out
