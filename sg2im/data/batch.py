"""Batching of scene graphs (the original sg2im/data/utils.py collate functions).

All objects of a batch are concatenated; triple subject/object indices are offset by the
cumulative object count so that they index the concatenated ``objs``; ``obj_to_img[i] = n`` maps
object ``i`` to image ``n`` (likewise ``triple_to_img``).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Sequence

import torch
from torch import Tensor


@dataclass
class SceneGraphBatch:
    """A collated batch. ``masks`` is None for datasets without masks (Visual Genome)."""

    imgs: Tensor  # (N, 3, H, W) float, ImageNet-normalised
    objs: Tensor  # (O,) long
    boxes: Tensor  # (O, 4) float, [x0, y0, x1, y1] in [0, 1]
    masks: Tensor | None  # (O, M, M) long/float or None
    triples: Tensor  # (T, 3) long: [s, p, o], s and o index objs
    obj_to_img: Tensor  # (O,) long
    triple_to_img: Tensor  # (T,) long

    @property
    def num_images(self) -> int:
        return int(self.imgs.shape[0])

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "SceneGraphBatch":
        moved = {
            f.name: (getattr(self, f.name).to(device, non_blocking=non_blocking) if getattr(self, f.name) is not None else None)
            for f in fields(self)
        }
        return replace(self, **moved)

    def pin_memory(self) -> "SceneGraphBatch":
        """Every tensor in page-locked memory (DataLoader ``pin_memory``: faster, asynchronous copies to CUDA)."""
        return replace(self, **{f.name: getattr(self, f.name).pin_memory() for f in fields(self)
                                if getattr(self, f.name) is not None})

    def as_tuple(self) -> tuple:
        """The original collate output: 6 tensors for VG, 7 (masks after boxes) for COCO."""
        if self.masks is None:
            return (self.imgs, self.objs, self.boxes, self.triples, self.obj_to_img, self.triple_to_img)
        return (self.imgs, self.objs, self.boxes, self.masks, self.triples, self.obj_to_img, self.triple_to_img)


def collate_scene_graphs(items: Sequence[tuple]) -> SceneGraphBatch:
    """Collate dataset items ``(image, objs, boxes, masks_or_None, triples)``."""
    imgs, objs, boxes, masks, triples = zip(*items)
    obj_counts = torch.tensor([len(o) for o in objs], dtype=torch.long)
    triple_counts = torch.tensor([len(t) for t in triples], dtype=torch.long)
    offsets = torch.cumsum(obj_counts, 0) - obj_counts
    image_index = torch.arange(len(items), dtype=torch.long)
    all_triples = torch.cat([t.reshape(-1, 3).long() for t in triples], 0).clone()
    triple_to_img = torch.repeat_interleave(image_index, triple_counts)
    shift = offsets[triple_to_img]
    all_triples[:, 0] += shift
    all_triples[:, 2] += shift
    has_masks = masks[0] is not None
    return SceneGraphBatch(
        imgs=torch.stack(imgs, 0),
        objs=torch.cat(objs, 0).long(),
        boxes=torch.cat(boxes, 0).float(),
        masks=torch.cat(masks, 0) if has_masks else None,
        triples=all_triples,
        obj_to_img=torch.repeat_interleave(image_index, obj_counts),
        triple_to_img=triple_to_img,
    )


def split_batch(batch: SceneGraphBatch) -> list[tuple]:
    """Invert :func:`collate_scene_graphs`: one ``(image, objs, boxes, masks, triples)`` per image,
    with triple indices local to the image again."""
    out = []
    obj_counts = torch.bincount(batch.obj_to_img, minlength=batch.num_images)
    offsets = torch.cumsum(obj_counts, 0) - obj_counts
    for n in range(batch.num_images):
        o_mask = batch.obj_to_img == n
        t = batch.triples[batch.triple_to_img == n].clone()
        t[:, 0] -= offsets[n]
        t[:, 2] -= offsets[n]
        out.append((batch.imgs[n], batch.objs[o_mask], batch.boxes[o_mask],
                    batch.masks[o_mask] if batch.masks is not None else None, t))
    return out
