"""Layout and crop geometry (sg2im/model/layout.py): values, not just shapes."""
import torch
import torch.nn.functional as F

from sg2im.model.layout import (boxes_to_layout, crop_bbox_batch, masks_to_layout, masks_to_layout_reference)


def test_all_ones_mask_fills_its_box_and_nothing_else():
    H = W = 64
    M = 16
    box = torch.tensor([[0.25, 0.5, 0.75, 0.875]])
    layout = masks_to_layout(torch.ones(1, 1), box, torch.ones(1, M, M), torch.zeros(1, dtype=torch.long), H, W)[0, 0]
    xs = torch.linspace(0, 1, W)  # align_corners=True: pixel i sits at i / (W - 1)
    ys = torch.linspace(0, 1, H)
    inside = (ys[:, None] >= 0.5) & (ys[:, None] <= 0.875) & (xs[None] >= 0.25) & (xs[None] <= 0.75)
    assert torch.allclose(layout[inside], torch.ones(()), atol=1e-6)
    # bilinear edges are soft for at most one mask cell (box size / (M - 1)) outside the box
    cell_x, cell_y = 0.5 / (M - 1), 0.375 / (M - 1)
    near = ((ys[:, None] >= 0.5 - cell_y) & (ys[:, None] <= 0.875 + cell_y)
            & (xs[None] >= 0.25 - cell_x) & (xs[None] <= 0.75 + cell_x))
    assert (layout[~near] == 0).all()
    assert layout.max() <= 1 + 1e-6


def test_mask_content_lands_where_align_corners_true_puts_it():
    # a horizontal ramp mask: bilinear interpolation is exact, so inside the box the layout is
    # (x - x0) / (x1 - x0) times the vector, with pixel x at i / (W - 1) (align_corners=True)
    M, H, W = 8, 32, 48
    ramp = torch.linspace(0, 1, M).expand(M, M)
    x0, y0, x1, y1 = 0.2, 0.1, 0.9, 0.6
    vec = torch.tensor([[2.0, -3.0]])
    layout = masks_to_layout(vec, torch.tensor([[x0, y0, x1, y1]]), ramp[None], torch.zeros(1, dtype=torch.long), H, W)[0]
    xs, ys = torch.linspace(0, 1, W), torch.linspace(0, 1, H)
    rows = (ys >= y0) & (ys <= y1)
    cols = (xs >= x0) & (xs <= x1)
    expect = ((xs[cols] - x0) / (x1 - x0)).expand(int(rows.sum()), -1)
    assert torch.allclose(layout[0][rows][:, cols], 2 * expect, atol=1e-5)
    assert torch.allclose(layout[1][rows][:, cols], -3 * expect, atol=1e-5)


def test_quadrant_mask_lands_in_the_box_quadrant():
    M, H = 16, 64
    mask = torch.zeros(1, M, M)
    mask[0, :4, :4] = 1  # top-left corner of the mask
    box = torch.tensor([[0.5, 0.5, 1.0, 1.0]])
    layout = masks_to_layout(torch.ones(1, 1), box, mask, torch.zeros(1, dtype=torch.long), H)[0, 0]
    ys, xs = torch.nonzero(layout > 0.5, as_tuple=True)
    assert len(ys) > 0
    assert ys.min() >= 31 and xs.min() >= 31  # nothing outside the box
    assert ys.max() <= 31 + 13 and xs.max() <= 31 + 13  # only its top-left part


def test_fast_layout_equals_original_algorithm_with_unsorted_images():
    torch.manual_seed(0)
    O, D, M = 13, 6, 16
    vecs = torch.randn(O, D, dtype=torch.float64)
    xy = torch.rand(O, 2, dtype=torch.float64) * 0.6
    boxes = torch.cat([xy, xy + 0.05 + torch.rand(O, 2, dtype=torch.float64) * 0.35], 1)
    masks = torch.rand(O, M, M, dtype=torch.float64)
    obj_to_img = torch.tensor([2, 0, 1, 0, 2, 2, 1, 0, 3, 3, 0, 2, 1])
    for pooling in ("sum", "avg"):
        fast = masks_to_layout(vecs, boxes, masks, obj_to_img, 24, 20, pooling=pooling)
        ref = masks_to_layout_reference(vecs, boxes, masks, obj_to_img, 24, 20, pooling=pooling)
        assert fast.shape == (4, D, 24, 20)
        assert torch.allclose(fast, ref, atol=1e-12)
    # an image's layout only gets its own objects
    only_img1 = masks_to_layout(vecs, boxes, masks * (obj_to_img == 1).double()[:, None, None], obj_to_img, 24, 20)
    fast = masks_to_layout(vecs, boxes, masks, obj_to_img, 24, 20)
    assert torch.equal(only_img1[1], fast[1]) and only_img1[0].abs().max() == 0


def test_layout_gradients_match_original_algorithm():
    torch.manual_seed(1)
    O, D = 7, 4
    args = [torch.randn(O, D), torch.tensor([[0.1, 0.1, 0.6, 0.7]]).repeat(O, 1), torch.rand(O, 8, 8)]
    obj_to_img = torch.tensor([0, 1, 0, 1, 1, 2, 2])
    grads = []
    for fn in (masks_to_layout, masks_to_layout_reference):
        leaves = [a.clone().requires_grad_() for a in args]
        (fn(*leaves, obj_to_img, 16).square().sum()).backward()
        grads.append([leaf.grad for leaf in leaves])
    for g_fast, g_ref in zip(*grads):
        assert torch.allclose(g_fast, g_ref, atol=1e-4, rtol=1e-4)


def test_boxes_to_layout_is_a_constant_box():
    layout = boxes_to_layout(torch.tensor([[1.5]]), torch.tensor([[0.0, 0.0, 0.5, 1.0]]), torch.zeros(1, dtype=torch.long), 16)
    xs = torch.linspace(0, 1, 16)
    assert torch.allclose(layout[0, 0][:, xs <= 0.5], torch.tensor(1.5))
    assert (layout[0, 0][:, xs > 0.5 + 0.5 / 7] == 0).all()


def test_degenerate_boxes_give_finite_layouts():
    boxes = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.2, 0.5], [0.3, 0.3, 0.3, 0.9]])
    for fn in (masks_to_layout, masks_to_layout_reference):
        layout = fn(torch.ones(3, 2), boxes, torch.ones(3, 4, 4), torch.zeros(3, dtype=torch.long), 16)
        assert torch.isfinite(layout).all()


def test_crop_of_pixel_aligned_box_equals_the_image_region():
    torch.manual_seed(2)
    imgs = torch.randn(3, 2, 33, 33)
    # with align_corners=True, box [a/32, b/32] samples exactly pixels a..b
    boxes = torch.tensor([[8, 4, 23, 19], [0, 0, 32, 32], [16, 10, 31, 25]], dtype=torch.float) / 32
    obj_to_img = torch.tensor([2, 0, 1])
    crops = crop_bbox_batch(imgs, boxes, obj_to_img, 16)
    assert crops.shape == (3, 2, 16, 16)
    assert torch.allclose(crops[0], imgs[2, :, 4:20, 8:24], atol=1e-5)
    assert torch.allclose(crops[1], F.interpolate(imgs[0:1], size=16, mode="bilinear", align_corners=True)[0], atol=1e-5)
    assert torch.allclose(crops[2], imgs[1, :, 10:26, 16:32], atol=1e-5)


def test_crop_of_a_ramp_image_is_the_resampled_ramp():
    W = 64
    img = torch.arange(W, dtype=torch.float).expand(1, 1, W, W).contiguous()  # value = pixel column
    x0, x1 = 0.25, 0.75
    crops = crop_bbox_batch(img, torch.tensor([[x0, 0.1, x1, 0.3]]), torch.zeros(1, dtype=torch.long), 8, 5)
    expect = (x0 + torch.linspace(0, 1, 5) * (x1 - x0)) * (W - 1)
    assert crops.shape == (1, 1, 8, 5)
    assert torch.allclose(crops[0, 0], expect.expand(8, 5), atol=1e-4)


def test_crop_gradients_flow_to_the_right_image():
    imgs = torch.randn(2, 3, 16, 16, requires_grad=True)
    crop_bbox_batch(imgs, torch.tensor([[0.0, 0.0, 0.5, 0.5]]), torch.tensor([1]), 8).sum().backward()
    assert imgs.grad[0].abs().max() == 0 and imgs.grad[1].abs().max() > 0


def test_layout_and_crop_channels_last_and_bf16_autocast():
    imgs = torch.randn(2, 3, 16, 16).to(memory_format=torch.channels_last)
    boxes = torch.tensor([[0.1, 0.1, 0.9, 0.6], [0.2, 0.0, 0.7, 1.0]])
    obj_to_img = torch.tensor([0, 1])
    ref = crop_bbox_batch(imgs.contiguous(), boxes, obj_to_img, 8)
    assert torch.allclose(crop_bbox_batch(imgs, boxes, obj_to_img, 8), ref, atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        crops = crop_bbox_batch(imgs, boxes, obj_to_img, 8)
        layout = masks_to_layout(torch.randn(2, 4), boxes, torch.rand(2, 8, 8), obj_to_img, 16)
    assert torch.allclose(crops.float(), ref, atol=0.1)
    assert layout.shape == (2, 4, 16, 16) and torch.isfinite(layout.float()).all()


def test_factorized_layout_convolution_equals_the_dense_one():
    """The CRN convolves each image's object masks with per-image weights instead of the dense layout: the
    same sums in another order (forward and gradients), pooled or not, with and without noise."""
    import torch.nn.functional as F

    from sg2im.model.crn import RefinementModule
    from sg2im.model.layout import masks_to_factorized_layout

    torch.manual_seed(0)
    vecs = torch.randn(5, 6, requires_grad=True)
    boxes = torch.tensor([[0, 0, .5, .5], [.2, .3, .9, .8], [0, 0, 1, 1], [.1, .1, .4, .9], [0, 0, 1, 1]])
    masks = torch.rand(5, 4, 4)
    obj_to_img = torch.tensor([0, 0, 0, 1, 1])
    for pooling in ("sum", "avg"):
        fact = masks_to_factorized_layout(vecs, boxes, masks, obj_to_img, 16, 16, pooling)
        fact.noise = torch.randn(2, 3, 16, 16)
        dense = torch.cat([masks_to_layout(vecs, boxes, masks, obj_to_img, 16, 16, pooling), fact.noise], 1)
        assert torch.allclose(fact.dense(), dense, atol=1e-6)
        module = RefinementModule(9, 4, 8, normalization="none", activation="leakyrelu-0.2")
        feats = torch.randn(2, 4, 8, 8)
        a = module(dense, feats)
        grad_a = torch.autograd.grad(a.square().sum(), [vecs, module.net[0].weight])
        b = module(fact, feats)
        grad_b = torch.autograd.grad(b.square().sum(), [vecs, module.net[0].weight])
        assert torch.allclose(a, b, atol=1e-5)
        assert all(torch.allclose(x, y, rtol=1e-4, atol=1e-6 * float(x.abs().max())) for x, y in zip(grad_a, grad_b))
    assert F.avg_pool2d(dense, 2).shape == (2, 9, 8, 8)


def test_the_small_box_floor_at_its_boundary():
    """Widths and heights just below, at and just above MIN_BOX_SIZE: below is raised to the floor, at and above
    are used as they are (the grid is (pixel - x0) / width, mapped to [-1, 1])."""
    from sg2im.model.layout import MIN_BOX_SIZE, boxes_to_grid

    x0, y0 = 0.25, 0.5
    sizes = (MIN_BOX_SIZE * 0.5, MIN_BOX_SIZE, MIN_BOX_SIZE * 1.5)
    boxes = torch.tensor([[x0, y0, x0 + s, y0 + s] for s in sizes], dtype=torch.float64)
    grid = boxes_to_grid(boxes, 5, 5)
    pixels = torch.linspace(0, 1, 5, dtype=torch.float64)
    for k, s in enumerate(sizes):
        used = max(s, MIN_BOX_SIZE)
        assert torch.allclose(grid[k, 0, :, 0], (pixels - x0) / used * 2 - 1, rtol=1e-12)
        assert torch.allclose(grid[k, :, 0, 1], (pixels - y0) / used * 2 - 1, rtol=1e-12)
    assert torch.allclose(grid[0], grid[1], rtol=1e-9) and not torch.allclose(grid[1], grid[2], rtol=1e-3)
    # a box exactly one floor wide covers the pixel at its left edge: grid value -1 there
    at_edge = boxes_to_grid(torch.tensor([[0.25, 0.25, 0.25 + MIN_BOX_SIZE, 0.75]], dtype=torch.float64), 5, 5)
    assert at_edge[0, 2, 1, 0] == -1.0


def test_empty_images_single_object_images_and_whole_box_layouts_under_each_pooling():
    """Image 1 and the trailing image 3 have no objects (num_images=4), image 2 has one: its layout is its one
    warped mask times its vector under sum and avg alike; image 0 averages two. The factorized layout, the
    dense one and the original algorithm agree; masks=None is boxes_to_layout (W defaults to H)."""
    import re

    import pytest

    from sg2im.model.layout import masks_to_factorized_layout, warp_to_boxes

    torch.manual_seed(1)
    vecs = torch.randn(3, 4, dtype=torch.float64)
    boxes = torch.tensor([[0.0, 0.0, 0.6, 0.5], [0.3, 0.2, 0.9, 1.0], [0.1, 0.4, 0.7, 0.8]], dtype=torch.float64)
    masks = torch.rand(3, 5, 5, dtype=torch.float64)
    obj_to_img = torch.tensor([0, 0, 2])
    warped = warp_to_boxes(masks.unsqueeze(1), boxes, 12, 12)[:, 0]
    for pooling, divisor in (("sum", 1.0), ("avg", 2.0)):
        dense = masks_to_layout(vecs, boxes, masks, obj_to_img, 12, pooling=pooling, num_images=4)
        assert dense.shape == (4, 4, 12, 12) and dense[1].abs().max() == 0 and dense[3].abs().max() == 0
        assert torch.allclose(dense[2], vecs[2][:, None, None] * warped[2], atol=1e-12)
        both = (vecs[0][:, None, None] * warped[0] + vecs[1][:, None, None] * warped[1]) / divisor
        assert torch.allclose(dense[0], both, atol=1e-12)
        assert torch.allclose(masks_to_layout_reference(vecs, boxes, masks, obj_to_img, 12, pooling=pooling),
                              dense[:3], atol=1e-12)
        fact = masks_to_factorized_layout(vecs, boxes, masks, obj_to_img, 12, 12, pooling, num_images=4)
        assert torch.allclose(fact.dense(), dense, atol=1e-12)
    whole = boxes_to_layout(vecs, boxes, obj_to_img, 12, num_images=4)
    assert whole.shape == (4, 4, 12, 12)
    no_masks = masks_to_factorized_layout(vecs, boxes, None, obj_to_img, 12, 12, num_images=4)
    assert torch.allclose(no_masks.dense(), whole, atol=1e-12)
    wide = boxes_to_layout(torch.randn(3, 7, dtype=torch.float64), boxes, obj_to_img, 12, 9)  # D != O, W != H
    assert wide.shape == (3, 7, 12, 9)
    for bad in (torch.rand(2, 5, 5), torch.rand(3, 5, 4), torch.rand(3, 5)):
        with pytest.raises(ValueError, match=re.escape(f"masks must have shape (O=3, M, M), got {tuple(bad.shape)}")):
            masks_to_layout(vecs, boxes, bad, obj_to_img, 12)
    for fn in (masks_to_layout, masks_to_factorized_layout):
        with pytest.raises(ValueError, match='unknown layout pooling "max"; choose "sum" or "avg"'):
            fn(vecs, boxes, masks, obj_to_img, 12, 12, "max")


def test_factorized_layout_pools_its_noise_with_its_masks():
    from sg2im.model.layout import FactorizedLayout

    torch.manual_seed(2)
    layout = FactorizedLayout(torch.rand(2, 3, 8, 8), torch.randn(2, 3, 5), torch.randn(2, 4, 8, 8))
    pooled = layout.pool(2)
    assert pooled.shape == (2, 9, 4, 4) and layout.pool(1) is layout
    assert torch.allclose(pooled.dense(), F.avg_pool2d(layout.dense(), 2), atol=1e-6)
    assert torch.allclose(layout.dense()[:, 5:], layout.noise)


def test_no_objects_at_all_and_a_layout_without_noise_pooled():
    from sg2im.model.layout import FactorizedLayout, masks_to_factorized_layout

    none = torch.zeros(0, dtype=torch.long)
    empty = boxes_to_layout(torch.zeros(0, 4), torch.zeros(0, 4), none, 8)
    assert empty.shape == (0, 4, 8, 8)
    two_blank = masks_to_factorized_layout(torch.zeros(0, 4), torch.zeros(0, 4), None, none, 8, 8, num_images=2)
    assert two_blank.masks.shape == (2, 0, 8, 8) and two_blank.dense().abs().max() == 0
    plain = FactorizedLayout(torch.rand(1, 2, 4, 4), torch.randn(1, 2, 3)).pool(2)
    assert plain.noise is None and plain.shape == (1, 3, 2, 2)


def test_grids_and_crops_keep_float64_precision():
    """Sampling positions in the boxes' own dtype: thirds and sevenths are not exact in float32."""
    from sg2im.model.layout import boxes_to_grid

    boxes = torch.tensor([[0.1, 0.2, 0.7, 0.9]], dtype=torch.float64)
    grid = boxes_to_grid(boxes, 7, 10)
    xs = torch.arange(10, dtype=torch.float64) / 9
    ys = torch.arange(7, dtype=torch.float64) / 6
    assert grid.dtype == torch.float64
    assert torch.allclose(grid[0, 3, :, 0], (xs - 0.1) / 0.6 * 2 - 1, rtol=0, atol=1e-14)
    assert torch.allclose(grid[0, :, 4, 1], (ys - 0.2) / 0.7 * 2 - 1, rtol=0, atol=1e-14)
    ramp = torch.arange(30, dtype=torch.float64).view(1, 1, 1, 30).expand(1, 1, 30, 30).contiguous()
    crop = crop_bbox_batch(ramp, torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64), torch.tensor([0]), 7)
    assert crop.dtype == torch.float64
    assert torch.allclose(crop[0, 0, 0], torch.arange(7, dtype=torch.float64) * 29 / 6, rtol=0, atol=1e-12)
