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
