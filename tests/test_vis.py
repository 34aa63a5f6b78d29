"""Drawing: deprocess, layouts, scene graphs with dot, sheets, grids."""

import numpy as np
import pytest
import torch
from PIL import Image

from sg2im.imagenet import IMAGENET_MEAN
from sg2im.vis import graph, images, layout
from sg2im.vis import sheet as sheets

from helpers_images import pink_box_height, require_dot, sheet_cells


def test_deprocess_rescales_each_image_to_full_range():
    imgs = torch.randn(2, 3, 4, 5)
    out = images.deprocess_images(imgs)
    assert out.shape == (2, 4, 5, 3) and out.dtype == np.uint8
    for img in out:
        assert img.min() == 0 and img.max() == 255
    # without rescale a normalised mid-grey comes back as the ImageNet mean
    zeros = images.deprocess_images(torch.zeros(1, 3, 2, 2), rescale=False)
    assert zeros[0, 0, 0].tolist() == [int(255 * m) for m in IMAGENET_MEAN]  # truncated, as the original


def test_draw_layout_colours_masks_inside_boxes_only():
    boxes = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    masks = torch.zeros(3, 4, 4)
    masks[0] = 1.0  # full mask for object 0
    masks[1, :2, :2] = 1.0  # top-left quarter of object 1's box
    masks[2] = 1.0  # __image__ is hidden
    img = layout.draw_layout(["sky", "sheep", "__image__"], boxes, masks, size=64, show_labels=False, show_boxes=False)
    assert img.shape == (64, 64, 3)
    white = np.array([255, 255, 255])
    assert not np.array_equal(img[16, 16], white)  # object 0 coloured
    assert not np.array_equal(img[38, 38], white)  # object 1, top-left of its mask
    assert np.array_equal(img[60, 60], white)  # outside object 1's mask
    assert np.array_equal(img[10, 50], white)  # no box there (and __image__ not drawn)
    c0, c1 = images.object_colors(2)
    assert not np.array_equal(c0, c1)


def test_draw_layout_with_labels_and_without_masks():
    img = layout.draw_layout(["grass"], torch.tensor([[0.1, 0.5, 0.9, 1.0]]), None, size=128)
    assert img.shape == (128, 128, 3) and (img != 255).any()


def test_scene_graph_dot_text_hides_dummies_and_uses_colours():
    text = graph.scene_graph_dot(["sky", "grass", "__image__"],
                               [[0, "above", 1], [0, "__in_image__", 2], [1, 'say "hi"', 0]])
    assert "lightpink1" in text and "lightblue1" in text and "rankdir=TD" in text
    assert "__image__" not in text and "__in_image__" not in text
    assert '\\"hi\\"' in text
    assert "0->3" in text and "3->1" in text  # sky -> above -> grass
    assert text.count("->") == 4  # two predicate nodes, two edges each


def test_decode_uses_pred_idx_to_name():
    vocab = {"object_idx_to_name": ["__image__", "sky", "grass"],
             "pred_idx_to_name": ["__in_image__", "above"],
             "pred_name_to_idx": {"__in_image__": 0, "above": 1}}
    names, rels = graph.decode_scene_graph(torch.tensor([1, 2, 0]), torch.tensor([[0, 1, 1], [0, 0, 2]]), vocab)
    assert names == ["sky", "grass", "__image__"] and rels == [[0, "above", 1], [0, "__in_image__", 2]]


def test_draw_scene_graph_with_dot():
    require_dot()
    img = graph.draw_scene_graph(["sky", "grass", "sheep"], [[0, "above", 1], [2, "standing on", 1]])
    assert img.ndim == 3 and img.shape[2] == 3 and img.shape[0] > 50
    assert (img == 255).all(-1).mean() > 0.3  # white background
    pink = np.array([255, 174, 185])  # lightpink1
    assert (np.abs(img.astype(int) - pink).sum(-1) < 10).any()


def test_missing_dot_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    with pytest.raises(graph.GraphvizMissing, match="apt-get install graphviz"):
        graph.draw_scene_graph(["a"], [])


def test_figure_sheet_columns_nearest_images_and_caption(tmp_path):
    drawing = np.full((100, 300, 3), 200, np.uint8)
    layout_img = np.full((64, 64, 3), 128, np.uint8)
    img = np.zeros((32, 32, 3), np.uint8)
    img[::2, ::2] = 255  # a checkerboard of single pixels: blurred by smoothing, kept by nearest-neighbour
    sheet = sheets.figure_sheet([img, img], [layout_img, layout_img], [drawing, drawing], caption="Figure 6\nmodel m")
    # rows: drawing (scaled to the 256-px column: 100 * 256/300), image (32 * 8 = 256), layout (256), 2 caption lines
    assert sheet.shape[1] == 130 + 2 * (256 + 12) + 12
    assert sheet.shape[0] == 12 + (85 + 12) + (256 + 12) + (256 + 12) + 2 * 22 + 12
    top = 12 + 85 + 12
    cell = sheet[top:top + 256, 130:130 + 256]
    assert set(np.unique(cell)) == {0, 255}  # nearest-neighbour: no grey from smoothing
    assert np.array_equal(cell[:8, :8], np.full((8, 8, 3), 255)) and np.array_equal(cell[:8, 8:16], np.zeros((8, 8, 3)))
    assert (sheet[-40:] != 255).any()  # the caption is drawn
    with pytest.raises(ValueError, match="as many layouts"):
        sheets.figure_sheet([img], [layout_img, layout_img])


def test_figure_sheet_draws_every_scene_graph_at_one_scale():
    require_dot()
    dpi = graph.DRAWING_DPI  # as generate draws a sheet's graphs
    small = graph.draw_scene_graph(["sky", "grass"], [[0, "above", 1]], fit=False, dpi=dpi)
    big = graph.draw_scene_graph(["sky", "grass", "sheep", "tree", "boat", "ocean", "cloud"],
                                 [[0, "above", 1], [2, "standing on", 1], [3, "behind", 2], [4, "on", 5],
                                  [6, "in", 0], [5, "by", 1]], fit=False, dpi=dpi)
    assert pink_box_height(small) == pink_box_height(big)  # dot draws both at one dpi
    img = np.zeros((32, 32, 3), np.uint8)
    lay = np.full((64, 64, 3), 255, np.uint8)
    sheet = sheets.figure_sheet([img, img], [lay, lay], [small, big])
    height = max(small.shape[0], big.shape[0]) * sheets.drawing_scale([small, big], 256, 320, 0.33)
    cells = sheet_cells(sheet, 2, int(round(height)))
    heights = [pink_box_height(c) for c in cells]
    assert heights[0] > 5 and abs(heights[0] - heights[1]) <= 1, heights  # the same node size on the sheet
    fitted = graph.draw_scene_graph(["sky", "grass", "sheep", "tree", "boat", "ocean", "cloud"],
                                    [[0, "above", 1], [2, "standing on", 1], [3, "behind", 2], [4, "on", 5],
                                     [6, "in", 0], [5, "by", 1]], dpi=dpi)
    assert pink_box_height(fitted) < pink_box_height(big)  # the original's 5x3-inch fit shrinks big graphs


def test_grid_and_png_round_trip(tmp_path):
    img = np.full((32, 32, 3), 200, np.uint8)
    grid = images.image_grid(np.stack([img] * 5), nrow=3, pad=2)
    assert grid.shape == (2 * 32 + 3 * 2, 3 * 32 + 4 * 2, 3)
    path = images.save_png(grid, tmp_path / "sub" / "grid.png")
    assert np.array_equal(np.asarray(Image.open(path)), grid)
    assert not list((tmp_path / "sub").glob(".*tmp"))
