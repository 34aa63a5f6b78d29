"""Inception Score / FID code path with a randomly initialised network saved to a file."""
import numpy as np
import pytest
import torch

from sg2im.errors import DataError
from sg2im.metrics.inception import (NOT_COMPUTED, check_weights_file,
                                     inception_score, load_inception, sha256_of_file)
from sg2im.metrics.inception_net import build_fid_inception


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    torch.manual_seed(0)
    net = build_fid_inception()
    for module in net.modules():  # give BatchNorm non-trivial statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("inception") / "random_inception.pth"
    torch.save(net.state_dict(), path)
    return path


def test_state_dict_keys_are_the_pytorch_fid_layout(random_weights):
    state = torch.load(random_weights, weights_only=True)
    assert state["fc.weight"].shape == (1008, 2048)
    assert "Mixed_7c.branch_pool.conv.weight" in state
    assert not any(k.startswith("AuxLogits") for k in state)


def test_load_with_explicit_hash_and_compute_features(random_weights):
    digest = sha256_of_file(random_weights)
    net, info = load_inception(random_weights, expected_sha256=digest[:12])
    assert info["sha256"] == digest and info["architecture"] == "pytorch-fid"
    images = torch.rand(2, 3, 32, 32)
    images[1] = images[0]
    pool, logits = net(images)
    assert pool.shape == (2, 2048) and logits.shape == (2, 1008)
    assert torch.isfinite(pool).all() and torch.isfinite(logits).all()
    assert torch.allclose(pool[0], pool[1], atol=1e-5)  # eval mode: no batch statistics
    # the network applied is the saved one: its fc maps pool3 to the logits
    state = torch.load(random_weights, weights_only=True)
    assert torch.allclose(logits, pool @ state["fc.weight"].T + state["fc.bias"], atol=1e-3)


def test_default_hash_rejects_other_files(random_weights):
    with pytest.raises(DataError, match="6726825d"):
        check_weights_file(random_weights)


def test_wrong_explicit_hash_is_a_clear_error(random_weights):
    with pytest.raises(DataError, match="does not match"):
        load_inception(random_weights, expected_sha256="deadbeef")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        check_weights_file(tmp_path / "nope.pth")
    assert NOT_COMPUTED == "not computed: no weights file"


def test_not_a_state_dict(tmp_path):
    path = tmp_path / "junk.pth"
    torch.save({"something": torch.zeros(1)}, path)
    with pytest.raises(DataError, match="fc.weight"):
        load_inception(path, expected_sha256=sha256_of_file(path))


def test_inception_score_known_values():
    # every image confidently a different class of 10: IS = 10; all the same class: IS = 1
    logits = torch.full((10, 10), -1e4)
    logits[torch.arange(10), torch.arange(10)] = 0
    mean, std = inception_score(logits, splits=1)
    assert mean == pytest.approx(10.0, rel=1e-6) and std == 0.0
    same = torch.zeros(20, 10)
    same[:, 3] = 1e4
    assert inception_score(same, splits=2)[0] == pytest.approx(1.0)
    uniform = np.zeros((8, 5))
    assert inception_score(uniform, splits=4)[0] == pytest.approx(1.0)
