"""The train stage as a real process: SIGKILL at a random moment and during a checkpoint write,
then resume; torchrun with 2 CPU processes (gloo); the command line."""
from __future__ import annotations

import json
import random
import signal
import subprocess
import time

import pytest

from helpers_train import REPO, PYTHON, run_train_stage, stage_env, write_params
from sg2im.checkpoint import read_checkpoint as load_checkpoint


def _history_ok(ck: dict, n: int) -> None:
    ts = ck["losses_ts"]
    assert ts == sorted(set(ts)), f"losses_ts not strictly increasing: {ts}"
    assert ts[-1] == n and ck["counters"]["t"] == n
    assert all(len(v) == len(ts) for v in ck["losses"].values())
    assert ck["checkpoint_ts"] == sorted(set(ck["checkpoint_ts"]))


@pytest.mark.slow
def test_sigkill_at_random_moment_then_resume(tmp_path):
    n = 40
    write_params(tmp_path, num_iterations=n, checkpoint_every=2, print_every=1)
    moment = random.Random(20261202).uniform(0.0, 1.0)  # seeded: mid-step, mid-check or mid-save
    env = stage_env(tmp_path, SG2IM_TRACKING=1)
    ckpt = tmp_path / "models" / "checkpoint_with_model.pt"
    proc = subprocess.Popen([PYTHON, str(REPO / "stages" / "train.py")], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 90
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ckpt.exists(), "no checkpoint was written"
    time.sleep(moment)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    first = load_checkpoint(ckpt)
    t_killed = first["counters"]["t"]
    run_id = first["mlflow_run_id"]
    assert 2 <= t_killed < n and run_id, f"killed at t={t_killed}: the kill must come before the end to test resume"

    done = run_train_stage(tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    final = load_checkpoint(ckpt)
    _history_ok(final, n)
    metrics = json.loads((tmp_path / "metrics" / "train.json").read_text())
    assert metrics["iterations"] == n and metrics["mlflow_run_id"] == run_id  # the same MLflow run goes on
    assert "resuming" in done.stdout and metrics["iterations_this_session"] == n - t_killed
    assert not list((tmp_path / "models").glob(".tmp-*"))


@pytest.mark.slow
def test_sigkill_during_checkpoint_write_keeps_last_good_checkpoint(tmp_path):
    write_params(tmp_path, num_iterations=6, checkpoint_every=2, print_every=1)
    ckpt = tmp_path / "models" / "checkpoint_with_model.pt"
    # saves 1-2 are the t=2 pair; the 3rd save (t=4 _with_model) dies between write and rename
    killed = subprocess.run([PYTHON, str(REPO / "tests" / "stage_wrapper.py"), "kill-in-save", "3", "stages/train.py"],
                            cwd=tmp_path, env=stage_env(tmp_path, SG2IM_TRACKING=0), capture_output=True, text=True,
                            timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert list((tmp_path / "models").glob(".tmp-*")), "the half-finished temp file should be left behind"
    last_good = load_checkpoint(ckpt)
    assert last_good["counters"]["t"] == 2 and last_good["losses_ts"] == [1, 2]

    done = run_train_stage(tmp_path, env=stage_env(tmp_path, SG2IM_TRACKING=0))
    assert done.returncode == 0, done.stderr[-3000:]
    _history_ok(load_checkpoint(ckpt), 6)
    assert load_checkpoint(ckpt)["losses_ts"] == [1, 2, 3, 4, 5, 6]
    assert not list((tmp_path / "models").glob(".tmp-*")), "stale temp files are cleaned up on restart"


@pytest.mark.slow
def test_torchrun_two_cpu_processes_identical_weights(tmp_path):
    write_params(tmp_path, num_iterations=3, checkpoint_every=100, batch_size=2, print_every=1)
    hashes = tmp_path / "hashes"
    # `python stages/train.py --nproc 2` launches the two workers itself (as the pipeline does)
    env = stage_env(tmp_path, SG2IM_TRACKING=0, RANK_HASH_DIR=hashes, PYTHONPATH=REPO / "tests" / "rank_hash_site")
    cmd = [PYTHON, str(REPO / "stages" / "train.py"), "--nproc", "2"]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    rank0 = (hashes / "rank0.txt").read_text().split()
    rank1 = (hashes / "rank1.txt").read_text().split()
    assert rank0 == rank1, "ranks hold different weights"
    metrics = json.loads((tmp_path / "metrics" / "train.json").read_text())
    assert metrics["world_size"] == 2 and metrics["effective_batch_size"] == 4 and metrics["iterations"] == 3
    assert "effective batch 4" in done.stdout
    ck = load_checkpoint(tmp_path / "models" / "checkpoint_with_model.pt")
    assert len(ck["rng_states"]) == 2 and ck["losses_ts"] == [1, 2, 3]
    assert not any(k.startswith("module.") for k in ck["model_state"])


def test_cli_flags_override_params_and_help(tmp_path):
    write_params(tmp_path)
    shown = subprocess.run([PYTHON, str(REPO / "stages" / "train.py"), "--help"], cwd=tmp_path,
                           env=stage_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0
    for flag in ("--d_obj_arch", "--eval_mode_after", "--restore_from_checkpoint", "--use_boxes_pred_after"):
        assert flag in shown.stdout
    bad = run_train_stage(tmp_path, "--refinement_network_dims", "16,8,4,2,1", env=stage_env(tmp_path, SG2IM_TRACKING=0))
    assert bad.returncode == 2 and "image_size" in bad.stderr and "Traceback" not in bad.stderr
