"""Kill any stage anywhere, run it again, get the same result (RELIABILITY.md).

Every stage of the COCO model's chain (and both downloads from a local HTTP server in the official format)
runs as a subprocess the way DVC runs it, SIGKILLed just before its N-th file-system event, N drawn from a
seeded generator over the events an uninterrupted run makes (tests/stage_wrapper.py says what an event is:
between two events nothing another process can see changes, so N covers every moment that matters). After
each kill, nothing half-written may be visible under a final name; the rerun must then give the uninterrupted
run's outputs: byte for byte where the stage is deterministic, the same tensors for checkpoints, the same
values less times for metrics. A kill that does not land (the run finished first) fails the test.

The same runs also meet a full disk: the first file opened for writing from a seeded event on fails with ENOSPC,
and the stage must stop with a clear error naming the file (no traceback), no temp file left, nothing
half-written.

``SG2IM_KILLS=20 SG2IM_DISK_FULLS=10 pytest tests/test_kill_anywhere.py`` is the long mode (default: 5 kills
and 2 full disks per stage).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import torch
from PIL import Image

from helpers_official import coco_files, coco_urls, vg_files, vg_urls
from helpers_pipeline import make_project, project_env
from local_http_server import Behaviour, serve
from sg2im.pipeline import pipeline_outputs

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
WRAPPER = str(REPO / "tests" / "stage_wrapper.py")
KILLS = int(os.environ.get("SG2IM_KILLS", "5"))
DISK_FULLS = int(os.environ.get("SG2IM_DISK_FULLS", "2"))  # runs per stage whose n-th write meets a full disk
PROGRESSIVE = {"train"}  # writes its loss table, samples and checkpoints at every checkpoint, not only at the end
CHAIN = ["download_coco", "download_vg", "preprocess_vg", "train", "strip", "evaluate", "generate"]
# Values that measure the run, not its result: a rerun after a kill reports other times and session counts.
VOLATILE = ("seconds", "time", "_s", "per_s", "rate", "session", "mlflow", "start", "resumed", "date", "host",
            "elapsed", "duration", "throughput", "it_s", "cached")  # cached: built by the killed run


def outputs_of(root: Path, stage: str) -> list[Path]:
    return sorted(p for p, s in pipeline_outputs(root).items() if s == stage)


def files_under(root: Path, paths: list[Path]) -> dict[str, Path]:
    found = {}
    for path in paths:
        for f in ([path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []):
            if f.is_file():
                found[f.relative_to(root).as_posix()] = f
    return found


def is_temp(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.startswith((".tmp-", "tmp")) or ".partial" in name or name.endswith((".tmp", ".part"))


RESUMABLE = ".part"  # a partial download, kept on purpose: the next run resumes it


def temp_leftovers(root: Path, stage: str, allow: tuple[str, ...] = ()) -> list[str]:
    """Temp files and folders among the stage's outputs and beside them."""
    found = set()
    for output in outputs_of(root, stage):
        places = [output.parent] + ([output] if output.is_dir() else [])
        for place in places:
            entries = place.rglob("*") if place == output else place.iterdir() if place.is_dir() else []
            for entry in entries:
                rel = entry.relative_to(root).as_posix()
                if is_temp(rel) and not rel.endswith(allow):
                    found.add(rel)
    return sorted(found)


def _strip_volatile(value):
    if isinstance(value, dict):
        return {k: _strip_volatile(v) for k, v in value.items() if not any(w in k.lower() for w in VOLATILE)}
    if isinstance(value, list):
        return [_strip_volatile(v) for v in value]
    return value


def _tensors(obj, prefix: str = "") -> dict[str, object]:
    """Every tensor and plain value of a (nested) checkpoint, by key path, volatile keys left out."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not any(w in str(k).lower() for w in VOLATILE):
                out.update(_tensors(v, f"{prefix}/{k}"))
        return out
    if isinstance(obj, (list, tuple)):
        out = {}
        for i, v in enumerate(obj):
            out.update(_tensors(v, f"{prefix}/{i}"))
        return out
    if isinstance(obj, str) and obj.startswith("{"):  # a JSON record kept as text (a classifier's info)
        try:
            return _tensors(json.loads(obj), prefix)
        except json.JSONDecodeError:
            pass
    return {prefix: obj}


def readable(path: Path) -> None:
    """Open ``path`` as its kind: a half-written file raises."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        json.loads(path.read_text())
    elif suffix == ".pt":
        torch.load(path, map_location="cpu", weights_only=True)
    elif suffix in (".png", ".jpg", ".jpeg"):
        with Image.open(path) as im:
            im.load()
    elif suffix == ".h5":
        with h5py.File(path, "r") as f:
            f.visit(lambda name: None)
    elif path.stat().st_size == 0 and suffix not in (".txt", ".md", ".csv"):
        raise AssertionError(f"{path} is empty")


def progress_of(path: Path, final: Path) -> bool:
    """A complete file written on the way (at a checkpoint): a loss table whose rows begin the final one's; a
    picture or record that opens (``readable`` checks it)."""
    if path.suffix == ".csv":
        rows, last = path.read_text().splitlines(), final.read_text().splitlines()
        return 0 < len(rows) <= len(last) and rows[1:] == last[1:len(rows)] and rows[0] == last[0]
    return path.suffix in (".png", ".json", ".pt")


def same_result(a: Path, b: Path) -> bool:
    """Same bytes; or, for a checkpoint, the same tensors and values; for JSON, the same values less times."""
    if a.read_bytes() == b.read_bytes():
        return True
    if a.suffix == ".pt":
        ta, tb = (_tensors(torch.load(p, map_location="cpu", weights_only=True)) for p in (a, b))
        if ta.keys() != tb.keys():
            return False
        return all(torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y for x, y in
                   ((ta[k], tb[k]) for k in ta))
    if a.suffix == ".json":
        return _strip_volatile(json.loads(a.read_text())) == _strip_volatile(json.loads(b.read_text()))
    return False


def differences(a: Path, b: Path) -> list[str]:
    """What differs between two outputs (for the failure message)."""
    if a.suffix == ".pt":
        ta, tb = (_tensors(torch.load(p, map_location="cpu", weights_only=True)) for p in (a, b))
    elif a.suffix == ".json":
        ta, tb = (_tensors(_strip_volatile(json.loads(p.read_text()))) for p in (a, b))
    else:
        return [f"{a.stat().st_size} vs {b.stat().st_size} bytes"]
    out = [f"{k}: only in one" for k in sorted(ta.keys() ^ tb.keys())]
    for k in sorted(ta.keys() & tb.keys()):
        x, y = ta[k], tb[k]
        if not (torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y):
            out.append(f"{k}: {str(x)[:80]} vs {str(y)[:80]}")
    return out[:10]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Runner:
    """Stage runs in one project folder (``root``), forked from tests/stage_forkserver.py; ``reset`` copies a
    saved state of the project into that folder before a run (the runs always see the same paths)."""

    def __init__(self, root: Path, state: Path):
        self.root, self.logs = root, root.parent / "logs"
        self.logs.mkdir(exist_ok=True)
        shutil.copytree(state, root, symlinks=True)
        env = project_env(root)
        env.update({"SG2IM_TRACKING": "0", "OMP_NUM_THREADS": "1"})
        self.env = env
        self.server = subprocess.Popen([sys.executable, str(REPO / "tests" / "stage_forkserver.py")], cwd=root,
                                       env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.count = 0

    def reset(self, state: Path) -> None:
        """The folder's contents replaced by ``state``'s (the folder stays: it is the server's working directory)."""
        for entry in self.root.iterdir():
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        shutil.copytree(state, self.root, symlinks=True, dirs_exist_ok=True)

    def run(self, stage: str, flags: tuple[str, ...], kill_at: int = 0, count: Path | None = None,
            disk_full_at: int = 0, script: str = "") -> tuple[int, str]:
        """``python stages/<script or stage>.py FLAGS`` as DVC runs stage ``stage`` (DVC_STAGE set; tracking
        off): (exit code, log)."""
        self.count += 1
        log = self.logs / f"{self.count:03d}-{stage}.log"
        request = {"argv": [f"stages/{script or stage}.py", *flags], "log": str(log), "kill_at": kill_at,
                   "disk_full_at": disk_full_at, "count": str(count or ""), "env": {**self.env, "DVC_STAGE": stage, "DVC_ROOT": str(self.root)}}
        self.server.stdin.write(json.dumps(request) + "\n")
        self.server.stdin.flush()
        answer = self.server.stdout.readline()
        assert answer, "the fork server died"
        return json.loads(answer)["exit"], log.read_text()

    def close(self) -> None:
        self.server.stdin.close()
        self.server.wait(timeout=60)


def outputs_in(root: Path, stage: str) -> dict[str, Path]:
    return files_under(root, outputs_of(root, stage))


def save_outputs(files: dict[str, Path], root: Path, dest: Path) -> dict[str, Path]:
    saved = {}
    for rel, path in files.items():
        saved[rel] = dest / rel
        saved[rel].parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, saved[rel])
    return saved


class StageUnderTest:
    """One stage: its uninterrupted reference run from ``state`` (the project before it), then kills at seeded
    events, each from ``state`` again, each followed by a rerun."""

    def __init__(self, runner: Runner, state: Path, stage: str, flags: tuple[str, ...] = ()):
        self.runner, self.state, self.stage, self.flags = runner, state, stage, flags
        self.before = outputs_in(state, stage)  # e.g. a dataset card committed to git
        runner.reset(state)
        count = runner.logs / f"{stage}-events.txt"
        code, log = runner.run(stage, flags, count=count)
        assert code == 0, f"{stage}: the uninterrupted run failed\n{log[-4000:]}"
        counted = json.loads(count.read_text())
        self.events, self.opens = counted["events"], counted["opens"]
        assert self.events >= 2, f"{stage} made {self.events} file-system events: nothing to kill"
        self.expected = save_outputs(outputs_in(runner.root, stage), runner.root,
                                     runner.root.parent / f"reference-{stage}")
        assert self.expected, f"{stage} wrote none of its dvc.yaml outputs"

    def kill_and_rerun(self, n: int) -> None:
        runner, stage = self.runner, self.stage
        runner.reset(self.state)
        code, log = runner.run(stage, self.flags, kill_at=n)
        assert code == -signal.SIGKILL, (
            f"{stage}: the kill at event {n} of {self.events} did not land (exit {code}):\n{log[-3000:]}")
        self.check_visible(f"killed at event {n}")
        code, log = runner.run(stage, self.flags)
        assert code == 0, f"{stage}: the rerun after a kill at event {n} failed\n{log[-4000:]}"
        final = outputs_in(runner.root, stage)
        leftovers = temp_leftovers(runner.root, stage)
        assert not leftovers, f"{stage}: temp files left after the rerun: {leftovers}"
        assert final.keys() == self.expected.keys(), (
            f"{stage} after a kill at event {n}: files {sorted(final.keys() ^ self.expected.keys())} differ")
        for rel, path in final.items():
            assert same_result(path, self.expected[rel]), (
                f"{stage}: {rel} differs after a kill at event {n}: {differences(path, self.expected[rel])}")

    def check_visible(self, what: str) -> None:
        """Each output file now visible: the finished run's, the one there before, or (a stage that writes on the
        way) a complete one of a checkpoint; never half of one."""
        for rel, path in outputs_in(self.runner.root, self.stage).items():
            if is_temp(rel):
                continue
            assert rel in self.expected, f"{self.stage} {what}: {rel} is no output of an uninterrupted run"
            if same_result(path, self.expected[rel]) or (
                    rel in self.before and path.read_bytes() == self.before[rel].read_bytes()):
                continue
            assert self.stage in PROGRESSIVE, (
                f"{self.stage} {what}: {rel} is visible but is neither the finished run's nor the previous one")
            readable(path)
            assert progress_of(path, self.expected[rel]), f"{self.stage} {what}: {rel} is no checkpoint's"

    def disk_full_at(self, n: int) -> None:
        """The first write from event ``n`` on fails with ENOSPC: a clear error naming the file, no traceback,
        no temp file left, nothing half-written."""
        self.runner.reset(self.state)
        code, log = self.runner.run(self.stage, self.flags, disk_full_at=n)
        assert code not in (0, -signal.SIGKILL), f"{self.stage}: a full disk at event {n} was not noticed:\n{log[-3000:]}"
        assert "disk is full" in log and "Traceback" not in log, (
            f"{self.stage}: a full disk at event {n} gave no clear error:\n{log[-3000:]}")
        leftovers = temp_leftovers(self.runner.root, self.stage, allow=(RESUMABLE,))
        assert not leftovers, f"{self.stage}: a full disk at event {n} left temp files {leftovers}"
        self.check_visible(f"stopped by a full disk at event {n}")

    def kill_at_seeded_events(self, seed: int) -> list[int]:
        moments = sorted(random.Random(seed).sample(range(1, self.events + 1), min(KILLS, self.events)))
        for n in moments:
            self.kill_and_rerun(n)
        for n in sorted(random.Random(seed + 1).sample(self.opens, min(DISK_FULLS, len(self.opens)))):
            self.disk_full_at(n)
        return moments


class Chain:
    """The project state before each stage of CHAIN: each stage's reference outputs added to the last state."""

    def __init__(self, runner: Runner, first: Path):
        self.runner, self.state, self.done = runner, first, []

    def before(self, stage: str) -> Path:
        for earlier in CHAIN[:CHAIN.index(stage)]:
            if earlier not in self.done:
                self.runner.reset(self.state)
                code, log = self.runner.run(earlier, ())
                assert code == 0, f"{earlier} failed\n{log[-4000:]}"
                self.add(earlier, outputs_in(self.runner.root, earlier))
        return self.state

    def add(self, stage: str, outputs: dict[str, Path]) -> None:
        save_outputs(outputs, self.runner.root, self.state)
        self.done.append(stage)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    base = tmp_path_factory.mktemp("kill")
    first = make_project(base / "state")
    runner = Runner(base / "sg2im", first)
    yield Chain(runner, first)
    runner.close()


@pytest.mark.parametrize("stage", CHAIN)
def test_kill_anywhere_then_rerun_gives_the_same_outputs(chain, stage):
    under_test = StageUnderTest(chain.runner, chain.before(stage), stage)
    moments = under_test.kill_at_seeded_events(seed=CHAIN.index(stage) + 2026)
    print(f"{stage}: {len(moments)} kills at events {moments} of {under_test.events}")
    chain.add(stage, under_test.expected)


@pytest.mark.parametrize("stage,files,urls", [("download_coco", coco_files, coco_urls),
                                              ("download_vg", vg_files, vg_urls)])
def test_official_download_killed_anywhere(tmp_path, stage, files, urls):
    state = make_project(tmp_path / "state", config=None)
    runner = Runner(tmp_path / "sg2im", state)
    try:
        with serve(Behaviour(files=files(tmp_path))) as url:
            flags = ["--source", "official", "--min_free_gb", "0"]
            for key, value in urls(url).items():
                flags += [f"--{key}", value]
            StageUnderTest(runner, state, stage, tuple(flags)).kill_at_seeded_events(seed=7 + len(stage))
    finally:
        runner.close()


# --------------------------------------------------------------------------- corrupt inputs
def _truncate(rel: str):
    def corrupt(root: Path) -> None:
        data = (root / rel).read_bytes()
        (root / rel).write_bytes(data[: len(data) // 2])
    return corrupt


def _drop_h5_dataset(rel: str, key: str):
    def corrupt(root: Path) -> None:
        with h5py.File(root / rel, "a") as f:
            del f[key]
    return corrupt


def _short_vocab(root: Path) -> None:
    vocab = json.loads((root / "data/vg/vocab.json").read_text())
    vocab["object_idx_to_name"] = vocab["object_idx_to_name"][:3]
    (root / "data/vg/vocab.json").write_text(json.dumps(vocab))


def _wrong_shape(root: Path) -> None:
    ckpt = torch.load(root / "models/sg2im.pt", map_location="cpu", weights_only=True)
    key = next(k for k, v in ckpt["model_state"].items() if v.dim() == 2)
    ckpt["model_state"][key] = torch.zeros(3, 3)
    torch.save(ckpt, root / "models/sg2im.pt")


def _params_type(root: Path) -> None:
    text = (root / "params.yaml").read_text()
    (root / "params.yaml").write_text(text.replace("batch_size: 4", "batch_size: many", 1))


TRAIN_VG = ("train_vg", ("--section", "train_vg"), "train")
CORRUPTIONS = {  # what is broken -> (stage, flags, script), the corruption, what the error must say
    "truncated annotation JSON": (("train", (), ""), _truncate("data/coco/annotations/instances_train2017.json"),
                                  r"instances_train2017\.json: not valid JSON"),
    "HDF5 file cut short": (TRAIN_VG, _truncate("data/vg/train.h5"), r"train\.h5: not a readable HDF5 file"),
    "HDF5 dataset missing": (TRAIN_VG, _drop_h5_dataset("data/vg/train.h5", "object_boxes"),
                             r"train\.h5: missing dataset\(s\) \['object_boxes'\]"),
    "vocabulary of another run": (TRAIN_VG, _short_vocab, r"vocab\.json and the h5 files come from different"),
    "checkpoint truncated": (("strip", (), ""), _truncate("models/checkpoint_with_model.pt"),
                             r"checkpoint_with_model\.pt"),
    "tensor of the wrong shape": (("generate", (), ""), _wrong_shape, r"sg2im\.pt: shape mismatch"),
    "params.yaml value of the wrong type": (("train", (), ""), _params_type, r"batch_size.*many"),
}


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_a_corrupt_input_is_a_clear_error_and_nothing_is_written(chain, case):
    (stage, flags, script), corrupt, message = CORRUPTIONS[case]
    chain.runner.reset(chain.before("generate"))
    corrupt(chain.runner.root)
    before = _tree(chain.runner.root)
    code, log = chain.runner.run(stage, flags, script=script)
    assert code == 2 and "Traceback" not in log, f"{case}: exit {code}\n{log[-3000:]}"
    assert re.search(message, log), f"{case}: the error does not say {message!r}:\n{log[-3000:]}"
    after = _tree(chain.runner.root)
    assert after == before, f"{case}: files written or changed: {sorted(set(after.items()) ^ set(before.items()))}"


def test_evaluation_skips_and_names_an_unreadable_image(chain):
    """A truncated test image (replaced by rename, as a download would): evaluate skips it, says so, and lists
    it in metrics/evaluate.json (the model's training allowed a share of unreadable images)."""
    chain.runner.reset(chain.before("generate"))
    root = chain.runner.root
    stripped = torch.load(root / "models/sg2im.pt", map_location="cpu", weights_only=True)
    stripped["args"]["max_unreadable_fraction"] = 0.5
    torch.save(stripped, root / "models/sg2im.pt")
    victim = sorted((root / "data/coco/images/val2017").glob("*.jpg"))[-1]  # after the val split: a test image
    staged = victim.with_name(".staged")
    staged.write_bytes(victim.read_bytes()[:200])
    os.replace(staged, victim)
    code, log = chain.runner.run("evaluate", ())
    assert code == 0, log[-3000:]
    assert "test split: 1 unreadable images skipped" in log and victim.name in log, log[-3000:]
    recorded = json.loads((root / "metrics/evaluate.json").read_text())["protocol"]["unreadable_images"]
    assert list(recorded) == ["test"] and victim.name in recorded["test"][0]
