"""Malformed input records that a reader skips: counted by file and reason, with one example each,
and summarised in one warning per file at the end (never a crash in a loader worker)."""
from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from typing import Any

from sg2im.errors import DataWarning


class SkipCounter:
    """``add(reason, example, file)`` per skipped record; ``warn()`` once at the end."""

    def __init__(self) -> None:
        self.by_file: dict[str, Counter] = defaultdict(Counter)
        self.examples: dict[tuple[str, str], str] = {}

    def add(self, reason: str, example: Any, file: str = "") -> None:
        self.by_file[file][reason] += 1
        self.examples.setdefault((file, reason), str(example)[:200])

    @property
    def counts(self) -> dict[str, int]:
        """Skipped records by reason, over all files."""
        total: Counter = Counter()
        for counts in self.by_file.values():
            total.update(counts)
        return dict(total)

    def total(self) -> int:
        return sum(self.counts.values())

    def warn(self) -> None:
        for file, counts in self.by_file.items():
            parts = "; ".join(f"{n} {r} (e.g. {self.examples[(file, r)]})" for r, n in counts.most_common())
            prefix = f"{file}: " if file else ""
            warnings.warn(f"{prefix}skipped {sum(counts.values())} annotations: {parts}", DataWarning, stacklevel=3)
