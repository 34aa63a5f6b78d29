"""Box metrics on hand-made boxes with known answers."""
import math

import pytest
import torch

from sg2im.metrics.boxes import (box_iou, box_metrics, box_recall, class_mean_boxes,
                                 per_category_std)


def test_identical_boxes_full_recall_and_iou_one():
    boxes = torch.tensor([[0.1, 0.1, 0.5, 0.5], [0.0, 0.5, 1.0, 1.0], [0.3, 0.2, 0.4, 0.9]])
    m = box_metrics(boxes, boxes, torch.tensor([1, 2, 3]))
    assert m["R@0.3"] == 1.0 and m["R@0.5"] == 1.0
    assert m["mean_iou"] == pytest.approx(1.0)
    assert m["num_objects"] == 3


def test_shifted_box_iou():
    gt = torch.tensor([[0.0, 0.0, 0.4, 0.4]])
    # shifted right by a quarter of its width: overlap 0.3*0.4, union 2*0.16 - 0.12
    pred = torch.tensor([[0.1, 0.0, 0.5, 0.4]])
    expected = 0.12 / (0.32 - 0.12)
    assert float(box_iou(pred, gt)[0]) == pytest.approx(expected, abs=1e-6)
    # shifted by half: IoU 1/3 -> counted at 0.3, not at 0.5
    half = torch.tensor([[0.2, 0.0, 0.6, 0.4]])
    iou = box_iou(half, gt)
    assert float(iou[0]) == pytest.approx(1 / 3, abs=1e-6)
    assert box_recall(iou) == {"R@0.3": 1.0, "R@0.5": 0.0}


def test_disjoint_and_degenerate_boxes_give_zero():
    gt = torch.tensor([[0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 0.5, 0.5]])
    pred = torch.tensor([[0.5, 0.5, 0.9, 0.9], [0.5, 0.5, 0.5, 0.5]])
    assert box_iou(pred, gt).tolist() == [0.0, 0.0]


def test_per_category_sigma_on_hand_made_boxes():
    # category 1: centres x = 0.2 and 0.4 -> std 0.1; areas 0.04 and 0.16 -> std 0.06
    # category 2: identical boxes -> 0, 0; category 3: one box -> skipped
    boxes = torch.tensor([
        [0.1, 0.0, 0.3, 0.2],
        [0.2, 0.0, 0.6, 0.4],
        [0.0, 0.0, 0.5, 0.5],
        [0.0, 0.0, 0.5, 0.5],
        [0.7, 0.7, 0.9, 0.9],
    ])
    objs = torch.tensor([1, 1, 2, 2, 3])
    s = per_category_std(boxes, objs)
    assert s["num_categories"] == 2
    assert s["sigma_x"] == pytest.approx((0.1 + 0.0) / 2)
    assert s["sigma_area"] == pytest.approx((0.06 + 0.0) / 2)


def test_sigma_zero_when_every_category_has_one_box_position():
    boxes = torch.tensor([[0.1, 0.1, 0.3, 0.3]] * 3 + [[0.5, 0.5, 0.6, 0.6]] * 2)
    s = per_category_std(boxes, torch.tensor([4, 4, 4, 7, 7]))
    assert s["sigma_x"] == 0.0 and s["sigma_area"] == 0.0


def test_class_mean_baseline_on_toy_set():
    train_boxes = torch.tensor([[0.0, 0.0, 0.2, 0.2], [0.2, 0.2, 0.4, 0.4], [0.0, 0.5, 1.0, 1.0]])
    train_objs = torch.tensor([1, 1, 2])
    means = class_mean_boxes(train_boxes, train_objs, num_classes=4)
    assert means[1].tolist() == pytest.approx([0.1, 0.1, 0.3, 0.3])
    assert means[2].tolist() == pytest.approx([0.0, 0.5, 1.0, 1.0])
    # unseen classes get the overall mean box
    assert means[3].tolist() == pytest.approx(train_boxes.mean(0).tolist())
    # on a test set the baseline finds the stuff band exactly and misses the small thing
    test_objs = torch.tensor([1, 2])
    test_boxes = torch.tensor([[0.6, 0.6, 0.8, 0.8], [0.0, 0.5, 1.0, 1.0]])
    m = box_metrics(means[test_objs], test_boxes, test_objs)
    assert m["R@0.5"] == 0.5 and m["mean_iou"] == pytest.approx(0.5)


def test_empty_inputs_are_nan_not_errors():
    m = box_metrics(torch.zeros(0, 4), torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    assert math.isnan(m["R@0.5"]) and math.isnan(m["sigma_x"]) and m["num_objects"] == 0


def test_recall_counts_an_iou_of_exactly_the_threshold():
    """IoU just below, at and just above 0.5 (and 0.3): a box at the threshold is recalled, as in the original."""
    gt = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 3)
    pred = torch.tensor([[0.0, 0.0, 0.499, 1.0], [0.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.501, 1.0]])  # IoU = width
    objs = torch.tensor([1, 2, 3])
    out = box_metrics(pred, gt, objs)
    assert out["R@0.5"] == pytest.approx(2 / 3)
    assert box_metrics(pred[:1], gt[:1], objs[:1])["R@0.5"] == 0.0
    assert box_metrics(pred[1:2], gt[1:2], objs[1:2])["R@0.5"] == 1.0
    at_03 = torch.tensor([[0.0, 0.0, 0.3, 1.0], [0.0, 0.0, 0.2999, 1.0]])
    assert box_metrics(at_03, gt[:2], objs[:2])["R@0.3"] == 0.5


def test_iou_of_wide_and_tall_boxes_uses_each_axis_of_each_box():
    """Rectangles whose x1 differs from their y1 (a square-only test cannot tell the axes apart)."""
    gt = torch.tensor([[0.0, 0.0, 0.8, 0.2]])
    pred = torch.tensor([[0.0, 0.0, 0.4, 0.2]])
    assert float(box_iou(pred, gt)[0]) == pytest.approx(0.5)  # half of the wide box
    assert float(box_iou(gt, pred)[0]) == pytest.approx(0.5)
    tall = torch.tensor([[0.0, 0.0, 0.2, 0.8]])
    assert float(box_iou(tall, gt)[0]) == pytest.approx(0.04 / (0.16 + 0.16 - 0.04))


def test_box_metrics_reports_the_thresholds_asked_for_and_both_spreads():
    gt = torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 4)
    pred = torch.tensor([[0.0, 0.0, 0.6, 1.0], [0.0, 0.0, 0.8, 1.0], [0.2, 0.0, 0.6, 1.0], [0.0, 0.0, 1.0, 1.0]])
    objs = torch.tensor([1, 1, 2, 2])
    m = box_metrics(pred, gt, objs, thresholds=(0.7,))
    assert set(m) == {"R@0.7", "mean_iou", "sigma_x", "sigma_area", "num_objects"}
    assert m["R@0.7"] == 0.5
    spreads = per_category_std(pred, objs)
    # category 1: centres 0.3, 0.4, areas 0.6, 0.8; category 2: centres 0.4, 0.5, areas 0.4, 1.0
    assert m["sigma_x"] == pytest.approx(0.05) == spreads["sigma_x"]
    assert m["sigma_area"] == pytest.approx((0.1 + 0.3) / 2) == spreads["sigma_area"]


def test_no_objects_give_nan_spreads_over_no_categories():
    s = per_category_std(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))
    assert math.isnan(s["sigma_x"]) and math.isnan(s["sigma_area"]) and s["num_categories"] == 0


def test_class_mean_boxes_with_no_training_boxes_is_the_centred_half_box_in_float():
    means = class_mean_boxes(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), num_classes=3)
    assert means.dtype == torch.float32 and means.shape == (3, 4)
    assert means.tolist() == [[0.25, 0.25, 0.75, 0.75]] * 3


def test_a_single_box_is_a_category_of_its_own_when_min_count_is_one():
    s = per_category_std(torch.tensor([[0.1, 0.1, 0.3, 0.5]]), torch.tensor([5]), min_count=1)
    assert s == {"sigma_x": 0.0, "sigma_area": 0.0, "num_categories": 1}
