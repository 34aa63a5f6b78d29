"""The GPU-oriented settings (train.precision, channels_last, compile, loader workers) on CPU with the tiny
configuration: finite losses, parameters that move, a checkpoint round trip and an exact resume."""
from __future__ import annotations

import math

import pytest
import torch

from helpers_train import tiny_args
from sg2im.checkpoint import read_checkpoint
from sg2im.errors import ParamsError
from sg2im.model import load_generator
from sg2im.training.loop import train
from sg2im.training.speed import Precision, check_compile_backend

FLAGS = {
    "bf16": {"precision": "bf16"},
    "fp16": {"precision": "fp16"},
    "channels_last": {"channels_last": 1},
    "compile": {"compile": 1, "compile_backend": "aot_eager"},
    "workers": {"loader_num_workers": 1},
}


@pytest.fixture(autouse=True)
def _no_tracking(monkeypatch):
    monkeypatch.setenv("SG2IM_TRACKING", "0")


def _initial_weights(tmp_path, **flags) -> dict:
    """G's weights after 0 steps (same seed => same initialisation as every run here)."""
    cfg = tiny_args(tmp_path / "init", num_iterations=1, checkpoint_every=100, **flags)
    from sg2im.training.build import build_networks
    from sg2im.training.start import Start
    from sg2im.data.build import build_vocab_and_datasets
    from sg2im.training.state import seed_everything

    seed_everything(cfg.optim.seed)
    vocab, _ = build_vocab_and_datasets(cfg.data, cfg.model, ("train",))
    nets, _ = build_networks(cfg, vocab, Start("fresh", None, ""), torch.device("cpu"))
    return {k: v.clone() for k, v in nets.model.state_dict().items()}


@pytest.mark.parametrize("name", list(FLAGS))
def test_flag_trains_moves_weights_saves_and_resumes_exactly(tmp_path, name):
    flags = FLAGS[name]
    for sub in ("full", "part", "init"):
        (tmp_path / sub).mkdir()
    full = train(tiny_args(tmp_path / "full", num_iterations=4, checkpoint_every=2, **flags))
    assert full["iterations"] == 4 and all(math.isfinite(v) for v in full["final_losses"].values()), full
    ckpt_path = tmp_path / "full" / "models" / "checkpoint_with_model.pt"
    saved = read_checkpoint(ckpt_path)
    assert all(saved["args"][k] == v for k, v in flags.items())  # recorded with the run
    assert not any(k.startswith("_orig_mod.") for k in saved["model_state"])  # plain keys, also when compiled
    start = _initial_weights(tmp_path, **flags)
    moved = [k for k, v in saved["model_state"].items() if v.is_floating_point() and not torch.equal(v, start[k])]
    assert moved, "no parameter of G changed"
    if name == "fp16":
        assert set(saved["amp_state"]) == {"g", "d_obj", "d_img"} and saved["amp_state"]["g"]["scale"] > 0
    model, _ = load_generator(ckpt_path)  # the round trip: weights-only, a working generator
    with torch.no_grad():
        imgs, *_ = model(torch.tensor([1, 2, 0]), torch.tensor([[0, 1, 1], [0, 0, 2], [1, 0, 2]]))
    assert imgs.shape == (1, 3, 16, 16) and torch.isfinite(imgs).all()
    # killed after 2 iterations (the checkpoint of t=2), resumed to 4: the same weights as the run without a stop
    part = tmp_path / "part"
    train(tiny_args(part, num_iterations=2, checkpoint_every=2, **flags))
    resumed = train(tiny_args(part, num_iterations=4, checkpoint_every=2, **flags))
    assert resumed["start"] == "resume"
    again = read_checkpoint(part / "models" / "checkpoint_with_model.pt")
    assert again["counters"]["t"] == 4
    if name == "workers":
        return  # worker processes draw their own random relationships: a resume is exact with 0 workers only
    for key, value in saved["model_state"].items():
        assert torch.equal(value, again["model_state"][key]), key


def test_precision_keeps_losses_in_fp32_and_scales_fp16_gradients():
    amp = Precision.build("bf16", torch.device("cpu"))
    layer = torch.nn.Linear(4, 1)
    with amp.autocast():
        out = layer(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16 and out.float().dtype == torch.float32
    fp16 = Precision.build("fp16", torch.device("cpu"))
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    before = layer.weight.detach().clone()
    fp16.update(opt, layer(torch.randn(2, 4)).sum() * float("inf"), "g")  # inf gradients: the step is skipped
    assert torch.equal(layer.weight, before) and fp16.scalers["g"].get_scale() < 65536.0
    with pytest.raises(ParamsError, match="precision"):
        Precision.build("fp8", torch.device("cpu"))


def test_an_unavailable_compile_backend_is_a_clear_error(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("Compiler: cc is not found")

    monkeypatch.setattr(torch, "compile", broken)
    with pytest.raises(ParamsError, match=r"--compile 0.*aot_eager"):
        check_compile_backend("inductor", torch.device("cpu"))
