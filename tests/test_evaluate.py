"""Stage evaluate end to end on a toy COCO-format dataset with a tiny random generator."""
from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest
import torch

from helpers_eval import make_coco_toy, make_tiny_checkpoint

REPO = Path(__file__).resolve().parent.parent


class _stage:
    """What stages/evaluate.py does with these flags, in this process."""

    @staticmethod
    def main(argv: list[str]) -> dict:
        from sg2im.config.evaluate import EvaluateConfig
        from sg2im.config.loader import load_stage
        from sg2im.metrics.report import run_evaluation

        return run_evaluation(load_stage("evaluate", EvaluateConfig, argv).config)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from helpers_config import datasets as build_vocab_and_datasets
    from sg2im.tracking import Tracker

    root = tmp_path_factory.mktemp("evaluate")
    args = make_coco_toy(root / "coco")
    vocab, dsets = build_vocab_and_datasets(Namespace(**args), splits=("train", "test"))
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root}/mlflow.db")
    mp.delenv("SG2IM_TRACKING", raising=False)
    tracker = Tracker.start("train", params={"dataset": "coco"}, tags={})
    tracker.end()
    ckpt = make_tiny_checkpoint(root / "model.pt", vocab, args)
    data = torch.load(ckpt, weights_only=True)
    data["mlflow_run_id"] = tracker.run_id
    torch.save(data, ckpt)
    yield {"root": root, "ckpt": ckpt, "args": args, "vocab": vocab, "dsets": dsets, "run_id": tracker.run_id}
    mp.undo()


def acc_of(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float((pred == target).double().mean())


def plain_fid(a, b) -> float:
    """Frechet distance of two feature sets, written plainly with scipy (not the project's code)."""
    import warnings

    import numpy as np
    import scipy.linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # fewer crops than feature dimensions: singular, as in the project's
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(ca @ cb).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * root))


def _argv(setup, out_name="evaluate.json", *extra):
    root = setup["root"]
    return ["--checkpoint", str(setup["ckpt"]), "--classifier_steps", "30", "--classifier_width", "8",
            "--classifier_lr", "0.005", "--classifier_batch_size", "64",
            "--samples_per_layout", "2", "--batch_size", "4", "--classifier_cache", str(root / "clf.pt"),
            "--output", str(root / out_name), "--device", "cpu", "--progress", "0",
            "--params", str(root / "no_params.yaml"), *extra]


def test_evaluate_end_to_end(setup, capsys, monkeypatch):
    from sg2im.imagenet import saved_pixels
    from sg2im.model.generator import Sg2ImModel

    predicted: list[tuple[torch.Tensor, torch.Tensor]] = []  # (objs, boxes) of every predicted-layout call
    images: list[torch.Tensor] = []  # every generated batch, in call order
    forward = Sg2ImModel.forward

    def recording(self, objs, triples, obj_to_img=None, boxes_gt=None, **kwargs):
        out = forward(self, objs, triples, obj_to_img, boxes_gt=boxes_gt, **kwargs)
        if boxes_gt is None:
            predicted.append((objs.detach().cpu(), out[1].detach().cpu()))
        images.append(out[0].detach().cpu())
        return out

    monkeypatch.setattr(Sg2ImModel, "forward", recording)
    from sg2im.metrics import evaluation

    classified: list[tuple[torch.Tensor, torch.Tensor]] = []  # (classes, features) of every classify_crops call
    classify = evaluation.classify_crops

    def recording_classifier(*args, **kwargs):
        preds, feats = classify(*args, **kwargs)
        classified.append((preds.cpu(), feats.cpu()))
        return preds, feats

    monkeypatch.setattr(evaluation, "classify_crops", recording_classifier)
    stage = _stage()
    metrics = stage.main(_argv(setup))
    monkeypatch.undo()
    written = json.loads((setup["root"] / "evaluate.json").read_text())
    assert written == metrics
    p = metrics["protocol"]
    assert p["split"] == "test" and p["num_images"] == len(setup["dsets"]["test"]) == 8
    assert p["samples_per_layout"] == 2 and p["image_size"] == [32, 32]
    assert p["generator_batchnorm_mode"] == "eval" and p["gt_layout"] == "GT boxes + GT masks"
    assert metrics["inception"]["status"] == "not computed: no weights file"
    assert metrics["classifier"]["cached"] is False

    # the class-mean baseline, recomputed independently from the datasets
    train, test = setup["dsets"]["train"], setup["dsets"]["test"]
    sums, counts = {}, {}
    for i in range(len(train)):
        _, objs, boxes, _, _ = train[i]
        for o, b in zip(objs[:-1].tolist(), boxes[:-1]):
            sums[o] = sums.get(o, 0) + b.double()
            counts[o] = counts.get(o, 0) + 1
    ious, n_obj = [], 0
    for i in range(len(test)):
        _, objs, boxes, _, _ = test[i]
        for o, g in zip(objs[:-1].tolist(), boxes[:-1].double()):
            m = sums[o] / counts[o]
            iw = (min(m[2], g[2]) - max(m[0], g[0])).clamp(min=0)
            ih = (min(m[3], g[3]) - max(m[1], g[1])).clamp(min=0)
            inter = iw * ih
            union = (m[2] - m[0]) * (m[3] - m[1]) + (g[2] - g[0]) * (g[3] - g[1]) - inter
            ious.append(float(inter / union))
            n_obj += 1
    base = metrics["boxes"]["all"]["class_mean_baseline"]
    assert base["num_objects"] == n_obj == p["num_objects"]
    assert base["mean_iou"] == pytest.approx(sum(ious) / len(ious), abs=1e-5)
    assert base["R@0.5"] == pytest.approx(sum(v >= 0.5 for v in ious) / len(ious), abs=1e-6)
    assert base["sigma_x"] == 0.0  # one box per class

    # the predicted-layout box metrics, recomputed here from what the generator predicted (every sample of a
    # layout predicts the same boxes: the first of each pair is taken) against the test set's own boxes
    gt = [(objs[:-1], boxes[:-1].double()) for _, objs, boxes, _, _ in (test[i] for i in range(len(test)))]
    gt_objs, gt_boxes = torch.cat([o for o, _ in gt]), torch.cat([b for _, b in gt])
    image_idx = setup["vocab"]["object_name_to_idx"]["__image__"]
    firsts = predicted[0::2]  # samples_per_layout = 2
    assert all(torch.equal(a[1], b[1]) for a, b in zip(predicted[0::2], predicted[1::2]))
    pred_objs = torch.cat([o[o != image_idx] for o, _ in firsts])
    pred_boxes = torch.cat([b[o != image_idx] for o, b in firsts]).double()
    assert torch.equal(pred_objs, gt_objs)
    lo, hi = torch.maximum(pred_boxes[:, :2], gt_boxes[:, :2]), torch.minimum(pred_boxes[:, 2:], gt_boxes[:, 2:])
    inter = (hi - lo).clamp(min=0).prod(1)
    area = lambda b: (b[:, 2:] - b[:, :2]).clamp(min=0).prod(1)  # noqa: E731
    iou = inter / (area(pred_boxes) + area(gt_boxes) - inter)
    pred = metrics["boxes"]["all"]["predicted"]
    assert pred["num_objects"] == len(iou) == n_obj
    assert pred["mean_iou"] == pytest.approx(float(iou.mean()), abs=1e-5)
    assert pred["R@0.5"] == pytest.approx(float((iou >= 0.5).double().mean()), abs=1e-6)
    assert pred["mean_iou"] < 0.9  # a random tiny generator: far from the ground truth
    # per-category spreads of the predicted boxes, plainly: population std per category with >= 2 boxes, then
    # the mean over those categories (a mix-up with the ground-truth boxes changes both)
    for key, of_box in (("sigma_x", lambda b: (b[0] + b[2]) / 2),
                        ("sigma_area", lambda b: max(b[2] - b[0], 0) * max(b[3] - b[1], 0))):
        plain = {}
        for name, boxes_used in (("predicted", pred_boxes), ("ground_truth", gt_boxes)):
            per_class: dict[int, list[float]] = {}
            for o, b in zip(pred_objs.tolist(), boxes_used.tolist()):
                per_class.setdefault(o, []).append(of_box(b))
            spreads = [statistics.pstdev(v) for v in per_class.values() if len(v) >= 2]
            plain[name] = (sum(spreads) / len(spreads), len(spreads))
        assert pred[key] == pytest.approx(plain["predicted"][0], abs=1e-6)
        truth = metrics["boxes"]["all"]["ground_truth_sigma"]
        assert truth[key] == pytest.approx(plain["ground_truth"][0], abs=1e-6)
        assert truth["num_categories"] == plain["ground_truth"][1]
        assert pred[key] != pytest.approx(truth[key], abs=1e-6)

    # object accuracy and crop FID, recomputed from the classifier's answers: per batch, the real crops, then
    # pred_layout's two samples, then gt_layout's two (the calls after the classifier's own training)
    calls = classified[len(classified) - 5 * math.ceil(len(test) / 4):]  # --batch_size 4
    batches = [calls[i:i + 5] for i in range(0, len(calls), 5)]
    sizes = [len(b[0][0]) for b in batches]
    targets = list(torch.split(gt_objs, sizes))
    real_pred = torch.cat([b[0][0] for b in batches])
    assert metrics["object_accuracy"]["real_crops_ceiling"] == pytest.approx(acc_of(real_pred, gt_objs), abs=1e-6)
    real_feat = torch.cat([b[0][1] for b in batches]).double().numpy()
    for m, mode in enumerate(("pred_layout", "gt_layout")):
        preds = torch.cat([torch.cat([b[1 + 2 * m][0], b[2 + 2 * m][0]]) for b in batches])
        want = torch.cat([torch.cat([t, t]) for t in targets])
        assert metrics["object_accuracy"][mode] == pytest.approx(acc_of(preds, want), abs=1e-6)
        feats = torch.cat([torch.cat([b[1 + 2 * m][1], b[2 + 2 * m][1]]) for b in batches]).double().numpy()
        assert metrics["crop_fid"][mode] == pytest.approx(plain_fid(real_feat, feats), rel=1e-4, abs=1e-6)
        # diversity: the two samples of each object's crop (features), and of each image (pixels in [0, 1])
        a = torch.cat([b[1 + 2 * m][1] for b in batches]).double()
        b_ = torch.cat([b[2 + 2 * m][1] for b in batches]).double()
        div = metrics["diversity"][mode]
        assert div["crop_feature_l2"] == pytest.approx(float((a - b_).norm(dim=1).mean()), rel=1e-5)
        first, second = (torch.cat(images[-4 * len(batches):][2 * m + k::4]) for k in (0, 1))
        pixels = [saved_pixels(x).double() for x in (first, second)]
        assert div["l1"] == pytest.approx(float((pixels[0] - pixels[1]).abs().flatten(1).mean(1).mean()), rel=1e-5)
    assert "things" in metrics["boxes"] and metrics["boxes"]["things"]["predicted"]["num_objects"] < n_obj

    acc = metrics["object_accuracy"]
    assert acc["real_crops_ceiling"] > 0.6  # simple coloured shapes: the classifier learns them
    for mode in ("gt_layout", "pred_layout"):
        assert 0.0 <= acc[mode] <= 1.0
        assert metrics["crop_fid"][mode] > 0
        assert metrics["diversity"][mode]["l1"] > 0  # layout noise: samples differ
        assert metrics["diversity"][mode]["crop_feature_l2"] > 0
    assert Path(setup["root"] / "clf.pt").exists()

    # logged into the checkpoint's own MLflow run
    from mlflow import MlflowClient

    run = MlflowClient(tracking_uri=f"sqlite:///{setup['root']}/mlflow.db").get_run(setup["run_id"])
    assert run.data.metrics["test/object_acc_real_crops"] == pytest.approx(acc["real_crops_ceiling"])
    assert run.data.metrics["test/R_at_0.5"] == pytest.approx(metrics["boxes"]["all"]["predicted"]["R@0.5"])
    assert "test/detail/boxes/all/predicted/R_at_0.5" in run.data.metrics
    assert not [k for k in run.data.metrics if "classifier" in k or k.endswith(("/steps", "/lr", "/batch_size"))]
    assert run.data.tags.get("evaluate.split") == "test"
    assert metrics["headline"]["R@0.5"] == metrics["boxes"]["all"]["predicted"]["R@0.5"]
    assert list(metrics)[0] == "headline"

    # second run reuses the cached classifier and reproduces the numbers
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SG2IM_TRACKING", "0")
        again = stage.main(_argv(setup, "evaluate2.json"))
    assert again["classifier"]["cached"] is True
    for key in ("boxes", "object_accuracy", "crop_fid", "diversity"):
        assert again[key] == metrics[key]


@pytest.mark.slow  # 10-90 s: Inception v3 on CPU; the Inception code itself is tested in test_metrics_inception
def test_evaluate_with_inception_weights(setup, tmp_path):
    from sg2im.metrics.inception import sha256_of_file
    from sg2im.metrics.inception_net import build_fid_inception

    torch.manual_seed(0)
    weights = tmp_path / "random_inception.pth"
    torch.save(build_fid_inception().state_dict(), weights)
    digest = sha256_of_file(weights)
    metrics = _stage().main(_argv(setup, "evaluate_inception.json", "--num_samples", "2",
                                  "--inception_weights", str(weights), "--inception_sha256", digest,
                                  "--inception_splits", "1"))
    inc = metrics["inception"]
    assert inc["status"] == "computed" and inc["sha256"] == digest and inc["architecture"] == "pytorch-fid"
    assert inc["real"]["IS_mean"] >= 1.0
    for mode in ("gt_layout", "pred_layout"):
        assert inc[mode]["IS_mean"] >= 1.0 and inc[mode]["FID"] >= 0


def test_wrong_inception_hash_fails_before_writing(setup, tmp_path):
    weights = tmp_path / "w.pth"
    torch.save({"fc.weight": torch.zeros(1008, 2048)}, weights)
    out = setup["root"] / "should_not_exist.json"
    proc = subprocess.run([sys.executable, str(REPO / "stages" / "evaluate.py"), *_argv(setup, out.name),
                           "--inception_weights", str(weights)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "6726825d" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    from sg2im.errors import DataError

    with pytest.raises(DataError, match="nope.pt"):
        _stage().main(["--checkpoint", str(tmp_path / "nope.pt"), "--output", str(tmp_path / "e.json"),
                       "--params", str(tmp_path / "no.yaml")])
    assert not (tmp_path / "e.json").exists()


def test_evaluate_visual_genome_without_masks(tmp_path, monkeypatch):
    """VG has no masks: the GT layout uses GT boxes with predicted masks; no thing/stuff split."""
    from PIL import Image

    from test_data_vg import VOCAB, synthetic_h5

    monkeypatch.setenv("SG2IM_TRACKING", "0")
    (tmp_path / "img" / "VG_100K").mkdir(parents=True)
    Image.new("RGB", (64, 64), (200, 30, 30)).save(tmp_path / "img" / "VG_100K" / "1.jpg")
    for split in ("train", "val", "test"):
        synthetic_h5(tmp_path / f"{split}.h5", 5, [(0, 1)])
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB))
    args = {"dataset": "vg", "image_size": [32, 32], "num_train_samples": None, "num_val_samples": 1024,
            "include_relationships": 1, "vg_image_dir": str(tmp_path / "img"), "train_h5": str(tmp_path / "train.h5"),
            "val_h5": str(tmp_path / "val.h5"), "vocab_json": str(tmp_path / "vocab.json"),
            "max_objects_per_image": 10, "vg_use_orphaned_objects": 1, "mask_size": 8, "cache_dir": None}
    ckpt = make_tiny_checkpoint(tmp_path / "vg.pt", VOCAB, args)
    metrics = _stage().main(["--checkpoint", str(ckpt), "--classifier_steps", "5", "--classifier_width", "8",
                             "--samples_per_layout", "1", "--classifier_cache", "", "--device", "cpu",
                             "--output", str(tmp_path / "vg.json"), "--progress", "0", "--params", str(tmp_path / "no.yaml")])
    p = metrics["protocol"]
    assert p["dataset"] == "vg" and p["num_images"] == 1 and p["num_objects"] == 5
    assert p["gt_layout"] == "GT boxes + predicted masks"
    assert "things" not in metrics["boxes"] and "things" not in metrics["object_accuracy"]
    assert metrics["diversity"] == "not computed: samples_per_layout < 2"
    assert metrics["boxes"]["all"]["class_mean_baseline"]["mean_iou"] == pytest.approx(1.0)  # train == test


def test_help_lists_parameters(capsys):
    with pytest.raises(SystemExit) as info:
        _stage().main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--inception_weights" in out and "--samples_per_layout" in out and "6726825d" in out
