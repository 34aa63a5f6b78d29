"""Stage strip and the checkpoint helpers: stripped contents, original-keys round trip with
weights_only, atomic writes, parameter differences, the resumable sampler."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import torch

from sg2im import checkpoint as ck
from sg2im.config.loader import load_stage
from sg2im.config.strip import StripConfig
from sg2im.errors import DataError, ParamsError
from sg2im.model import build_generator, load_generator
from sg2im.strip import strip_all
from sg2im.training.identity import RunIdentity, differences
from sg2im.training.sampler import ResumableDistributedSampler
from sg2im.training.state import PLACEHOLDERS, RunState, rng_state, set_rng_state

VOCAB = {"object_idx_to_name": ["__image__", "sky", "sheep"], "object_name_to_idx": {"__image__": 0, "sky": 1, "sheep": 2},
         "pred_idx_to_name": ["__in_image__", "above"], "pred_name_to_idx": {"__in_image__": 0, "above": 1}}


@pytest.fixture(autouse=True)
def _local_store(monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def _tiny_checkpoint() -> dict:
    kwargs = {"vocab": VOCAB, "image_size": (8, 8), "embedding_dim": 8, "gconv_dim": 8, "gconv_hidden_dim": 8,
              "gconv_num_layers": 1, "refinement_dims": (8,), "mask_size": 4, "layout_noise_dim": 2}
    model = build_generator(kwargs)
    checkpoint = {"args": {"batch_size": 2, "image_size": (8, 8)}, "vocab": VOCAB, "model_kwargs": kwargs,
                  "d_obj_kwargs": {"arch": "C4-8-2"}, "d_img_kwargs": {"arch": "C4-8-2"}, **PLACEHOLDERS,
                  **RunState().to_checkpoint(1, 0), "d_obj_optim_state": None, "d_img_optim_state": None}
    losses = defaultdict(list)
    losses["total_loss"].append(np.float32(1.5))  # what the original stored: defaultdict, numpy scalars
    checkpoint.update(model_state=model.state_dict(), optim_state={"state": {}, "param_groups": []},
                      d_obj_state={"w": torch.ones(2)}, d_img_state={"w": torch.zeros(2)}, losses=losses,
                      losses_ts=[1], counters={"t": 1, "epoch": 1}, mlflow_run_id="abc",
                      rng_states=[rng_state(torch.device("cpu"))], val_samples=[{"gt_img": np.zeros((1, 3, 8, 8), np.uint8)}])
    return checkpoint


def test_pair_roundtrip_weights_only_and_original_keys(tmp_path):
    with_model, no_model = ck.save_checkpoint_pair(_tiny_checkpoint(), tmp_path / "run_with_model.pt",
                                                   tmp_path / "run_no_model.pt")
    assert with_model.name == "run_with_model.pt" and no_model.name == "run_no_model.pt"
    full = torch.load(with_model, weights_only=True)
    small = torch.load(no_model, weights_only=True)
    for key in ("args", "vocab", "model_kwargs", "d_obj_kwargs", "d_img_kwargs", "losses_ts", "losses", "d_losses",
                "checkpoint_ts", "train_batch_data", "train_samples", "train_iou", "val_batch_data", "val_samples",
                "val_losses", "val_iou", "norm_d", "norm_g", "counters", "model_state", "optim_state",
                "d_obj_state", "d_obj_optim_state", "d_img_state", "d_img_optim_state", "best_t",
                "model_best_state", "d_obj_best_state", "d_img_best_state"):
        assert key in full, key
    assert type(full["losses"]) is dict and full["losses"]["total_loss"] == [1.5]
    assert isinstance(full["val_samples"][0]["gt_img"], torch.Tensor)
    assert not set(ck.MODEL_KEYS) & set(small) and small["losses_ts"] == [1]
    assert not list(tmp_path.glob(".tmp-*"))


def test_rng_state_roundtrip():
    import random

    state = rng_state(torch.device("cpu"))
    expected = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(torch.load(_saved(state), weights_only=True), torch.device("cpu"))
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1]) and expected[2] == again[2]


def _saved(obj):
    import io

    buffer = io.BytesIO()
    torch.save(ck.to_plain(obj), buffer)
    buffer.seek(0)
    return buffer


def test_failed_write_leaves_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "c.pt"
    ck.atomic_torch_save({"t": 1}, target)

    def broken_save(obj, handle):
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(ck.torch, "save", broken_save)
    with pytest.raises(OSError):
        ck.atomic_torch_save({"t": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True) == {"t": 1}
    assert not list(tmp_path.glob(".tmp-*"))


def test_identity_differences_one_line_per_kind():
    saved = RunIdentity({"learning_rate": 1e-4, "image_size": [64, 64], "world_size": 1},
                        {"sg2im/model/crn.py": "a", "sg2im/model/layout.py": "b"}, {}).to_dict()
    same = RunIdentity({"learning_rate": 1e-4, "image_size": [64, 64], "world_size": 1},
                       {"sg2im/model/crn.py": "a", "sg2im/model/layout.py": "b"}, {})
    assert differences(saved, same) == []
    other = RunIdentity({"learning_rate": 5e-4, "image_size": [64, 64], "world_size": 2},
                        {"sg2im/model/crn.py": "c", "sg2im/new.py": "d"}, {})
    assert differences(saved, other) == [
        "params: learning_rate 0.0001 -> 0.0005", "params: world_size 1 -> 2", "code: sg2im/model/crn.py changed",
        "code: sg2im/model/layout.py no longer used", "code: sg2im/new.py added"]
    assert differences(None, same)[0].startswith("identity: the checkpoint records no run identity")
    # a setting on one side only (a newer or older version of the code): a difference, named both ways
    newer = RunIdentity({"learning_rate": 1e-4, "image_size": [64, 64], "world_size": 1, "lr_decay": "none"},
                        {"sg2im/model/crn.py": "a", "sg2im/model/layout.py": "b"}, {})
    assert differences(saved, newer) == ["params: lr_decay <absent> -> none"]
    assert differences(newer.to_dict(), same) == ["params: lr_decay none -> <absent>"]
    assert same.digests() != other.digests() and same.digests() == RunIdentity(**{k: v for k, v in saved.items()
                                                                                   if k != "digests"}).digests()


def test_sampler_resume_position_and_shards():
    data = list(range(10))
    full = list(ResumableDistributedSampler(data, seed=3, batch_size=4))
    part = ResumableDistributedSampler(data, seed=3, batch_size=4)
    part.skip_batches(2)
    assert list(part) == full[8:] and len(part) == 2
    part.set_epoch(1)
    part.skip_batches(0)
    assert list(part) != full and sorted(part) == data
    r0 = list(ResumableDistributedSampler(data, num_replicas=2, rank=0, seed=3, batch_size=2))
    r1 = list(ResumableDistributedSampler(data, num_replicas=2, rank=1, seed=3, batch_size=2))
    assert sorted(r0 + r1) == data


def _strip(*argv: str) -> list[dict]:
    """What stages/strip.py does with these flags (no params file)."""
    return strip_all(load_stage("strip", StripConfig, [*argv, "--params", "/nonexistent/none.yaml"]).config)


def test_strip_stage_keeps_what_generation_needs(tmp_path):
    src = tmp_path / "ck_with_model.pt"
    ck.atomic_torch_save(ck.to_plain(_tiny_checkpoint()), src)
    out = tmp_path / "sg2im.pt"
    _strip("--input_checkpoint", str(src), "--output_checkpoint", str(out), "--keep_discriminators", "1")
    full = torch.load(out, weights_only=True)
    assert set(full) == {"args", "model_kwargs", "model_state", "mlflow_run_id", "counters", "d_obj_state", "d_obj_kwargs",
                         "d_img_state", "d_img_kwargs"}
    assert full["model_kwargs"]["vocab"] == VOCAB and full["mlflow_run_id"] == "abc"
    source = torch.load(src, weights_only=True)  # each discriminator under its own name, with its own weights
    for name in ("model_state", "d_obj_state", "d_img_state"):
        assert full[name].keys() == source[name].keys()
        assert all(torch.equal(full[name][k], source[name][k]) for k in source[name]), name
    assert not torch.equal(source["d_obj_state"]["w"], source["d_img_state"]["w"])  # a swap would show
    model, _ = load_generator(out)
    with torch.no_grad():
        imgs = model(torch.tensor([1, 2, 0]), torch.tensor([[0, 1, 1], [0, 0, 2], [1, 0, 2]]))[0]
    assert imgs.shape == (1, 3, 8, 8)

    small = tmp_path / "g.pt"
    _strip("--input_checkpoint", str(src), "--output_checkpoint", str(small), "--keep_discriminators", "0")
    assert set(torch.load(small, weights_only=True)) == {"args", "model_kwargs", "model_state", "mlflow_run_id", "counters"}

    # --input_dir/--output_dir strip every .pt of a folder
    (tmp_path / "in").mkdir()
    ck.atomic_torch_save(ck.to_plain(_tiny_checkpoint()), tmp_path / "in" / "a.pt")
    ck.atomic_torch_save(ck.to_plain(_tiny_checkpoint()), tmp_path / "in" / "b.pt")
    stripped = _strip("--input_dir", str(tmp_path / "in"), "--output_dir", str(tmp_path / "out"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.pt", "b.pt"]
    assert [set(d) for d in stripped] == [set(torch.load(tmp_path / "out" / "a.pt", weights_only=True))] * 2


def test_strip_errors_name_the_fix(tmp_path):
    no_model = tmp_path / "x_no_model.pt"
    ck.atomic_torch_save({"args": {}, "losses": {}}, no_model)
    with pytest.raises(DataError, match="_with_model.pt"):
        _strip("--input_checkpoint", str(no_model), "--output_checkpoint", str(tmp_path / "o.pt"))
    with pytest.raises(ParamsError, match="both input_dir and output_dir"):
        _strip("--input_dir", str(tmp_path))
    assert not (tmp_path / "o.pt").exists()


def test_strip_logs_the_stripped_file_to_the_checkpoint_s_own_run(tmp_path, capsys):
    """The stripped file lands in the training run named by the checkpoint (artifact checkpoints/<name>), that
    run tagged as stripped; a checkpoint without a run is said so and logged nowhere; --track 0 logs nothing."""
    from mlflow import MlflowClient

    from sg2im.tracking import Tracker, tracking_uri

    train = Tracker.start("train", params={"dataset": "coco"}, tags={})
    train.end()
    checkpoint = _tiny_checkpoint()
    checkpoint["mlflow_run_id"] = train.run_id
    src = tmp_path / "ck_with_model.pt"
    ck.atomic_torch_save(ck.to_plain(checkpoint), src)
    _strip("--input_checkpoint", str(src), "--output_checkpoint", str(tmp_path / "sg2im.pt"))
    client = MlflowClient(tracking_uri=tracking_uri())
    assert [a.path for a in client.list_artifacts(train.run_id, "checkpoints")] == ["checkpoints/sg2im.pt"]
    assert f"sg2im.pt logged to run {train.run_id} (artifact checkpoints/sg2im.pt)" in capsys.readouterr().out
    assert len(client.search_runs([train.experiment_id])) == 1  # no run of its own

    checkpoint["mlflow_run_id"] = "0" * 32  # a run of another store: the stripped file gets a run of its own
    ck.atomic_torch_save(ck.to_plain(checkpoint), src)
    _strip("--input_checkpoint", str(src), "--output_checkpoint", str(tmp_path / "moved.pt"))
    own = [r for r in client.search_runs([train.experiment_id]) if r.info.run_id != train.run_id]
    assert len(own) == 1 and own[0].info.run_name == "strip"
    assert own[0].data.tags["stage"] == "strip" and own[0].data.tags["sg2im.of_run"] == "0" * 32
    assert [a.path for a in client.list_artifacts(own[0].info.run_id, "checkpoints")] == ["checkpoints/moved.pt"]

    _strip("--input_checkpoint", str(src), "--output_checkpoint", str(tmp_path / "untracked.pt"), "--track", "0")
    assert [a.path for a in client.list_artifacts(train.run_id, "checkpoints")] == ["checkpoints/sg2im.pt"]
    checkpoint["mlflow_run_id"] = None
    ck.atomic_torch_save(ck.to_plain(checkpoint), src)
    _strip("--input_checkpoint", str(src), "--output_checkpoint", str(tmp_path / "runless.pt"))
    assert "the checkpoint names no MLflow run; the stripped file is not logged" in capsys.readouterr().out
    assert len(client.search_runs([train.experiment_id])) == 2


def test_an_input_dir_without_checkpoints_and_an_untrusted_original_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ParamsError, match=rf"strip: {tmp_path / 'empty'} holds no \.pt files\."):
        _strip("--input_dir", str(tmp_path / "empty"), "--output_dir", str(tmp_path / "out"))
    pickled = tmp_path / "orig_with_model.pt"  # a pickle that weights_only refuses (a numpy scalar in the losses)
    torch.save(_tiny_checkpoint(), pickled)
    with pytest.raises(DataError, match="trust"):
        _strip("--input_checkpoint", str(pickled), "--output_checkpoint", str(tmp_path / "o.pt"), "--track", "0")
    _strip("--input_checkpoint", str(pickled), "--output_checkpoint", str(tmp_path / "o.pt"), "--track", "0",
           "--trust_checkpoint", "1")
    assert torch.load(tmp_path / "o.pt", weights_only=True)["counters"] == {"t": 1, "epoch": 1}
