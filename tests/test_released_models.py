"""The released models: fetched from a local HTTP server standing in for the original bucket (dropped transfers
resumed, a truncated file refused by name), converted once to the weights-only format (the converted tiny_shared
reproduces the original code's outputs), and run and evaluated end to end on the embedded data as the paper's
figures and tables, with original-format checkpoints made here."""
from __future__ import annotations

import collections
import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers_data import embedded_data
from helpers_eval import tiny_model_kwargs
from local_http_server import Behaviour, serve
from sg2im.checkpoint import read_checkpoint
from sg2im.config.download_models import DownloadModelsConfig
from sg2im.config.loader import load_stage
from sg2im.data.fetch.released import fetch_released
from sg2im.errors import DataError, ParamsError
from sg2im.model import build_generator, load_generator

REPO = Path(__file__).resolve().parent.parent
ORIG = REPO / "tests" / "fixtures" / "orig_ckpt"
DEPRECATED = {"vec_noise_dim": 0, "gconv_mode": "feedforward", "box_anchor": False, "decouple_obj_predictions": False}


def original_checkpoint(path: Path, vocab: dict, dataset: str, image_size: int = 32, gconv_num_layers: int = 2,
                        extra_predicates: tuple[str, ...] = (), seed: int = 0) -> Path:
    """A random generator saved as the original code saved its models: its kwargs names and deprecated kwargs,
    the authors' data paths, and a defaultdict of losses (so that only a trusted load reads it)."""
    vocab = json.loads(json.dumps(vocab))
    for name in extra_predicates:  # the released coco64 has predicates the COCO loader never makes
        vocab["pred_name_to_idx"][name] = len(vocab["pred_idx_to_name"])
        vocab["pred_idx_to_name"].append(name)
    torch.manual_seed(seed)
    kwargs = {**tiny_model_kwargs(vocab, image_size=(image_size, image_size)), **DEPRECATED,
              "gconv_num_layers": gconv_num_layers}
    model = build_generator({k: v for k, v in kwargs.items() if k not in DEPRECATED})
    args = {"dataset": dataset, "image_size": f"{image_size},{image_size}", "mask_size": 8, "num_iterations": 1000000,
            "coco_train_image_dir": "datasets/coco/images/train2017", "train_h5": "datasets/vg/train.h5",
            "vocab_json": "datasets/vg/vocab.json", "vg_image_dir": "datasets/vg/images", "min_objects_per_image": 3,
            "num_val_samples": 4}
    torch.save({"args": args, "model_kwargs": kwargs, "model_state": collections.OrderedDict(model.state_dict()),
                "counters": {"t": 1000000, "epoch": 12}, "losses": collections.defaultdict(list)}, path)
    return path


def _config(tmp_path: Path, *flags: str) -> DownloadModelsConfig:
    return load_stage("download_models", DownloadModelsConfig,
                      ["--params", str(REPO / "params.yaml"), "--out_dir", str(tmp_path / "released"),
                       "--record", str(tmp_path / "record.json"), "--min_free_gb", "0", "--retries", "1",
                       *flags]).config


def test_converted_tiny_shared_reproduces_the_original_outputs(tmp_path):
    out = tmp_path / "tiny.pt"
    cmd = [sys.executable, str(REPO / "stages" / "convert_checkpoint.py"), "--input", str(ORIG / "tiny_shared.pt"),
           "--output", str(out)]
    refused = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "--trust_checkpoint 1" in refused.stderr and not out.exists()
    done = subprocess.run(cmd + ["--trust_checkpoint", "1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    model, ckpt = load_generator(out)  # weights-only
    assert sorted(ckpt["converted_from"]) == ["file", "sha256"] and ckpt["d_obj_state"] and ckpt["d_img_state"]
    assert ckpt["args"]["coco_train_image_dir"] == "data/coco/images/train2017"  # this project's layout
    graphs = json.loads((ORIG / "tiny_shared_graphs.json").read_text())
    expected = torch.load(ORIG / "tiny_shared_outputs.pt", weights_only=True)
    torch.manual_seed(expected["seed_before_forward"])
    with torch.no_grad():
        img, boxes, masks, _ = model.forward_json(graphs)
    for ours, theirs in ((img, "img"), (boxes, "boxes_pred"), (masks, "masks_pred")):
        assert ours.shape == expected[theirs].shape
        assert (ours - expected[theirs]).abs().max().item() < 1e-5, theirs


def test_conversion_drops_deprecated_kwargs_and_keeps_the_vocabulary(tmp_path):
    from sg2im.convert import convert_file

    vocab = build_generator(tiny_model_kwargs(_coco_vocab())).vocab
    src = original_checkpoint(tmp_path / "orig.pt", vocab, "coco", extra_predicates=("touching",))
    with pytest.raises(DataError, match="cannot be loaded safely with weights_only=True"):
        read_checkpoint(src)  # a real original pickle needs trust
    summary = convert_file(src, tmp_path / "conv.pt", trust=True)
    assert summary["dropped_kwargs"] == sorted(DEPRECATED) and summary["predicates"] == 8
    ckpt = read_checkpoint(tmp_path / "conv.pt")
    assert not set(DEPRECATED) & set(ckpt["model_kwargs"])
    assert ckpt["model_kwargs"]["vocab"]["pred_idx_to_name"][-1] == "touching"
    assert ckpt["losses"] == {} and ckpt["counters"] == {"t": 1000000, "epoch": 12}
    broken = tmp_path / "broken.pt"
    torch.save({"args": {}, "model_kwargs": ckpt["model_kwargs"], "model_state": {"box_net.0.weight": torch.zeros(2)}},
               broken)
    with pytest.raises(DataError, match="model_state does not match model_kwargs"):
        convert_file(broken, tmp_path / "no.pt", trust=True)
    assert not (tmp_path / "no.pt").exists()


def _coco_vocab() -> dict:
    names = ["__image__", "person", "sheep", "grass", "sky-other"]
    preds = ["__in_image__", "left of", "right of", "above", "below", "inside", "surrounding"]
    return {"object_idx_to_name": names, "object_name_to_idx": {n: i for i, n in enumerate(names)},
            "pred_idx_to_name": preds, "pred_name_to_idx": {n: i for i, n in enumerate(preds)}}


def test_download_models_resumes_refuses_bad_files_by_name_and_converts_once(tmp_path):
    data = (ORIG / "tiny_shared.pt").read_bytes()
    behaviour = Behaviour(files={"/small/coco64.pt": data, "/small/vg64.pt": data, "/small/vg128.pt": data[: len(data) // 2]},
                          drop_after={"/small/vg64.pt": 100_000})
    with serve(behaviour) as base:
        with pytest.raises(ParamsError, match="--trust_mirror 1"):
            fetch_released(_config(tmp_path, "--models", "coco64", "--base_url", base))
        assert behaviour.requests == []  # refused before anything is fetched
        cfg = _config(tmp_path, "--models", "coco64,vg64,vg128", "--base_url", base, "--trust_mirror", "1")
        with pytest.raises(DataError, match=r"1 of 3 models failed") as failed:
            fetch_released(cfg)
        assert "vg128" in str(failed.value) and "is not a working sg2im checkpoint" in str(failed.value)
        assert ("/small/vg64.pt", "bytes=100000-") in behaviour.requests  # the dropped transfer resumed
        released = tmp_path / "released"
        assert sorted(p.name for p in released.glob("*.pt")) == ["coco64.pt", "vg64.pt"]
        assert not list((released / "original").rglob("*.pt"))  # originals deleted (keep_original 0)
        for name in ("coco64", "vg64"):
            model, ckpt = load_generator(released / f"{name}.pt")  # weights-only, a working generator
            assert ckpt["converted_from"]["model"] == name and ckpt["converted_from"]["url"] == f"{base}/small/{name}.pt"
        record = json.loads((tmp_path / "record.json").read_text())
        assert [m["model"] for m in record["models"]] == ["coco64", "vg64"] and record["failed"][0].startswith("vg128")
        behaviour.files["/small/vg128.pt"] = data  # the server fixed: the next run fetches only what is missing
        before = len(behaviour.requests)
        fetch_released(cfg)
        assert behaviour.requests[before:] == [("/small/vg128.pt", None)]
        assert [m["model"] for m in json.loads((tmp_path / "record.json").read_text())["models"]] == [
            "coco64", "vg64", "vg128"]
    with pytest.raises(ParamsError, match="unknown model.*coco64, vg64, vg128"):
        fetch_released(_config(tmp_path, "--models", "coco32"))
    assert fetch_released(_config(tmp_path / "none"))["models"] == []  # the default: nothing asked, nothing fetched


def test_paper_figures_and_tables_end_to_end_on_the_embedded_data(tmp_path):
    """Original-format checkpoints named as the released ones, served over HTTP, fetched and converted by
    download_models, rendered as the paper's figures and evaluated into its tables on the embedded data."""
    from sg2im.config.evaluate import EvaluateConfig
    from sg2im.data.build import build_vocab_and_datasets
    from sg2im.config.train import TrainConfig
    from sg2im.paper import paper_figures, paper_tables

    params = embedded_data(tmp_path)
    with contextlib.chdir(tmp_path):
        coco_vocab, _ = build_vocab_and_datasets(TrainConfig().data, TrainConfig().model, ("train",))
        vg_vocab = json.loads(Path("data/vg/vocab.json").read_text())
    served = tmp_path / "served"
    served.mkdir()
    original_checkpoint(served / "coco64.pt", coco_vocab, "coco", extra_predicates=("touching", "above and touching"))
    original_checkpoint(served / "coco64_no_gconv.pt", coco_vocab, "coco", gconv_num_layers=0, seed=1)
    original_checkpoint(served / "vg64.pt", vg_vocab, "vg", seed=2)
    behaviour = Behaviour(files={f"/small/{p.name}": p.read_bytes() for p in served.iterdir()})
    with serve(behaviour) as base, contextlib.chdir(tmp_path):
        cfg = load_stage("download_models", DownloadModelsConfig, [
            "--params", str(params), "--models", "coco64,vg64,coco64_no_gconv", "--base_url", base,
            "--trust_mirror", "1", "--min_free_gb", "0"]).config
        fetch_released(cfg)
        released = Path(cfg.out_dir)
        produced = paper_figures(released, REPO / "scene_graphs", Path("outputs/paper"), device="cpu")
        assert sorted(Path(p).name for p in produced) == ["figure_5_coco.png", "figure_5_vg.png"]
        readme = Path("outputs/paper/figures/README.txt").read_text()
        assert "figure_6_sheep: skipped" in readme and "--models vg128" in readme
        protocol = load_stage("evaluate", EvaluateConfig, ["--params", str(params), "--device", "cpu",
                                                            "--progress", "0"]).config
        tables = paper_tables(released, Path("outputs/paper"), protocol).read_text()
        rows = {r["model"]: r for r in json.loads(Path("outputs/paper/tables.json").read_text())["rows"]}
        assert set(rows) == {"coco64", "vg64", "coco64_no_gconv"}
        for name, row in rows.items():  # our numbers are the evaluate JSON's, in percent
            ours = json.loads(Path(f"outputs/paper/evaluate/{name}.json").read_text())["boxes"]["all"]["predicted"]
            assert row["R@0.5"] == round(100 * ours["R@0.5"], 1) and row["IS"] is None
        assert f"| coco64 | coco | {rows['coco64']['R@0.3']:.1f} (52.4) | {rows['coco64']['R@0.5']:.1f} (32.2) |" in tables
        assert f"| vg64 | vg | {rows['vg64']['R@0.3']:.1f} (21.9) |" in tables
        assert "| full model | – (6.7 ± 0.1) | – (5.5 ± 0.1) |" in tables
        assert "| no gconv | – (4.6 ± 0.1) | not evaluated |" in tables
