"""Discriminators, GAN losses and WGAN weight clipping."""
import itertools
import math

import pytest
import torch
from torch import nn

from sg2im.model import AcCropDiscriminator, PatchDiscriminator
from sg2im.training.losses import get_gan_losses
from sg2im.training.step import clip_weights_
from sg2im.scene_graph import vocab_from_names

D_ARCH = "C4-64-2,C4-128-2,C4-256-2"
SMALL_ARCH = "C4-8-2,C4-16-2,C4-32-2"


def vocab():
    return vocab_from_names(["a", "b", "c", "d"], ["on"])


def test_default_patch_discriminator_outputs_raw_conv_patch_logits():
    d = PatchDiscriminator(D_ARCH, normalization="batch", activation="leakyrelu-0.2", padding="valid")
    assert d(torch.randn(2, 3, 64, 64)).shape == (2, 256, 6, 6)
    assert d(torch.randn(1, 3, 128, 128)).shape == (1, 256, 14, 14)
    d_layout = PatchDiscriminator(SMALL_ARCH, layout_dim=5, padding="valid")
    assert d_layout(torch.randn(2, 3, 32, 32), layout=torch.randn(2, 5, 32, 32)).shape == (2, 32, 2, 2)


def test_ac_crop_discriminator_crops_each_object_and_classifies():
    torch.manual_seed(0)
    d = AcCropDiscriminator(vocab(), SMALL_ARCH, normalization="batch", activation="leakyrelu-0.2", padding="valid",
                            object_size=32)
    imgs = torch.randn(2, 3, 64, 64)
    objs = torch.tensor([1, 2, 0, 3, 0])
    boxes = torch.tensor([[0, 0, .5, .5], [.5, .5, 1, 1], [0, 0, 1, 1], [.2, .1, .6, .9], [0, 0, 1, 1]])
    obj_to_img = torch.tensor([0, 0, 0, 1, 1])
    seen = {}
    d.discriminator.cnn.register_forward_hook(lambda m, inp, out: seen.update(x=inp[0]))
    real, ac_loss = d(imgs, objs, boxes, obj_to_img)
    assert real.shape == (5, 1) and seen["x"].shape == (5, 3, 32, 32)
    assert torch.allclose(seen["x"][2], nn.functional.interpolate(imgs[:1], size=32, mode="bilinear", align_corners=True)[0], atol=1e-4)
    logits = d.discriminator.obj_classifier(d.discriminator.cnn(seen["x"]))
    assert torch.allclose(ac_loss, nn.functional.cross_entropy(logits, objs))
    ac_loss.backward()
    assert d.discriminator.obj_classifier.weight.grad.abs().sum() > 0


def test_every_discriminator_flag_combination_runs():
    v = vocab()
    imgs = torch.randn(2, 3, 32, 32, requires_grad=True)
    objs, boxes, obj_to_img = torch.tensor([1, 0, 2]), torch.tensor([[0, 0, .5, 1], [0, 0, 1, 1], [.3, .3, .9, .9]]), torch.tensor([0, 0, 1])
    for padding, norm, act, pooling in itertools.product(["valid", "same"], ["batch", "instance", "none"],
                                                         ["relu", "leakyrelu-0.2"], ["avg", "max"]):
        arch = SMALL_ARCH if padding == "valid" else "C3-8-2,C3-16-2,C3-32-2,P2"
        d_img = PatchDiscriminator(arch, normalization=norm, activation=act, padding=padding, pooling=pooling)
        d_obj = AcCropDiscriminator(v, arch, normalization=norm, activation=act, padding=padding, object_size=32,
                                    pooling=pooling)
        patch = d_img(imgs)
        real, ac = d_obj(imgs, objs, boxes, obj_to_img)
        (patch.mean() + real.mean() + ac).backward()
        assert torch.isfinite(imgs.grad).all() and real.shape == (3, 1)
        assert patch.shape == (2, 32, 2, 2)  # valid: 32 -> 15 -> 6 -> 2; same: 32 -> 16 -> 8 -> 4 -> pool 2
        imgs.grad = None


def _bce(x, y):
    return (max(x, 0) - x * y + math.log(1 + math.exp(-abs(x))))


def test_gan_losses_values():
    real = torch.tensor([[2.0, -1.0], [0.5, 40.0]])
    fake = torch.tensor([[-3.0, 0.0], [1.0, -60.0]])
    g, d = get_gan_losses("gan")
    assert math.isclose(g(fake).item(), sum(_bce(x, 1) for x in fake.flatten().tolist()) / 4, rel_tol=1e-6)
    expect_d = sum(_bce(x, 1) for x in real.flatten().tolist()) / 4 + sum(_bce(x, 0) for x in fake.flatten().tolist()) / 4
    assert math.isclose(d(real, fake).item(), expect_d, rel_tol=1e-6)
    assert torch.isfinite(g(torch.tensor([-1e4, 1e4])))
    g, d = get_gan_losses("lsgan")
    assert math.isclose(g(fake).item(), ((fake.sigmoid() - 1) ** 2).mean().item(), rel_tol=1e-6)
    assert math.isclose(d(real, fake).item(), ((real.sigmoid() - 1) ** 2).mean().item() + (fake.sigmoid() ** 2).mean().item(),
                        rel_tol=1e-6)
    g, d = get_gan_losses("wgan")
    assert math.isclose(g(fake).item(), -fake.mean().item(), rel_tol=1e-6)
    assert math.isclose(d(real, fake).item(), fake.mean().item() - real.mean().item(), rel_tol=1e-6)
    with pytest.raises(ValueError, match="gan_loss_type"):
        get_gan_losses("hinge")


@pytest.mark.parametrize("gan_type", ["gan", "lsgan", "wgan"])
def test_gan_losses_backward_under_bf16(gan_type):
    g, d = get_gan_losses(gan_type)
    scores = torch.randn(4, 1, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = g(scores.bfloat16()) + d(scores.bfloat16(), -scores.bfloat16())
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(scores.grad).all()


def test_clip_weights_really_clips():
    d = PatchDiscriminator(SMALL_ARCH, padding="valid")
    with torch.no_grad():
        for p in d.parameters():
            p.mul_(100)
    assert max(p.abs().max().item() for p in d.parameters()) > 0.01
    clip_weights_(d, 0.01)
    assert max(p.abs().max().item() for p in d.parameters()) <= 0.01
    before = [p.clone() for p in d.parameters()]
    clip_weights_(d, None)
    clip_weights_(d, 0)
    assert all(torch.equal(a, b) for a, b in zip(before, d.parameters()))


def test_discriminators_accept_channels_last_and_bf16_autocast():
    torch.manual_seed(0)
    v = vocab()
    d_obj = AcCropDiscriminator(v, SMALL_ARCH, normalization="batch", activation="leakyrelu-0.2", padding="valid",
                                object_size=32).eval()
    d_img = PatchDiscriminator(SMALL_ARCH, padding="valid").eval()
    imgs = torch.randn(2, 3, 32, 32)
    objs, boxes, obj_to_img = torch.tensor([1, 0]), torch.tensor([[0, 0, .5, 1], [0, 0, 1, 1]]), torch.tensor([1, 0])
    ref_obj, ref_ac = d_obj(imgs, objs, boxes, obj_to_img)
    ref_img = d_img(imgs)
    cl = imgs.to(memory_format=torch.channels_last)
    d_obj, d_img = d_obj.to(memory_format=torch.channels_last), d_img.to(memory_format=torch.channels_last)
    out_obj, out_ac = d_obj(cl, objs, boxes, obj_to_img)
    assert torch.allclose(out_obj, ref_obj, atol=1e-4) and torch.allclose(out_ac, ref_ac, atol=1e-4)
    assert torch.allclose(d_img(cl), ref_img, atol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        real, ac = d_obj(cl, objs, boxes, obj_to_img)
        patch = d_img(cl)
    assert torch.isfinite(real.float()).all() and torch.isfinite(ac) and torch.isfinite(patch.float()).all()
