"""Sg2ImModel: parameter counts of the original, flag combinations, gradients, finiteness."""
import itertools

import pytest
import torch
from torch import nn

from sg2im.errors import ParamsError
from sg2im.model import AcCropDiscriminator, PatchDiscriminator, build_generator
from sg2im.scene_graph import vocab_from_names

D_ARCH = "C4-64-2,C4-128-2,C4-256-2"


def coco_like_vocab():
    """184 objects and 7 predicates, the sizes of the COCO vocabulary the spec counts with."""
    return vocab_from_names([f"obj{i}" for i in range(183)], [f"pred{i}" for i in range(6)])


def tiny_vocab():
    return vocab_from_names(["sky", "grass", "sheep", "tree"], ["above", "on", "by"])


def make_model(vocab, **kwargs):
    """The generator of these (original-style) model_kwargs, as the original's Sg2ImModel(vocab, **kwargs)."""
    return build_generator({"vocab": vocab, **kwargs})


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_match_the_original_default_configuration():
    vocab = coco_like_vocab()
    g = make_model(vocab, image_size=(64, 64), embedding_dim=128, gconv_dim=128, gconv_hidden_dim=512,
                   gconv_num_layers=5, mask_size=16, layout_noise_dim=32, refinement_dims=(1024, 512, 256, 128, 64))
    parts = {name: count(child) for name, child in g.named_children()}
    # computed from the original layer shapes (spec section 3.1): embeddings 185*128 + 7*128,
    # gconv 1,116,416 per layer, box 128-512-4, mask net 4x(BN+conv3x3)+conv1x1, rel_aux 264-512-7
    assert parts == {"obj_embeddings": 23_680, "pred_embeddings": 896, "gconv": 1_116_416, "gconv_net": 4_465_664,
                     "box_net": 68_100, "mask_net": 591_489, "rel_aux_net": 139_271, "refinement_net": 21_752_707}
    assert count(g) == 28_158_223
    assert [count(m) for m in g.refinement_net.refinement_modules] == [10_927_104, 7_818_240, 2_139_648, 627_456, 203_136]
    d_obj = AcCropDiscriminator(vocab, D_ARCH, normalization="batch", activation="leakyrelu-0.2", padding="valid",
                                object_size=32)
    d_img = PatchDiscriminator(D_ARCH, normalization="batch", activation="leakyrelu-0.2", padding="valid")
    assert count(d_obj) == 1_112_057
    assert count(d_img) == 659_521 and count(d_img.classifier) == 257
    # original state-dict keys
    keys = set(g.state_dict())
    assert {"mask_net.16.weight", "box_net.2.weight", "rel_aux_net.2.bias", "gconv_net.gconvs.3.net2.2.weight",
            "refinement_net.refinement_modules.4.net.4.running_mean", "refinement_net.output_conv.2.weight"} <= keys
    assert {f"mask_net.{i}.weight" for i in (1, 2, 5, 6, 9, 10, 13, 14, 16)} <= keys
    assert {"discriminator.cnn.0.6.weight", "discriminator.cnn.2.weight", "discriminator.obj_classifier.weight"} <= set(d_obj.state_dict())


def _batch(vocab, n_img=2, mask_size=8):
    torch.manual_seed(0)
    objs = torch.tensor([1, 2, 3, 0, 4, 1, 0])
    obj_to_img = torch.tensor([0, 0, 0, 0, 1, 1, 1])
    triples = torch.tensor([[0, 1, 1], [2, 2, 1], [0, 0, 3], [1, 0, 3], [2, 0, 3], [4, 3, 5], [4, 0, 6], [5, 0, 6]])
    boxes = torch.tensor([[0, 0, 1, .4], [0, .5, 1, 1], [.3, .4, .7, .9], [0, 0, 1, 1], [.1, .1, .5, .6], [.5, .2, .9, .9],
                          [0, 0, 1, 1]])
    masks = (torch.rand(7, mask_size, mask_size) > 0.4).long() if mask_size else None
    return objs, triples, obj_to_img, boxes, masks


TINY = dict(image_size=(16, 16), embedding_dim=8, gconv_dim=8, gconv_hidden_dim=16, refinement_dims=(8, 4))


def test_every_generator_flag_combination_runs_forward_and_backward():
    vocab = tiny_vocab()
    combos = itertools.product(["avg", "sum"], ["none", "batch"], [0, 1, 3], [0, 8], ["batch", "instance", "none"],
                               ["relu", "leakyrelu-0.2"])
    n = 0
    for pooling, mlp_norm, layers, mask_size, norm, act in combos:
        g = make_model(vocab, gconv_pooling=pooling, mlp_normalization=mlp_norm, gconv_num_layers=layers,
                       mask_size=mask_size, normalization=norm, activation=act, layout_noise_dim=2, **TINY)
        objs, triples, obj_to_img, boxes, masks = _batch(vocab, mask_size=mask_size)
        imgs, boxes_pred, masks_pred, rel_scores = g(objs, triples, obj_to_img, boxes_gt=boxes, masks_gt=masks)
        assert imgs.shape == (2, 3, 16, 16) and boxes_pred.shape == (7, 4) and rel_scores.shape == (8, 4)
        assert (masks_pred is None) == (mask_size == 0)
        if mask_size:
            assert masks_pred.shape == (7, 8, 8)
        loss = imgs.abs().mean() + boxes_pred.sum() + (masks_pred.sum() if mask_size else 0) + rel_scores.sum()
        loss.backward()
        assert g.obj_embeddings.weight.grad.abs().sum() > 0
        if layers == 0:
            assert g.gconv_net is None and isinstance(g.gconv, nn.Linear)
        else:
            assert (g.gconv_net is None) == (layers == 1)
        n += 1
    assert n == 144


def test_gradients_reach_embeddings_through_the_image_alone():
    vocab = tiny_vocab()
    g = make_model(vocab, mask_size=8, **TINY)
    objs, triples, obj_to_img, boxes, masks = _batch(vocab)
    imgs = g(objs, triples, obj_to_img, boxes_gt=boxes, masks_gt=masks)[0]
    imgs.square().mean().backward()
    used = torch.unique(objs)
    grad = g.obj_embeddings.weight.grad
    assert (grad[used].abs().sum(1) > 0).all()
    assert grad[5].abs().sum() == 0  # the unused "+1" row
    assert (g.pred_embeddings.weight.grad[torch.unique(triples[:, 1])].abs().sum(1) > 0).all()


def test_relu_activation_builds_real_relus_in_the_crn():
    g = make_model(tiny_vocab(), activation="relu", **TINY)
    acts = [m for m in g.refinement_net.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
    assert acts and all(type(m) is nn.ReLU for m in acts)
    g = make_model(tiny_vocab(), activation="leakyrelu-0.2", **TINY)
    acts = [m for m in g.refinement_net.modules() if isinstance(m, nn.LeakyReLU)]
    assert acts and all(m.negative_slope == 0.2 for m in acts)


def test_randomly_initialised_model_gives_finite_images_from_json():
    torch.manual_seed(3)
    g = make_model(tiny_vocab(), mask_size=8, layout_noise_dim=4, **TINY).eval()
    graphs = [{"objects": ["sky", "grass", "sheep"], "relationships": [[0, "above", 1], [2, "on", 1]]},
              {"objects": ["tree"], "relationships": []}]
    with torch.no_grad():
        g.box_net[2].bias.fill_(-5.0)  # every box collapses to [0, 0, 0, 0] (the dead-ReLU case)
        imgs, boxes, masks, _ = g.forward_json(graphs)
    assert (boxes == 0).all()
    assert imgs.shape == (2, 3, 16, 16) and torch.isfinite(imgs).all()


def test_degenerate_gt_boxes_give_finite_images_and_gradients():
    vocab = tiny_vocab()
    g = make_model(vocab, mask_size=8, **TINY)
    objs, triples, obj_to_img, _, masks = _batch(vocab)
    boxes = torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.7, 0.2, 0.3, 0.9]]).repeat(4, 1)[:7]
    imgs = g(objs, triples, obj_to_img, boxes_gt=boxes, masks_gt=masks)[0]
    imgs.sum().backward()
    assert torch.isfinite(imgs).all()
    assert all(torch.isfinite(p.grad).all() for p in g.parameters() if p.grad is not None)


def test_default_size_forward_json_is_finite_at_64px():
    torch.manual_seed(0)
    vocab = coco_like_vocab()
    g = make_model(vocab, embedding_dim=128, mask_size=16, layout_noise_dim=32).eval()
    with torch.no_grad():
        imgs, boxes, masks, _ = g.forward_json({"objects": ["obj1", "obj2", "obj3"],
                                                "relationships": [[0, "pred1", 1], [2, "pred2", 1]]})
    assert imgs.shape == (1, 3, 64, 64) and torch.isfinite(imgs).all()
    assert masks.shape == (4, 16, 16)


def test_box_activation_none_keeps_parameters_and_allows_negative_outputs():
    vocab = tiny_vocab()
    a = make_model(vocab, mask_size=8, mlp_normalization="batch", **TINY)
    b = make_model(vocab, mask_size=8, mlp_normalization="batch", box_activation="none", **TINY)
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    assert isinstance(a.box_net[-1], nn.ReLU) and not isinstance(b.box_net[-1], nn.ReLU)


def test_autocast_bf16_and_channels_last():
    vocab = tiny_vocab()
    g = make_model(vocab, mask_size=8, layout_noise_dim=2, **TINY)
    objs, triples, obj_to_img, boxes, masks = _batch(vocab)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        imgs = g(objs, triples, obj_to_img, boxes_gt=boxes, masks_gt=masks)[0]
    imgs.float().mean().backward()
    assert torch.isfinite(imgs.float()).all()
    g.eval()
    torch.manual_seed(5)
    ref = g(objs, triples, obj_to_img, boxes_gt=boxes, masks_gt=masks)[0]
    g = g.to(memory_format=torch.channels_last)
    torch.manual_seed(5)
    out = g(objs, triples, obj_to_img, boxes_gt=boxes, masks_gt=masks)[0]
    assert torch.allclose(out, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kwargs,match", [
    (dict(image_size=(18, 18)), "divisible"), (dict(mask_size=6), "power of 2"), (dict(activation="tanh"), "activation"),
    (dict(normalization="group"), "normalization"), (dict(box_activation="sigmoid"), "box_activation"),
])
def test_bad_configuration_is_a_params_error(kwargs, match):
    cfg = dict(TINY, **kwargs)
    with pytest.raises(ParamsError, match=match):
        make_model(tiny_vocab(), **cfg)


def test_unknown_kwargs_warn_like_the_original():
    with pytest.warns(UserWarning, match="vec_noise_dim"):
        make_model(tiny_vocab(), vec_noise_dim=0, **TINY)
