"""Pictures, each an RGB ``numpy.uint8`` array (H, W, 3): images and grids (images.py), layouts
(layout.py), scene graphs drawn by Graphviz (graph.py) and figure sheets (sheet.py)."""
