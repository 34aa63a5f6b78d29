"""Offline views of a run's losses: the loss-history CSV (a DVC plot) and PNG (written atomically)."""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Mapping, Sequence

from sg2im.atomic import atomic_write, atomic_write_text


def loss_table(losses_ts: Sequence[int], losses: Mapping[str, Sequence[float]],
               d_losses: Mapping[str, Sequence[float]]) -> tuple[list[str], list[list[float]]]:
    """Columns ``t, <G losses...>, <D losses...>`` and one row per recorded iteration."""
    names = list(losses) + [k for k in d_losses if k not in losses]
    series = {**losses, **d_losses}
    rows = []
    for i, t in enumerate(losses_ts):
        row = [t]
        for name in names:
            values = series[name]
            row.append(values[i] if i < len(values) else float("nan"))
        rows.append(row)
    return ["t", *names], rows


def write_loss_csv(path: str | Path, losses_ts, losses, d_losses) -> Path:
    header, rows = loss_table(losses_ts, losses, d_losses)
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    for row in rows:
        out.write(",".join([str(int(row[0]))] + [_fmt(v) for v in row[1:]]) + "\n")
    atomic_write_text(path, out.getvalue())
    return Path(path)


def _fmt(value: float) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.6g}"


def write_loss_png(path: str | Path, losses_ts, losses, d_losses) -> Path:
    """Generator and discriminator loss curves side by side (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, series, title in ((axes[0], losses, "generator (weighted)"), (axes[1], d_losses, "discriminators")):
        for name, values in series.items():
            n = min(len(values), len(losses_ts))
            if n:
                ax.plot(list(losses_ts)[:n], list(values)[:n], label=name, linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("iteration t")
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        return atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=90))
    finally:
        plt.close(fig)
