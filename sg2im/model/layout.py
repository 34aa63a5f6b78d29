"""Scene layout from boxes and masks, and per-object crops (original ``sg2im/layout.py`` and
``bilinear.crop_bbox_batch``), vectorised: no Python loop over objects or images.

Coordinates: boxes are [x0, y0, x1, y1] in [0, 1] image coordinates. Warping and cropping use
``grid_sample(..., mode='bilinear', padding_mode='zeros', align_corners=True)``: torch 0.4, which
the original ran on, had only the align_corners=True behaviour (today's default is False).

Fast layout: grid sampling is linear in its input, so warping ``vec (x) mask`` (O x D x M x M) equals
``vec (x) warp(mask)``. We warp only the O x 1 x M x M masks into their boxes, then combine them
with the O x D vectors per image by one batched matmul. Same math as the original, about 1e-6
relative difference from float reordering (see bench/bench_layout.py). The generator goes one step
further and never builds the dense layout (:class:`FactorizedLayout`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MIN_BOX_SIZE = 1e-3  # width/height floor for warping; guards degenerate predicted boxes (x1 <= x0)


def _num_images(obj_to_img: torch.Tensor, num_images: int | None) -> int:
    if num_images is not None:
        return int(num_images)
    return int(obj_to_img.max().item()) + 1 if obj_to_img.numel() else 0


def boxes_to_grid(boxes: torch.Tensor, H: int, W: int, min_size: float = MIN_BOX_SIZE) -> torch.Tensor:
    """Sampling grid (O, H, W, 2) in [-1, 1] that maps the unit square of each object onto its box.

    Deviation: the original divided by x1 - x0 and y1 - y0 unguarded, so a degenerate box (the
    ReLU box head often predicts x1 <= x0) filled the whole layout with NaN. Width and height are
    clamped to ``min_size`` first; a degenerate box then covers at most about one pixel.
    """
    O = boxes.shape[0]
    x0, y0, x1, y1 = (boxes[:, i].view(O, 1, 1) for i in range(4))
    ww = (x1 - x0).clamp(min=min_size)
    hh = (y1 - y0).clamp(min=min_size)
    X = torch.linspace(0, 1, steps=W, dtype=boxes.dtype, device=boxes.device).view(1, 1, W)
    Y = torch.linspace(0, 1, steps=H, dtype=boxes.dtype, device=boxes.device).view(1, H, 1)
    X = ((X - x0) / ww).expand(O, H, W)
    Y = ((Y - y0) / hh).expand(O, H, W)
    return torch.stack([X, Y], dim=3).mul(2).sub(1)


def warp_to_boxes(maps: torch.Tensor, boxes: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """Warp (O, C, M, M) maps into their boxes on an (H, W) canvas: (O, C, H, W)."""
    grid = boxes_to_grid(boxes.to(maps.dtype), H, W)
    return F.grid_sample(maps, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def _slot_in_image(obj_to_img: torch.Tensor, N: int) -> tuple[torch.Tensor, int]:
    """Position of each object among the objects of its image (stable), and the max count."""
    O = obj_to_img.shape[0]
    counts = torch.bincount(obj_to_img, minlength=N)
    starts = counts.cumsum(0) - counts
    order = torch.argsort(obj_to_img, stable=True)
    slot = torch.empty_like(obj_to_img)
    slot[order] = torch.arange(O, device=obj_to_img.device) - starts[obj_to_img[order]]
    return slot, int(counts.max().item()) if O else 0


def combine_per_image(vecs: torch.Tensor, warped: torch.Tensor, obj_to_img: torch.Tensor, N: int,
                      pooling: str = "sum") -> torch.Tensor:
    """layout[n, d] = sum over objects o of image n of vecs[o, d] * warped[o] (a batched matmul).

    vecs (O, D), warped (O, H, W) -> (N, D, H, W); 'avg' divides by the objects per image."""
    if pooling not in ("sum", "avg"):
        raise ValueError(f'unknown layout pooling "{pooling}"; choose "sum" or "avg"')
    O, D = vecs.shape
    H, W = warped.shape[-2:]
    slot, K = _slot_in_image(obj_to_img, N)
    warped = warped.reshape(O, H * W).to(vecs.dtype)
    v_pad = vecs.new_zeros(N, K, D).index_put((obj_to_img, slot), vecs)
    w_pad = warped.new_zeros(N, K, H * W).index_put((obj_to_img, slot), warped)
    out = torch.bmm(v_pad.transpose(1, 2), w_pad).view(N, D, H, W)
    if pooling == "avg":
        counts = torch.bincount(obj_to_img, minlength=N).clamp(min=1).to(out.dtype)
        out = out / counts.view(N, 1, 1, 1)
    return out


@dataclass
class FactorizedLayout:
    """The scene layout kept as the product it is: layout[n, :, y, x] = sum_k vecs[n, k] * masks[n, k, y, x],
    plus ``noise`` channels. An image has at most K objects (about 10) while the layout has D channels (128
    at the paper's size), so the CRN convolves the K masks with per-image weights ``W . vecs`` instead of
    the D dense channels (:func:`conv_layout`): the same sums in another order, about a fifth of the CRN's
    arithmetic saved at the paper's size. ``dense()`` gives the usual (N, D [+ noise], H, W) tensor."""

    masks: torch.Tensor  # (N, K, H, W): each object's mask warped into its box, zero-padded per image
    vecs: torch.Tensor  # (N, K, D): each object's vector, zero-padded per image
    noise: torch.Tensor | None = None  # (N, Z, H, W)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        n, _, h, w = self.masks.shape
        return n, self.vecs.shape[2] + (0 if self.noise is None else self.noise.shape[1]), h, w

    def pool(self, factor: int) -> "FactorizedLayout":
        """The layout average-pooled by ``factor`` (pooling is linear: pool the masks and the noise)."""
        if factor == 1:
            return self
        pooled = F.avg_pool2d(self.masks, kernel_size=factor, stride=factor)
        noise = None if self.noise is None else F.avg_pool2d(self.noise, kernel_size=factor, stride=factor)
        return FactorizedLayout(pooled, self.vecs, noise)

    def dense(self) -> torch.Tensor:
        layout = torch.einsum("nkd,nkhw->ndhw", self.vecs, self.masks)
        return layout if self.noise is None else torch.cat([layout, self.noise], dim=1)


def conv_layout(layout: FactorizedLayout, weight: torch.Tensor, padding: int) -> torch.Tensor:
    """``conv2d(layout.dense()[:, :D], weight)`` (no bias) computed on the K masks: per image the weights
    ``U[n] = sum_d weight[:, d] * vecs[n, :, d]`` (Cout, K, kh, kw), one grouped convolution for the batch."""
    n, k, h, w = layout.masks.shape
    cout = weight.shape[0]
    per_image = torch.einsum("odij,nkd->nokij", weight, layout.vecs).reshape(n * cout, k, *weight.shape[2:])
    out = F.conv2d(layout.masks.reshape(1, n * k, h, w), per_image, padding=padding, groups=n)
    return out.reshape(n, cout, *out.shape[-2:])


def masks_to_factorized_layout(vecs: torch.Tensor, boxes: torch.Tensor, masks: torch.Tensor | None,
                               obj_to_img: torch.Tensor, H: int, W: int, pooling: str = "sum",
                               num_images: int | None = None) -> FactorizedLayout:
    """As :func:`masks_to_layout` (``masks`` None: whole boxes, as :func:`boxes_to_layout`), factorized."""
    O, D = vecs.shape
    if masks is None:
        masks = vecs.new_ones(O, 8, 8)
    N = _num_images(obj_to_img, num_images)
    warped = warp_to_boxes(masks.to(vecs.dtype).unsqueeze(1), boxes, H, W)[:, 0]
    if pooling == "avg":
        counts = torch.bincount(obj_to_img, minlength=N).clamp(min=1).to(warped.dtype)
        warped = warped / counts[obj_to_img].view(O, 1, 1)
    elif pooling != "sum":
        raise ValueError(f'unknown layout pooling "{pooling}"; choose "sum" or "avg"')
    slot, K = _slot_in_image(obj_to_img, N)
    v_pad = vecs.new_zeros(N, K, D).index_put((obj_to_img, slot), vecs)
    m_pad = warped.new_zeros(N, K, H, W).index_put((obj_to_img, slot), warped)
    return FactorizedLayout(m_pad, v_pad)


def masks_to_layout(vecs: torch.Tensor, boxes: torch.Tensor, masks: torch.Tensor, obj_to_img: torch.Tensor,
                    H: int, W: int | None = None, pooling: str = "sum", num_images: int | None = None) -> torch.Tensor:
    """Scene layout (N, D, H, W): each object's vector times its mask, warped into its box, summed
    per image. vecs (O, D), boxes (O, 4), masks (O, M, M) (any numeric dtype), obj_to_img (O,)."""
    O, D = vecs.shape
    W = H if W is None else W
    if masks.dim() != 3 or masks.shape[0] != O or masks.shape[1] != masks.shape[2]:
        raise ValueError(f"masks must have shape (O={O}, M, M), got {tuple(masks.shape)}")
    N = _num_images(obj_to_img, num_images)
    warped = warp_to_boxes(masks.to(vecs.dtype).unsqueeze(1), boxes, H, W)[:, 0]
    return combine_per_image(vecs, warped, obj_to_img, N, pooling)


def boxes_to_layout(vecs: torch.Tensor, boxes: torch.Tensor, obj_to_img: torch.Tensor, H: int,
                    W: int | None = None, pooling: str = "sum", num_images: int | None = None) -> torch.Tensor:
    """Layout without masks (mask_size 0): as the original, each vector is a constant 8x8 map
    warped into its box (the same as an all-ones 8x8 mask)."""
    ones = vecs.new_ones(vecs.shape[0], 8, 8)
    return masks_to_layout(vecs, boxes, ones, obj_to_img, H, W, pooling, num_images)


def masks_to_layout_reference(vecs: torch.Tensor, boxes: torch.Tensor, masks: torch.Tensor, obj_to_img: torch.Tensor,
                              H: int, W: int | None = None, pooling: str = "sum") -> torch.Tensor:
    """The original algorithm (warp the O x D x M x M product, then scatter-add), kept as the
    baseline for tests and bench/bench_layout.py. Degenerate boxes are guarded the same way."""
    O, D = vecs.shape
    W = H if W is None else W
    M = masks.shape[1]
    img_in = vecs.view(O, D, 1, 1) * masks.to(vecs.dtype).view(O, 1, M, M)
    sampled = warp_to_boxes(img_in, boxes, H, W)
    N = _num_images(obj_to_img, None)
    out = sampled.new_zeros(N, D, H, W)
    out = out.scatter_add(0, obj_to_img.view(O, 1, 1, 1).expand(O, D, H, W), sampled)
    if pooling == "avg":
        counts = torch.bincount(obj_to_img, minlength=N).clamp(min=1).to(out.dtype)
        out = out / counts.view(N, 1, 1, 1)
    return out


def tensor_linspace(start: torch.Tensor, end: torch.Tensor, steps: int) -> torch.Tensor:
    """Per-row linspace: (B,) start/end -> (B, steps), as ``w * end + (1 - w) * start``."""
    w = torch.linspace(0, 1, steps=steps, dtype=start.dtype, device=start.device)
    return start.unsqueeze(1) * (1 - w) + end.unsqueeze(1) * w


def crop_bbox_batch(feats: torch.Tensor, boxes: torch.Tensor, obj_to_img: torch.Tensor, HH: int,
                    WW: int | None = None) -> torch.Tensor:
    """One (C, HH, WW) bilinear crop per box from its image: feats (N, C, H, W), boxes (O, 4) in
    [0, 1], obj_to_img (O,) -> (O, C, HH, WW), in object order. One grid_sample over all objects."""
    WW = HH if WW is None else WW
    O = boxes.shape[0]
    b = 2 * boxes.to(feats.dtype) - 1
    X = tensor_linspace(b[:, 0], b[:, 2], WW).view(O, 1, WW).expand(O, HH, WW)
    Y = tensor_linspace(b[:, 1], b[:, 3], HH).view(O, HH, 1).expand(O, HH, WW)
    grid = torch.stack([X, Y], dim=3)
    return F.grid_sample(feats.index_select(0, obj_to_img), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=True)
