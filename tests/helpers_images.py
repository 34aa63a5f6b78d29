"""Measuring figure sheets (sg2im.vis.sheet) in tests: node sizes of the scene-graph drawings."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

LABEL_W, PAD = 130, 12  # sg2im.vis.sheet.figure_sheet's row-title column and padding


def pink_box_height(cell: np.ndarray) -> int:
    """The height in pixels of a drawing's object nodes (lightpink1 boxes): the longest vertical run of pink."""
    pink = np.abs(cell.astype(int) - np.array([255, 174, 185])).sum(-1) < 40
    best = 0
    for column in pink.T:
        run = 0
        for on in column:
            run = run + 1 if on else 0
            best = max(best, run)
    return best


def sheet_cells(sheet: np.ndarray, columns: int, drawing_height: int) -> list[np.ndarray]:
    """The drawing cells (first row) of a sheet of ``columns`` columns."""
    col_w = (sheet.shape[1] - LABEL_W - PAD) // columns - PAD
    row = sheet[PAD:PAD + drawing_height]
    return [row[:, LABEL_W + i * (col_w + PAD): LABEL_W + i * (col_w + PAD) + col_w] for i in range(columns)]


def require_dot() -> str:
    """Graphviz's `dot`, or a failure saying how to get it: the drawing tests never skip silently
    (`make install` installs Graphviz where it can, as it does chromium for the browser tests)."""
    dot = shutil.which("dot")
    if dot is None:
        pytest.fail("Graphviz 'dot' is not installed: apt-get install graphviz (make install does it as root)")
    return dot
