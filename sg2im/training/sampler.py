"""A DistributedSampler that can start an epoch part-way through (for exact resume).

The order of epoch ``e`` depends only on ``(seed, e)`` (as torch's DistributedSampler), so a
resumed run sees the same images in the same order as an uninterrupted one: ``set_epoch(e)`` and
``skip_batches(k)`` make the next iteration start at the ``k``-th batch of that epoch.
With one process (``num_replicas=1``) it is a seeded shuffling sampler.
"""
from __future__ import annotations

from typing import Iterator

from torch.utils.data import Dataset, DistributedSampler


class ResumableDistributedSampler(DistributedSampler):
    def __init__(self, dataset: Dataset, num_replicas: int = 1, rank: int = 0, shuffle: bool = True,
                 seed: int = 0, batch_size: int = 1) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=False)
        self.batch_size = int(batch_size)
        self.start_batch = 0

    def skip_batches(self, batches: int) -> None:
        """The next iteration starts after ``batches`` batches of the current epoch."""
        self.start_batch = int(batches)

    def batches_per_epoch(self) -> int:
        return (self.num_samples + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start_batch * self.batch_size:])

    def __len__(self) -> int:
        return max(self.num_samples - self.start_batch * self.batch_size, 0)
