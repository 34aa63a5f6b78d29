"""A small crop classifier trained from scratch on real object crops (object accuracy, crop FID).

Protocol: crops of real training-split images at the ground-truth boxes (``crop_bbox_batch``,
``crop_size`` x ``crop_size``, ImageNet-normalised like the dataset), each box jittered by up to
``jitter`` of its width/height per coordinate, random horizontal flips; Adam, cross-entropy over
the vocabulary's object classes.  Its accuracy on real test-split crops is the ceiling for the
object accuracy of generated crops.  Its penultimate activations are the feature space of the
"crop FID".  Not comparable to published ResNet-101 numbers, but reproducible offline.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sg2im.checkpoint import atomic_torch_save, read_checkpoint
from sg2im.errors import DataError
from sg2im.progress import progress as progress_bar

CropFn = Callable[[Tensor, Tensor, Tensor, int], Tensor]


def _default_crop_fn() -> CropFn:
    from sg2im.model.layout import crop_bbox_batch

    return crop_bbox_batch


class CropClassifier(nn.Module):
    """conv-BN-ReLU stack (5 convs), three 2x poolings, global average pool -> ``4*width`` features -> logits."""

    def __init__(self, num_classes: int, width: int = 32) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.width = width

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        w = width
        self.body = nn.Sequential(
            *block(3, w), nn.MaxPool2d(2),
            *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),
            *block(2 * w, 4 * w), nn.MaxPool2d(2),
            *block(4 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(4 * w, num_classes)

    @property
    def feature_dim(self) -> int:
        return 4 * self.width

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def jitter_boxes(boxes: Tensor, amount: float, generator: torch.Generator | None = None) -> Tensor:
    """Move each coordinate by up to ``amount`` times the box's width/height; keeps x0<x1, y0<y1."""
    if amount <= 0:
        return boxes
    size = torch.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]] * 2, 1)
    noise = (torch.rand(boxes.shape, generator=generator) * 2 - 1).to(boxes) * amount * size
    out = boxes + noise
    x0, x1 = torch.minimum(out[:, 0], out[:, 2]), torch.maximum(out[:, 0], out[:, 2])
    y0, y1 = torch.minimum(out[:, 1], out[:, 3]), torch.maximum(out[:, 1], out[:, 3])
    return torch.stack([x0, y0, torch.maximum(x1, x0 + 1e-3), torch.maximum(y1, y0 + 1e-3)], 1)


def train_crop_classifier(
    imgs: Tensor,
    objs: Tensor,
    boxes: Tensor,
    obj_to_img: Tensor,
    num_classes: int,
    crop_size: int = 32,
    steps: int = 300,
    batch_size: int = 128,
    lr: float = 1e-3,
    width: int = 32,
    jitter: float = 0.1,
    seed: int = 0,
    device: torch.device | str = "cpu",
    crop_fn: CropFn | None = None,
    progress: bool = True,
) -> tuple[CropClassifier, dict]:
    """Train on crops of ``imgs`` (N,3,H,W) at ``boxes`` of objects ``objs`` (image ``obj_to_img``).

    Returns the classifier (eval mode) and a dict of training details (steps, final loss,
    training accuracy of the last 20 steps, seconds)."""
    crop_fn = crop_fn or _default_crop_fn()
    device = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = CropClassifier(num_classes, width).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / max(steps, 1))))
    imgs = imgs.to(device)
    num_objs = int(objs.numel())
    if num_objs == 0:
        raise ValueError("no training objects for the crop classifier")
    start = time.perf_counter()
    model.train()
    recent_correct, recent_total, loss_value = 0, 0, float("nan")
    iterator = range(steps)
    if progress:
        iterator = progress_bar(iterator, desc="crop classifier", unit="step", leave=False)
    for step in iterator:
        idx = torch.randint(num_objs, (min(batch_size, num_objs),), generator=gen)
        b = jitter_boxes(boxes[idx].float(), jitter, gen).to(device)
        batch_imgs = imgs[obj_to_img[idx].to(device)].float()
        crops = crop_fn(batch_imgs, b, torch.arange(len(idx), device=device), crop_size)
        flip = torch.rand(len(idx), generator=gen) < 0.5
        crops = torch.where(flip.to(device)[:, None, None, None], crops.flip(-1), crops)
        target = objs[idx].to(device)
        logits = model(crops)
        loss = F.cross_entropy(logits, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        loss_value = float(loss.detach())
        if step >= steps - 20:
            recent_correct += int((logits.argmax(1) == target).sum())
            recent_total += len(idx)
    model.eval()
    info = {
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "width": width,
        "crop_size": crop_size,
        "jitter": jitter,
        "train_objects": num_objs,
        "train_images": int(imgs.shape[0]),
        "final_loss": loss_value,
        "train_accuracy_last_steps": recent_correct / max(recent_total, 1),
        "seconds": round(time.perf_counter() - start, 2),
    }
    return model, info


@torch.no_grad()
def classify_crops(model: CropClassifier, crops: Tensor, batch_size: int = 512) -> tuple[Tensor, Tensor]:
    """Predicted classes (N,) and penultimate features (N, F) of crops (N, 3, S, S), on CPU."""
    device = next(model.parameters()).device
    preds, feats = [], []
    for part in torch.split(crops, batch_size):
        f = model.features(part.to(device).float())
        feats.append(f.cpu())
        preds.append(model.head(f).argmax(1).cpu())
    if not preds:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0, model.feature_dim)
    return torch.cat(preds), torch.cat(feats)


def save_classifier(path, model: CropClassifier, key: str, extra: dict) -> None:
    """Atomically save the classifier with its cache key and extra tensors/values."""
    state = {"key": key, "num_classes": model.num_classes, "width": model.width, "state": model.state_dict(), **extra}
    atomic_torch_save(state, path)


def load_cached_classifier(path, key: str) -> tuple[CropClassifier, dict] | None:
    """The cached classifier if ``path`` exists and was saved under ``key``; else None."""
    try:
        data = read_checkpoint(path)
    except DataError:  # missing or unreadable: the cache is simply rebuilt
        return None
    if data.get("key") != key:
        return None
    model = CropClassifier(int(data["num_classes"]), int(data["width"]))
    model.load_state_dict(data["state"])
    model.eval()
    return model, data
