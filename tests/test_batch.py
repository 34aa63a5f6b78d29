"""Collation with offsets (spec 2.5) and its inverse."""
import torch

from sg2im.data.batch import collate_scene_graphs, split_batch


def item(num_objs: int, triples: list[list[int]], masks: bool = True):
    return (
        torch.full((3, 4, 4), float(num_objs)),
        torch.arange(num_objs) + 10,
        torch.rand(num_objs, 4),
        torch.ones(num_objs, 2, 2, dtype=torch.long) if masks else None,
        torch.tensor(triples, dtype=torch.long).reshape(-1, 3),
    )


def test_offsets_and_maps():
    items = [item(3, [[0, 1, 2], [1, 0, 2]]), item(2, [[1, 0, 0]]), item(4, [[3, 2, 0], [0, 0, 3], [2, 1, 1]])]
    b = collate_scene_graphs(items)
    assert b.imgs.shape == (3, 3, 4, 4) and b.objs.shape == (9,) and b.masks.shape == (9, 2, 2)
    assert b.obj_to_img.tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2]
    assert b.triple_to_img.tolist() == [0, 0, 1, 2, 2, 2]
    assert b.triples.tolist() == [[0, 1, 2], [1, 0, 2], [4, 0, 3], [8, 2, 5], [5, 0, 8], [7, 1, 6]]
    # every triple's endpoints belong to its own image
    assert torch.equal(b.obj_to_img[b.triples[:, 0]], b.triple_to_img)
    assert torch.equal(b.obj_to_img[b.triples[:, 2]], b.triple_to_img)
    assert len(b.as_tuple()) == 7


def test_vg_batches_have_no_masks_and_round_trip():
    items = [item(2, [[0, 0, 1]], masks=False), item(3, [[2, 1, 0]], masks=False)]
    b = collate_scene_graphs(items)
    assert b.masks is None and len(b.as_tuple()) == 6
    for original, back in zip(items, split_batch(b)):
        assert torch.equal(original[1], back[1]) and torch.equal(original[4], back[4])
