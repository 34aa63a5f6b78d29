"""The benchmarks run (tiny counts, on CPU): their lines are printed, not timed here."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_gpu_runs_on_cpu_with_small_counts():
    out = subprocess.run([sys.executable, str(REPO / "bench" / "bench_gpu.py"), "--device", "cpu", "--configs", "coco64",
                          "--precisions", "fp32,bf16", "--batch_size", "2", "--iters", "1", "--warmup", "0",
                          "--workers", "0,1", "--loader_batches", "2", "--loader_images", "8"],
                         capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    steps = [line for line in lines if line.startswith("coco64 batch 2 64x64")]
    assert len(steps) == 2 and all("it/s" in s and "TFLOP/s" in s and "MFU" in s for s in steps), out.stdout
    gflop = [float(s.split("GFLOP/it")[0].split()[-1]) for s in steps]
    assert gflop[0] > 1 and abs(gflop[0] - gflop[1]) < 1e-6 * gflop[0]  # same work counted in both precisions
    assert sum("data loader" in line and "items/s" in line for line in lines) == 2
