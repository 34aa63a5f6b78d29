"""A training run's identity (sg2im/training/identity.py): what makes a checkpoint resumable, piece by piece."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sg2im.config.loader import load_stage
from sg2im.config.train import TrainConfig
from sg2im.pipeline import REPO_ROOT, import_closure
from sg2im.training.identity import (RunIdentity, content_hash, current_identity, differences, git_state,
                                     stat_fingerprint, trajectory_params)


def _config(*flags: str) -> TrainConfig:
    return load_stage("train", TrainConfig, ["--params", str(REPO_ROOT / "params.yaml"), *flags]).config


def test_stat_fingerprint_of_a_file_a_folder_and_nothing(tmp_path):
    f = tmp_path / "a.json"
    f.write_text("12345")
    one = stat_fingerprint(f)
    assert one["kind"] == "file" and one["bytes"] == 5
    os.utime(f, ns=(1, 10**18))  # only the modification time changes
    assert stat_fingerprint(f)["stat"] != one["stat"] and stat_fingerprint(f)["bytes"] == 5
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jpg").write_bytes(b"xy")
    folder = stat_fingerprint(tmp_path)
    assert (folder["kind"], folder["files"], folder["bytes"]) == ("dir", 2, 7)
    (tmp_path / "sub" / "b.jpg").rename(tmp_path / "sub" / "c.jpg")  # a rename alone changes the folder's stat
    assert stat_fingerprint(tmp_path)["stat"] != folder["stat"]
    assert stat_fingerprint(tmp_path / "nothing") == {"kind": "missing"}


def test_content_hash_of_a_file_and_of_a_folder_by_names_and_bytes(tmp_path):
    import hashlib

    f = tmp_path / "x" / "a.txt"
    f.parent.mkdir()
    f.write_bytes(b"hello")
    assert content_hash(f) == hashlib.sha256(b"hello").hexdigest()
    folder = content_hash(tmp_path / "x")
    want = hashlib.sha256(b"a.txt\0" + hashlib.sha256(b"hello").hexdigest().encode()).hexdigest()
    assert folder == want
    f.rename(f.with_name("b.txt"))
    assert content_hash(tmp_path / "x") != folder  # same bytes under another name
    assert content_hash(tmp_path / "missing") is None
    big = tmp_path / "big.bin"  # more than one read chunk (1 MiB)
    big.write_bytes(b"z" * (3 << 19))
    assert content_hash(big) == hashlib.sha256(b"z" * (3 << 19)).hexdigest()


def test_trajectory_params_leave_out_what_may_change_on_resume():
    base = trajectory_params(_config(), 1)
    assert base["world_size"] == 1 and trajectory_params(_config(), 2)["world_size"] == 2
    for free in ("num_iterations", "print_every", "checkpoint_every", "output_dir", "restore_from_checkpoint"):
        assert free not in base
    assert base["learning_rate"] == _config().optim.learning_rate and list(base) == sorted(base)[:-1] + ["world_size"]
    assert trajectory_params(_config("--print_every", "3"), 1) == base
    assert trajectory_params(_config("--learning_rate", "0.5"), 1)["learning_rate"] == 0.5
    cosine = trajectory_params(_config("--lr_decay", "cosine", "--num_iterations", "77"), 1)
    assert cosine["num_iterations"] == 77  # the decay's horizon shapes the run


def test_current_identity_is_the_train_stage_code_and_its_input_files():
    config = _config()
    now = current_identity(config, 1)
    assert sorted(now.code) == import_closure("stages/train.py") and "sg2im/model/layout.py" in now.code
    assert all(len(sha) == 64 for sha in now.code.values())
    assert list(now.data) == config.data.input_files()
    assert now.params == trajectory_params(config, 1)


def test_data_differences_by_content_only_when_size_or_time_moved(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text("1")
    b.write_text("2")
    saved = RunIdentity({}, {}, {str(a): stat_fingerprint(a), str(b): stat_fingerprint(b)}).complete().to_dict()
    now = RunIdentity({}, {}, {str(a): stat_fingerprint(a), str(b): stat_fingerprint(b)})
    assert differences(saved, now) == [] and now.data[str(a)]["sha"] == saved["data"][str(a)]["sha"]
    os.utime(a, ns=(1, 10**18))  # touched, same bytes: the same data
    a_touched = RunIdentity({}, {}, {str(a): stat_fingerprint(a), str(b): stat_fingerprint(b)})
    assert differences(saved, a_touched) == []
    b.write_text("3")  # same size, new bytes
    os.utime(b, ns=(1, 10**17))
    c = tmp_path / "c"
    changed = RunIdentity({}, {}, {str(b): stat_fingerprint(b), str(c): {"kind": "missing"}})
    assert differences(saved, changed) == [f"data: {a} is no longer an input", f"data: {b} changed",
                                           f"data: {c} is a new input"]


def test_more_than_eight_code_changes_are_summed_up():
    saved = RunIdentity({}, {f"f{i:02d}.py": "a" for i in range(11)}, {}).to_dict()
    now = RunIdentity({}, {f"f{i:02d}.py": "b" for i in range(11)}, {})
    lines = differences(saved, now)
    assert lines == [f"code: f{i:02d}.py changed" for i in range(8)] + ["code: ... and 3 more files"]
    assert len(differences(saved, RunIdentity({}, {f"f{i:02d}.py": "b" for i in range(8)} | {
        f"f{i:02d}.py": "a" for i in range(8, 11)}, {}))) == 8
    half = dict(saved, data=None)
    assert differences(half, now)[0].startswith("identity: the checkpoint records no run identity")


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@x"})


def test_git_state_clean_edited_untracked_and_outside_a_repository(tmp_path):
    assert git_state(["a.py"], root=tmp_path) == {"commit": None, "dirty": None, "diff_sha256": None}
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "other.py").write_text("y = 1\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "c")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert git_state(["a.py"], root=tmp_path) == {"commit": head, "dirty": False, "diff_sha256": None}
    (tmp_path / "other.py").write_text("y = 2\n")  # not one of the run's paths
    assert git_state(["a.py"], root=tmp_path)["dirty"] is False
    (tmp_path / "a.py").write_text("x = 2\n")
    edited = git_state(["a.py"], root=tmp_path)
    assert edited["dirty"] is True and len(edited["diff_sha256"]) == 64
    (tmp_path / "a.py").write_text("x = 3\n")
    assert git_state(["a.py"], root=tmp_path)["diff_sha256"] != edited["diff_sha256"]
    _git(tmp_path, "checkout", "-q", "a.py")
    (tmp_path / "new.py").write_text("z = 1\n")
    untracked = git_state(["a.py", "new.py"], root=tmp_path)
    assert untracked["dirty"] is True
    (tmp_path / "new.py").write_text("z = 2\n")
    assert git_state(["a.py", "new.py"], root=tmp_path)["diff_sha256"] != untracked["diff_sha256"]


@pytest.mark.parametrize("kind", ["params", "code", "data"])
def test_an_identity_missing_any_kind_is_no_identity(kind):
    saved = RunIdentity({"a": 1}, {"f.py": "x"}, {}).to_dict()
    del saved[kind]
    assert differences(saved, RunIdentity({"a": 1}, {"f.py": "x"}, {}))[0].startswith("identity:")


def test_digests_name_each_kind_and_follow_only_what_identifies_it(tmp_path):
    a = RunIdentity({"a": 1, "b": [2, 3]}, {"f.py": "x"}, {"d": {"stat": "s1", "sha": "h"}})
    same = RunIdentity({"b": [2, 3], "a": 1}, {"f.py": "x"}, {"d": {"stat": "s2", "sha": "h"}})  # key order, mtime
    assert set(a.digests()) == {"params", "code", "data"} and a.digests() == same.digests()
    assert all(len(d) == 16 for d in a.digests().values())
    for other, kind in ((RunIdentity({"a": 2, "b": [2, 3]}, a.code, a.data), "params"),
                        (RunIdentity(a.params, {"f.py": "y"}, a.data), "code"),
                        (RunIdentity(a.params, a.code, {"d": {"stat": "s1", "sha": "g"}}), "data")):
        changed = {k for k in a.digests() if a.digests()[k] != other.digests()[k]}
        assert changed == {kind}
    by_stat = RunIdentity({}, {}, {"d": {"stat": "s1"}})  # no content hash yet: the stat stands in
    assert by_stat.digests()["data"] != RunIdentity({}, {}, {"d": {"stat": "s2"}}).digests()["data"]
    with_path = RunIdentity({"out": tmp_path}, {}, {})  # values JSON does not know are digested by their text
    assert with_path.digests()["params"] == RunIdentity({"out": str(tmp_path)}, {}, {}).digests()["params"]
    (tmp_path / "f").write_text("1")
    kept = RunIdentity({}, {}, {str(tmp_path / "f"): {"stat": "s", "sha": "given"}}).complete()
    assert kept.data[str(tmp_path / "f")]["sha"] == "given"


def test_param_differences_word_for_word_including_none_lists_and_paths(tmp_path):
    saved = RunIdentity({"image_size": [64, 64], "gone": None, "out": tmp_path}, {}, {}).to_dict()
    now = RunIdentity({"image_size": [32, 32], "out": tmp_path, "new": 1}, {}, {})
    assert differences(saved, now) == ["params: gone None -> <absent>", "params: image_size 64,64 -> 32,32",
                                       "params: new <absent> -> 1"]
    assert differences(RunIdentity({}, {}, {}).to_dict(), RunIdentity({"x": None}, {}, {})) == [
        "params: x <absent> -> None"]
    assert differences({"params": {}, "code": {}}, now) == [
        "identity: the checkpoint records no run identity (written by an older version of this code, or not by "
        "this training code), so it cannot be told to be the same run"]


def test_nine_changed_files_are_eight_lines_and_one_more(tmp_path):
    saved = RunIdentity({}, {f"f{i}.py": "a" for i in range(9)}, {}).to_dict()
    lines = differences(saved, RunIdentity({}, {f"f{i}.py": "b" for i in range(9)}, {}))
    assert len(lines) == 9 and lines[-1] == "code: ... and 1 more files"


def test_an_unchanged_input_without_a_recorded_hash_is_not_read_again(tmp_path):
    f = tmp_path / "a.json"
    f.write_text("1")
    saved = RunIdentity({}, {}, {str(f): stat_fingerprint(f)}).to_dict()  # never completed: no "sha"
    now = RunIdentity({}, {}, {str(f): stat_fingerprint(f)})
    assert differences(saved, now) == [] and "sha" not in now.data[str(f)]


def test_git_state_counts_staged_and_binary_edits_and_ignores_ignored_and_other_files(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "w.bin").write_bytes(bytes(range(256)))
    (tmp_path / ".gitignore").write_text("*.log\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "c")
    paths = ["a.py", "w.bin", "run.log"]
    (tmp_path / "run.log").write_text("ignored\n")  # ignored: not the run's code
    (tmp_path / "elsewhere.py").write_text("z = 1\n")  # untracked, but not one of the paths
    assert git_state(paths, root=tmp_path)["dirty"] is False
    (tmp_path / "a.py").write_text("x = 2\n")
    _git(tmp_path, "add", "a.py")  # staged: still a difference from the commit
    assert git_state(paths, root=tmp_path)["dirty"] is True
    _git(tmp_path, "reset", "-q", "--hard")
    (tmp_path / "w.bin").write_bytes(bytes(range(255, -1, -1)))
    first = git_state(paths, root=tmp_path)["diff_sha256"]
    (tmp_path / "w.bin").write_bytes(bytes(range(1, 256)) + b"\0")
    assert first and git_state(paths, root=tmp_path)["diff_sha256"] != first  # binary content, not "differ"
