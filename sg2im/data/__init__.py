"""Datasets: synthetic generators, official downloads, COCO-Stuff and Visual Genome loaders."""
