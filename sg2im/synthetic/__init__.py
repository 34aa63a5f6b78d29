"""Embedded synthetic datasets written in the official formats (COCO 2017 + COCO-Stuff 2017,
Visual Genome v1.4), so every later stage reads them with exactly the code that reads the real
releases.

A cartoon world (:mod:`scenes`, :mod:`shapes`, :mod:`world`, :mod:`render`): each class has its
own silhouette, colour and texture, a typical size and place (sky on top, ground below, animals,
people and vehicles standing on the ground line, boats in water, windows on buildings, food on
plates), so a scene graph predicts the layout; every VG relationship is checked against the
geometry.  :mod:`coco_writer` and :mod:`vg_writer` write the files (deterministic per seed,
atomic); :mod:`preview` draws a labelled grid.  The mess of the real data each writer adds is
listed in its module docstring.
"""
