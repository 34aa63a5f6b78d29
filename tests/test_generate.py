"""Stage generate: run_model.py outputs, the paper's figure sheets, and malformed input."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers_eval import make_tiny_checkpoint
from helpers_images import pink_box_height, require_dot, sheet_cells
from sg2im.config.generate import GenerateConfig
from sg2im.config.loader import load_stage
from sg2im.errors import DataError
from sg2im.generate import generate, what_to_render
from sg2im.vis import graph as graph_drawing
from sg2im.scene_graph import vocab_from_names

REPO = Path(__file__).resolve().parent.parent
FIGURES = sorted((REPO / "scene_graphs").glob("*.json"))


class _stage:
    """What stages/generate.py does with these flags, in this process."""

    @staticmethod
    def main(argv: list[str]) -> dict:
        loaded = load_stage("generate", GenerateConfig, argv)
        return generate(what_to_render(loaded.config, loaded.explicit))


def _figure_vocab(drop: set[str] = frozenset()) -> dict:
    objects, preds = [], []
    for path in FIGURES:
        data = json.loads(path.read_text())
        for graph in data if isinstance(data, list) else [data]:
            objects += [o for o in graph["objects"] if o not in drop]
            preds += [r[1] for r in graph["relationships"]]
    return vocab_from_names(objects, preds)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    root = tmp_path_factory.mktemp("generate")
    return make_tiny_checkpoint(root / "tiny.pt", _figure_vocab(), {"dataset": "coco"}, image_size=(32, 32))


@pytest.fixture(autouse=True)
def no_tracking(monkeypatch):
    monkeypatch.setenv("SG2IM_TRACKING", "0")


def test_figures_exist():
    assert {p.name for p in FIGURES} >= {"figure_5_coco.json", "figure_5_vg.json", "figure_6_sheep.json",
                                         "figure_6_street.json"}


def test_command_line_like_run_model(ckpt, tmp_path):
    require_dot()
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(REPO / "stages" / "generate.py"), "--checkpoint", str(ckpt),
                           "--scene_graphs_json", str(REPO / "scene_graphs" / "figure_5_coco.json"),
                           "--output_dir", str(out), "--draw_scene_graphs", "1", "--device", "cpu",
                           "--figures", ""], capture_output=True, text=True, cwd=tmp_path,
                          env={**__import__("os").environ, "SG2IM_PARAMS": str(tmp_path / "none.yaml")})
    assert proc.returncode == 0, proc.stderr
    n = len(json.loads((REPO / "scene_graphs" / "figure_5_coco.json").read_text()))
    assert sorted(p.name for p in out.glob("img*.png")) == [f"img{i:06d}.png" for i in range(n)]
    assert len(list(out.glob("layout*.png"))) == n and len(list(out.glob("sg*.png"))) == n
    img = np.asarray(Image.open(out / "img000000.png"))
    assert img.shape == (32, 32, 3) and img.min() == 0 and img.max() == 255  # per-image min-max rescale
    assert np.asarray(Image.open(out / "layout000000.png")).shape == (256, 256, 3)
    assert not list(out.glob(".*tmp"))


@pytest.mark.parametrize("figure", [p.name for p in FIGURES])
def test_every_figure_file_generates(ckpt, tmp_path, figure):
    graphs = json.loads((REPO / "scene_graphs" / figure).read_text())
    n = len(graphs) if isinstance(graphs, list) else 1
    summary = _stage().main(["--checkpoint", str(ckpt), "--scene_graphs_json", str(REPO / "scene_graphs" / figure),
                             "--output_dir", str(tmp_path), "--device", "cpu", "--figures", "",
                             "--params", str(tmp_path / "none.yaml"),
                             "--allow_self_relationships", "1",  # figure 5 (VG) relates a building to itself
                             "--max_objects_per_graph", "10"])  # the tiny model claims COCO (8); VG figures have 9
    assert len(list(tmp_path.glob("img*.png"))) == n and len(list(tmp_path.glob("layout*.png"))) == n
    assert len(summary["written"]) == 2 * n


def test_figure_sheets_and_mlflow(ckpt, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    require_dot()
    from sg2im.tracking import Tracker

    monkeypatch.setenv("SG2IM_TRACKING", "1")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    run = Tracker.start("train", params={}, tags={})
    run.end()
    data = torch.load(ckpt, weights_only=True)
    data["mlflow_run_id"] = run.run_id
    tracked = tmp_path / "tracked.pt"
    torch.save(data, tracked)
    out = tmp_path / "gen"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "stale_figure.png").write_bytes(b"old")
    summary = _stage().main(["--checkpoint", str(tracked), "--scene_graphs_json", "", "--figures",
                             str(REPO / "scene_graphs"), "--output_dir", str(out), "--device", "cpu",
                             "--params", str(tmp_path / "none.yaml")])
    assert summary["figures"] == {p.stem: "rendered" for p in FIGURES}
    for p in FIGURES:
        graphs = json.loads(p.read_text())
        sheet = np.asarray(Image.open(out / "figures" / f"{p.stem}.png"))
        assert sheet.shape[1] > 256 * len(graphs)  # one column per graph, images enlarged to 256 px
        # every drawing at one scale: the same node height in every column
        rows_below = 2 * 22 + 12 + 2 * (256 + 12) + 12  # caption, image and layout rows
        heights = [pink_box_height(c) for c in sheet_cells(sheet, len(graphs), sheet.shape[0] - rows_below - 12)]
        assert min(heights) > 5 and max(heights) - min(heights) <= 1, (p.stem, heights)
    assert not (out / "figures" / "stale_figure.png").exists()
    report = json.loads((out / "figures" / "report.json").read_text())
    assert all(v["status"] == "rendered" for v in report.values())
    artifacts = {a.path for a in MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db").list_artifacts(run.run_id)}
    assert "figures" in artifacts


def test_uncovered_figures_are_listed_with_reason(tmp_path):
    ckpt = make_tiny_checkpoint(tmp_path / "nosheep.pt", _figure_vocab(drop={"sheep"}), {}, image_size=(32, 32))
    figs = tmp_path / "figs"
    figs.mkdir()
    shutil.copy(REPO / "scene_graphs" / "figure_6_sheep.json", figs)
    shutil.copy(REPO / "scene_graphs" / "figure_6_street.json", figs)
    (figs / "broken.json").write_text("[{")
    summary = _stage().main(["--checkpoint", str(ckpt), "--scene_graphs_json", "", "--figures", str(figs),
                             "--output_dir", str(tmp_path / "out"), "--device", "cpu",
                             "--params", str(tmp_path / "none.yaml")])
    # graph 0 of figure_6_sheep has a zebra, not a sheep: partial
    assert summary["figures"] == {"broken": "skipped", "figure_6_sheep": "partial", "figure_6_street": "rendered"}
    readme = (tmp_path / "out" / "figures" / "README.txt").read_text()
    assert 'objects[2] "sheep" is not an object of the model\'s vocabulary' in readme
    assert "graph 1 not rendered" in readme and "not valid JSON" in readme
    report = json.loads((tmp_path / "out" / "figures" / "report.json").read_text())
    assert report["figure_6_sheep"]["rendered_graphs"] == [0]
    assert not (tmp_path / "out" / "figures" / "broken.png").exists()


MALFORMED = {
    "unknown_name": ([{"objects": ["sky", "unicorn"], "relationships": [[0, "above", 1]]}], "unicorn"),
    "index_out_of_range": ([{"objects": ["sky", "grass"], "relationships": [[0, "above", 5]]}], "out of range"),
    "empty_graph": ([{"objects": [], "relationships": []}], "empty"),
    "unknown_predicate": ([{"objects": ["sky", "grass"], "relationships": [[0, "hovering", 1]]}], "hovering"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_graphs_fail_without_outputs(ckpt, tmp_path, case):
    graphs, needle = MALFORMED[case]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"objects": ["sky"], "relationships": []}] + graphs))
    out = tmp_path / "out"
    with pytest.raises(DataError, match=needle) as info:
        _stage().main(["--checkpoint", str(ckpt), "--scene_graphs_json", str(path), "--output_dir", str(out),
                       "--device", "cpu", "--figures", "", "--params", str(tmp_path / "none.yaml")])
    assert "scene graph 1" in str(info.value)  # names the graph
    assert not out.exists() or not any(out.iterdir())


def test_malformed_json_exit_code_and_message(ckpt, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[{"objects": ["sky"],, }]')
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(REPO / "stages" / "generate.py"), "--checkpoint", str(ckpt),
                           "--scene_graphs_json", str(path), "--output_dir", str(out), "--device", "cpu",
                           "--figures", ""], capture_output=True, text=True, cwd=tmp_path,
                          env={**__import__("os").environ, "SG2IM_PARAMS": str(tmp_path / "none.yaml")})
    assert proc.returncode == 2
    assert "not valid JSON" in proc.stderr and "bad.json" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_missing_dot_skips_the_drawings_and_still_writes_the_images(ckpt, tmp_path, monkeypatch, capsys):
    """A drawing is never worth failing a run for (issue 17): without Graphviz the images and layouts are written,
    each undrawn graph is named in a warning."""
    monkeypatch.setattr(graph_drawing.shutil, "which", lambda name: None)
    out = tmp_path / "out"
    _stage().main(["--checkpoint", str(ckpt), "--scene_graphs_json", str(REPO / "scene_graphs" / "figure_6_sheep.json"),
                   "--output_dir", str(out), "--draw_scene_graphs", "1", "--device", "cpu", "--figures", "",
                   "--params", str(tmp_path / "none.yaml")])
    n = len(json.loads((REPO / "scene_graphs" / "figure_6_sheep.json").read_text()))
    assert len(list(out.glob("img*.png"))) == len(list(out.glob("layout*.png"))) == n and not list(out.glob("sg*.png"))
    printed = capsys.readouterr().out
    assert f"scene graph {n - 1} of " in printed and "not drawn (Graphviz 'dot' is not installed" in printed


def test_slow_or_failing_graphviz_is_skipped_with_a_warning(monkeypatch, capsys):
    import subprocess

    def slow(cmd, **kwargs):
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])

    monkeypatch.setattr(graph_drawing.subprocess, "run", slow)
    assert graph_drawing.try_draw_scene_graph(["sky", "grass"], [[0, "above", 1]], "graph 3") is None
    assert "graph 3: not drawn (Graphviz took longer than 16 s)" in capsys.readouterr().out  # 10 + 2 per element
    monkeypatch.setattr(graph_drawing.subprocess, "run",
                        lambda cmd, **kwargs: subprocess.CompletedProcess(cmd, 1, b"", b"syntax error in line 1"))
    assert graph_drawing.try_draw_scene_graph(["sky"], [], "graph 4") is None
    assert "graph 4: not drawn (Graphviz failed: Graphviz dot failed (1): syntax error" in capsys.readouterr().out
    assert graph_drawing.drawing_timeout(["a"] * 30, [[0, "x", 1]] * 40) == 150.0  # large graphs get more time


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback")
def test_gpu_falls_back_to_cpu_with_warning(ckpt, tmp_path, capsys):
    _stage().main(["--checkpoint", str(ckpt), "--scene_graphs_json", str(REPO / "scene_graphs" / "figure_6_sheep.json"),
                   "--output_dir", str(tmp_path), "--device", "gpu", "--figures", "",
                   "--params", str(tmp_path / "none.yaml")])
    assert "falling back to CPU" in capsys.readouterr().out
    assert len(list(tmp_path.glob("img*.png"))) == 7


def test_help_lists_original_flags(capsys):
    with pytest.raises(SystemExit) as info:
        _stage().main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--checkpoint", "--scene_graphs_json", "--output_dir", "--draw_scene_graphs", "--device", "--figures"):
        assert flag in out


def test_single_graph_dict(ckpt, tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"objects": ["sky", "grass", "sheep"],
                                "relationships": [[0, "above", 1], [2, "standing on", 1]]}))
    _stage().main(["--checkpoint", str(ckpt), "--scene_graphs_json", str(path), "--output_dir", str(tmp_path / "o"),
                   "--device", "cpu", "--figures", "", "--params", str(tmp_path / "none.yaml")])
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["img000000.png", "layout000000.png"]
