"""The training loop in-process on the real COCO fixture: exact length, exact resume, NaN guard,
eval switch, weight clipping, the resume guard, outputs."""
from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from helpers_train import tiny_args
from sg2im.checkpoint import read_checkpoint as load_checkpoint
from sg2im.training.loop import train


@pytest.fixture(autouse=True)
def _no_tracking(monkeypatch):
    monkeypatch.setenv("SG2IM_TRACKING", "0")
    for key in ("DVC_EXP_NAME", "DVC_STAGE", "RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)


def _ckpt(tmp_path):
    return load_checkpoint(tmp_path / "models" / "checkpoint_with_model.pt")


def test_exactly_num_iterations_outputs_and_history(tmp_path, capsys):
    # 12 training images, batch 4: 3 batches per epoch; 7 iterations end mid-epoch (the original overshot).
    summary = train(tiny_args(tmp_path, num_iterations=7, timing=1))
    ck = _ckpt(tmp_path)
    assert ck["counters"] == {"t": 7, "epoch": 3}
    assert ck["losses_ts"] == list(range(1, 8))
    assert ck["checkpoint_ts"] == [3, 6, 7]
    assert set(ck["losses"]) == {"L1_pixel_loss", "bbox_pred", "ac_loss", "g_gan_obj_loss", "g_gan_img_loss", "total_loss"}
    assert set(ck["d_losses"]) == {"d_obj_gan_loss", "d_ac_loss_real", "d_ac_loss_fake", "d_img_gan_loss"}
    # total_loss is the sum of the weighted terms
    for i in range(7):
        parts = sum(ck["losses"][k][i] for k in ck["losses"] if k != "total_loss")
        assert ck["losses"]["total_loss"][i] == pytest.approx(parts, rel=1e-5)
    assert len(ck["val_samples"]) == 3 and set(ck["val_samples"][-1]) == {
        "gt_img", "gt_box_gt_mask", "gt_box_pred_mask", "pred_box_pred_mask"}
    assert ck["val_samples"][-1]["gt_img"].dtype == torch.uint8
    assert 0.0 <= ck["val_iou"][-1] <= 1.0 and 0.0 <= ck["val_iou_no_image"][-1] <= 1.0
    metrics = json.loads((tmp_path / "metrics" / "train.json").read_text())
    assert metrics["iterations"] == 7 and metrics["nan_skipped"] == 0 and metrics["mlflow_run_id"] is None
    assert metrics == summary
    rows = list(csv.DictReader(open(tmp_path / "plots" / "train_losses.csv")))
    assert [int(r["t"]) for r in rows] == list(range(1, 8))
    assert float(rows[-1]["total_loss"]) == pytest.approx(ck["losses"]["total_loss"][-1], rel=1e-5)
    assert (tmp_path / "plots" / "train_losses.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "train_samples.png").stat().st_size > 100
    out = capsys.readouterr().out
    assert "timing: G forward" in out and "D_obj step" in out and "D_img step" in out


def test_resume_is_exact(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    full.mkdir(), part.mkdir()
    train(tiny_args(full, num_iterations=5, checkpoint_every=2))
    # the interrupted run: stops at t=3 (end-of-run check + save), then continues to 5
    train(tiny_args(part, num_iterations=3, checkpoint_every=2))
    summary = train(tiny_args(part, num_iterations=5, checkpoint_every=2))
    assert summary["start"] == "resume" and summary["iterations_this_session"] == 2
    a, b = _ckpt(full), _ckpt(part)
    assert a["losses_ts"] == b["losses_ts"] == [1, 2, 3, 4, 5]
    assert a["losses"] == b["losses"] and a["d_losses"] == b["d_losses"]
    for key in ("model_state", "d_obj_state", "d_img_state"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs after resume"


def test_nan_guard_skips_and_counts(tmp_path):
    args = tiny_args(tmp_path, num_iterations=3, l1_pixel_loss_weight=float("nan"), checkpoint_every=100)
    summary = train(args)
    ck = _ckpt(tmp_path)
    assert summary["nan_skipped"] == 3 and ck["nan_skipped"] == 3
    assert ck["counters"]["t"] == 3
    assert ck["optim_state"]["state"] == {}  # no G update ever happened
    assert ck["d_obj_optim_state"]["state"] == {} and ck["d_img_optim_state"]["state"] == {}


def test_eval_switch_fresh_optimiser_and_weight_clipping(tmp_path):
    args = tiny_args(tmp_path, num_iterations=4, eval_mode_after=2, d_clip=0.01, gan_loss_type="wgan",
                     checkpoint_every=100)
    train(args)
    ck = _ckpt(tmp_path)
    g_steps = {int(s["step"]) for s in ck["optim_state"]["state"].values()}
    d_steps = {int(s["step"]) for s in ck["d_obj_optim_state"]["state"].values()}
    assert g_steps == {2}  # fresh Adam at t=2: steps 3 and 4 only
    assert d_steps == {4}
    for key in ("d_obj_state", "d_img_state"):
        weights = [v for k, v in ck[key].items() if k.endswith("weight") or k.endswith("bias")]
        assert max(float(w.abs().max()) for w in weights) <= 0.01 + 1e-7


def test_another_identity_starts_fresh_and_says_what_differed(tmp_path, monkeypatch, capsys):
    train(tiny_args(tmp_path, num_iterations=2, checkpoint_every=100))
    capsys.readouterr()
    # by hand or by DVC alike: a checkpoint of other parameters is not resumed; the run starts afresh, one line
    # per difference, and the old checkpoint is replaced by the new run's
    summary = train(tiny_args(tmp_path, num_iterations=3, learning_rate=1e-3, checkpoint_every=100))
    out = capsys.readouterr().out
    assert summary["start"] == "fresh" and summary["iterations_this_session"] == 3
    assert "params: learning_rate 0.0005 -> 0.001" in out and "checkpoint_with_model.pt is not resumed" in out
    assert _ckpt(tmp_path)["args"]["learning_rate"] == 1e-3 and _ckpt(tmp_path)["counters"]["t"] == 3
    monkeypatch.chdir(tmp_path)  # DVC runs a stage in its project's root (here: one without a dvc.yaml)
    monkeypatch.setenv("DVC_STAGE", "train")
    monkeypatch.setenv("DVC_EXP_NAME", "exp-test")
    summary = train(tiny_args(tmp_path, num_iterations=3, learning_rate=2e-3, checkpoint_every=100))
    assert summary["start"] == "fresh" and _ckpt(tmp_path)["args"]["learning_rate"] == 2e-3
    assert "dvc repro / dvc exp run" in capsys.readouterr().out
    monkeypatch.delenv("DVC_EXP_NAME")
    monkeypatch.delenv("DVC_STAGE")
    # a setting that does not shape the run (identity=False) keeps the identity: resumed
    summary = train(tiny_args(tmp_path, num_iterations=4, learning_rate=2e-3, checkpoint_every=100, print_every=2))
    assert summary["start"] == "resume" and summary["iterations_this_session"] == 1
    # restore_from_checkpoint 0 always starts fresh
    summary = train(tiny_args(tmp_path, num_iterations=2, restore_from_checkpoint=0, checkpoint_every=100))
    assert summary["start"] == "fresh" and _ckpt(tmp_path)["counters"]["t"] == 2


def test_a_checkpoint_without_identity_is_reported_and_kept_until_replaced(tmp_path, capsys):
    import torch

    train(tiny_args(tmp_path, num_iterations=2, checkpoint_every=100))
    path = tmp_path / "models" / "checkpoint_with_model.pt"
    old = _ckpt(tmp_path)
    del old["identity"]
    torch.save(old, path)
    capsys.readouterr()
    summary = train(tiny_args(tmp_path, num_iterations=2, checkpoint_every=100))
    out = capsys.readouterr().out
    assert summary["start"] == "fresh" and "records no run identity" in out and str(path) in out
    assert "identity" in _ckpt(tmp_path)  # replaced only by the new run's checkpoint
    path.write_bytes(b"truncated")  # an unreadable one: reported, fresh run
    summary = train(tiny_args(tmp_path, num_iterations=2, checkpoint_every=100))
    assert summary["start"] == "fresh" and "unreadable" in capsys.readouterr().out


def test_a_finished_checkpoint_resumed_writes_every_output_again(tmp_path):
    train(tiny_args(tmp_path, num_iterations=3, checkpoint_every=100))
    before = _ckpt(tmp_path)
    first_identity = json.loads((tmp_path / "metrics/train.json").read_text())["identity"]
    for name in ("metrics/train.json", "plots/train_losses.csv", "plots/train_losses.png", "plots/train_samples.png"):
        (tmp_path / name).unlink()
    summary = train(tiny_args(tmp_path, num_iterations=3, checkpoint_every=100))
    assert summary["start"] == "resume" and summary["iterations_this_session"] == 0 and summary["iterations"] == 3
    for name in ("metrics/train.json", "plots/train_losses.csv", "plots/train_losses.png", "plots/train_samples.png"):
        assert (tmp_path / name).stat().st_size > 50, name
    # the same run on the same data: the same identity digests (the data's content hash carried over)
    assert json.loads((tmp_path / "metrics/train.json").read_text())["identity"] == first_identity
    after = _ckpt(tmp_path)
    assert after["losses_ts"] == before["losses_ts"] and after["counters"] == before["counters"]
    assert all(torch.equal(after["model_state"][k], v) for k, v in before["model_state"].items())


def test_changed_data_starts_fresh_and_a_touched_file_does_not(tmp_path, capsys):
    import os
    import shutil

    from helpers_train import FIXTURE

    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data)
    files = {"coco_train_instances_json": str(data / "annotations" / "instances_train2017.json"),
             "coco_val_instances_json": str(data / "annotations" / "instances_train2017.json")}
    train(tiny_args(tmp_path, num_iterations=2, checkpoint_every=100, **files))
    ann = data / "annotations" / "instances_train2017.json"
    os.utime(ann, (1e9, 1e9))  # new modification time, same bytes: the same run
    assert train(tiny_args(tmp_path, num_iterations=3, checkpoint_every=100, **files))["start"] == "resume"
    ann.write_text(ann.read_text().replace('"iscrowd": 0', '"iscrowd":0'))  # other bytes
    capsys.readouterr()
    assert train(tiny_args(tmp_path, num_iterations=3, checkpoint_every=100, **files))["start"] == "fresh"
    assert f"data: {ann} changed" in capsys.readouterr().out


def test_checkpoint_start_from_loads_generator_only(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir(), dst.mkdir()
    train(tiny_args(src, num_iterations=2, checkpoint_every=100))
    source = str(src / "models" / "checkpoint_with_model.pt")
    # the generator comes from the checkpoint's model_kwargs (as the original), not from this run's G flags
    summary = train(tiny_args(dst, num_iterations=1, checkpoint_start_from=source, checkpoint_every=100,
                              learning_rate=0.0, gconv_dim=8, embedding_dim=8))
    assert summary["start"] == "start_from"
    a, b = load_checkpoint(source), _ckpt(dst)
    assert b["counters"]["t"] == 1 and b["losses_ts"] == [1]
    assert b["model_kwargs"]["gconv_dim"] == 16 and b["model_kwargs"]["embedding_dim"] == 16
    for name, tensor in a["model_state"].items():
        if tensor.dtype.is_floating_point and "running" not in name:
            assert torch.equal(tensor, b["model_state"][name]), name  # lr 0: weights exactly as loaded
    assert not all(torch.equal(a["d_img_state"][k], b["d_img_state"][k]) for k in a["d_img_state"]
                   if a["d_img_state"][k].dtype.is_floating_point)  # fresh discriminators
    # killed and restarted with the same parameters, it resumes its own checkpoint (not the source again)
    summary = train(tiny_args(dst, num_iterations=2, checkpoint_start_from=source, checkpoint_every=100,
                              learning_rate=0.0, gconv_dim=8, embedding_dim=8))
    assert summary["start"] == "resume" and _ckpt(dst)["losses_ts"] == [1, 2]


def test_unreachable_tracking_server_training_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SG2IM_TRACKING", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens on the discard port
    summary = train(tiny_args(tmp_path, num_iterations=2, checkpoint_every=100))
    assert summary["iterations"] == 2 and summary["mlflow_run_id"] is None
    assert "training goes on WITHOUT MLflow" in capsys.readouterr().err


def test_cosine_decay_sets_each_iterations_rate_and_fixes_the_horizon(tmp_path, capsys):
    from sg2im.training.step import learning_rate_at

    assert learning_rate_at(1, 1e-3, 4, "cosine") == 1e-3 and learning_rate_at(3, 1e-3, 4, "none") == 1e-3
    assert learning_rate_at(3, 1e-3, 4, "cosine") == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi / 2)))
    train(tiny_args(tmp_path, num_iterations=4, lr_decay="cosine", checkpoint_every=100))
    ck = _ckpt(tmp_path)
    last = learning_rate_at(4, 5e-4, 4, "cosine")  # tiny_args: learning_rate 5e-4
    for key in ("optim_state", "d_obj_optim_state", "d_img_optim_state"):
        assert ck[key]["param_groups"][0]["lr"] == pytest.approx(last), key
    assert ck["identity"]["params"]["num_iterations"] == 4  # with a decay, the horizon is part of the run
    capsys.readouterr()
    summary = train(tiny_args(tmp_path, num_iterations=6, lr_decay="cosine", checkpoint_every=100))
    assert summary["start"] == "fresh" and "num_iterations" in capsys.readouterr().out


def test_an_unreadable_image_is_skipped_and_named_in_the_log_and_metrics(tmp_path, capsys):
    import shutil

    from helpers_train import FIXTURE

    images = tmp_path / "images"
    shutil.copytree(FIXTURE / "images" / "train2017", images)
    data = (images / "000000000025.jpg").read_bytes()
    (images / "000000000025.jpg").write_bytes(data[: len(data) // 4])  # truncated
    summary = train(tiny_args(tmp_path, num_iterations=1, checkpoint_every=100, cache_dir=str(tmp_path / "cache"),
                              coco_train_image_dir=str(images), coco_val_image_dir=str(images),
                              max_unreadable_fraction=0.3))  # val: 1 of its 4 images
    out = capsys.readouterr().out
    assert "WARNING: train split: 1 unreadable images skipped:" in out and "000000000025.jpg" in out
    recorded = json.loads((tmp_path / "metrics/train.json").read_text())["unreadable_images"]
    assert set(recorded) == {"train", "val"} and all("000000000025.jpg" in v[0] for v in recorded.values())
    assert summary["iterations"] == 1


def test_a_checkpoint_past_num_iterations_is_not_resumed(tmp_path, capsys):
    """The resume guard at its boundary: a checkpoint at t = num_iterations resumes (outputs written again,
    tested above); one at t = num_iterations + 1 is another run: training starts fresh and says why."""
    train(tiny_args(tmp_path, num_iterations=3, checkpoint_every=100))
    capsys.readouterr()
    summary = train(tiny_args(tmp_path, num_iterations=2, checkpoint_every=100))
    out = capsys.readouterr().out
    assert summary["start"] == "fresh" and summary["iterations"] == 2
    assert "params: num_iterations 2, but the checkpoint is already at t=3" in out
    assert _ckpt(tmp_path)["counters"]["t"] == 2
