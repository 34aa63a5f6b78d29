"""Architecture strings, activations, normalisations, graph convolution pooling."""
import pytest
import torch
from torch import nn

from sg2im.model.graph import GraphTripleConv, pool_edge_vectors
from sg2im.model.layers import ResidualBlock, build_cnn, build_mlp, get_activation, get_normalization_2d, parse_arch

D_ARCH = "C4-64-2,C4-128-2,C4-256-2"


def test_relu_is_a_real_relu_and_leaky_slopes_parse():
    x = torch.tensor([-2.0, 0.0, 3.0])
    relu = get_activation("relu")
    assert type(relu) is nn.ReLU and torch.equal(relu(x), torch.tensor([0.0, 0.0, 3.0]))
    assert torch.allclose(get_activation("leakyrelu-0.2")(x), torch.tensor([-0.4, 0.0, 3.0]))
    assert torch.allclose(get_activation("leakyrelu")(x), torch.tensor([-0.02, 0.0, 3.0]))
    for bad in ("tanh", "leakyrelu-x"):
        with pytest.raises(ValueError, match="activation"):
            get_activation(bad)


def test_normalizations():
    assert isinstance(get_normalization_2d(4, "batch"), nn.BatchNorm2d)
    assert isinstance(get_normalization_2d(4, "instance"), nn.InstanceNorm2d)
    assert get_normalization_2d(4, "none") is None
    with pytest.raises(ValueError, match="normalization"):
        get_normalization_2d(4, "group")


@pytest.mark.parametrize("size,crop_sizes", [(64, [31, 14, 6]), (128, [63, 30, 14]), (32, [15, 6, 2])])
def test_default_discriminator_arch_matches_original_sizes(size, crop_sizes):
    cnn, out_c = build_cnn("I3," + D_ARCH, normalization="batch", activation="leakyrelu-0.2", padding="valid",
                           pooling="avg")
    assert out_c == 256
    kinds = [type(m).__name__ for m in cnn]
    assert kinds == ["Conv2d", "BatchNorm2d", "LeakyReLU", "Conv2d", "BatchNorm2d", "LeakyReLU", "Conv2d"]
    assert [m.stride for m in cnn if isinstance(m, nn.Conv2d)] == [(2, 2)] * 3
    assert [m.padding for m in cnn if isinstance(m, nn.Conv2d)] == [(0, 0)] * 3
    x = torch.zeros(1, 3, size, size)
    sizes = []
    for m in cnn:
        x = m(x)
        if isinstance(m, nn.Conv2d):
            sizes.append(x.shape[-1])
    assert sizes == crop_sizes


def test_arch_grammar_all_tokens():
    c_in, layers = parse_arch("I5,C3-16,R,P2,U2,C3-8-2,FC-128-10,FC-10-3")
    assert c_in == 5
    assert [l.kind for l in layers] == ["conv", "res", "pool", "up", "conv", "fc", "fc"]
    cnn, out = build_cnn("I5,C3-16,R,P2,U2,C3-8-2,FC-128-10,FC-10-3", normalization="none", activation="relu",
                         padding="same", pooling="max")
    kinds = [type(m).__name__ for m in cnn]
    assert kinds == ["Conv2d", "ResidualBlock", "MaxPool2d", "Upsample", "ReLU", "Conv2d", "Flatten", "Linear", "ReLU",
                     "Linear"]
    assert out == 3
    assert cnn(torch.randn(2, 5, 8, 8)).shape == (2, 3)  # 8 -> pool 4 -> up 8 -> stride 2: 8*4*4 = 128
    assert parse_arch(["C3-4"])[0] == 3  # list form, default input channels
    for bad in ("C3", "X2", "Ifoo,C3-4", "FC-3"):
        with pytest.raises(ValueError, match="invalid|bad input"):
            parse_arch(bad)
    with pytest.raises(ValueError, match="odd"):
        build_cnn("C4-8", padding="same")


def test_residual_block_runs_net_once_and_valid_shortcut_is_cropped():
    block = ResidualBlock(4, normalization="none", activation="relu", padding="valid")
    calls = []
    block.net.register_forward_hook(lambda *a: calls.append(1))
    x = torch.randn(1, 4, 10, 10)
    y = block(x)
    assert y.shape == (1, 4, 6, 6) and len(calls) == 1
    assert torch.allclose(y, x[:, :, 2:-2, 2:-2] + block.net(x))
    same = ResidualBlock(4, normalization="batch", padding="same")
    assert same(x).shape == x.shape


def test_build_mlp_final_relu_and_batchnorm():
    mlp = build_mlp([4, 8, 2], batch_norm="batch")
    assert [type(m).__name__ for m in mlp] == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU"]
    mlp = build_mlp([4, 8, 2], final_nonlinearity=False)
    assert [type(m).__name__ for m in mlp] == ["Linear", "ReLU", "Linear"]


def test_pool_edge_vectors_avg_divides_by_appearances():
    # triples (s, o): (0, 1), (0, 2), (2, 0); object 3 appears nowhere
    s_idx, o_idx = torch.tensor([0, 0, 2]), torch.tensor([1, 2, 0])
    new_s = torch.tensor([[1.0], [2.0], [4.0]])
    new_o = torch.tensor([[10.0], [20.0], [40.0]])
    summed = pool_edge_vectors(new_s, new_o, s_idx, o_idx, 4, "sum")
    assert torch.equal(summed[:, 0], torch.tensor([1 + 2 + 40.0, 10.0, 20 + 4.0, 0.0]))
    avg = pool_edge_vectors(new_s, new_o, s_idx, o_idx, 4, "avg")
    assert torch.allclose(avg[:, 0], torch.tensor([43 / 3, 10.0, 12.0, 0.0]))


@pytest.mark.parametrize("pooling", ["avg", "sum"])
def test_graph_conv_feeds_pooled_candidates_to_net2(pooling):
    torch.manual_seed(0)
    conv = GraphTripleConv(3, 5, hidden_dim=4, pooling=pooling)
    objs, preds = torch.randn(4, 3), torch.randn(3, 3)
    edges = torch.tensor([[0, 1], [0, 2], [2, 0]])
    seen = {}
    conv.net2.register_forward_hook(lambda m, inp, out: seen.update(x=inp[0]))
    new_objs, new_preds = conv(objs, preds, edges)
    t = conv.net1(torch.cat([objs[edges[:, 0]], preds, objs[edges[:, 1]]], 1))
    new_s, new_p, new_o = t[:, :4], t[:, 4:9], t[:, 9:13]
    expect = torch.zeros(4, 4)
    expect[0] = new_s[0] + new_s[1] + new_o[2]
    expect[1] = new_o[0]
    expect[2] = new_o[1] + new_s[2]
    if pooling == "avg":
        expect = expect / torch.tensor([3.0, 1.0, 2.0, 1.0])[:, None]
    assert torch.allclose(seen["x"], expect, atol=1e-6)
    assert torch.allclose(new_preds, new_p) and new_objs.shape == (4, 5)
    assert (new_objs >= 0).all()  # ReLU after the last layer, as the original
