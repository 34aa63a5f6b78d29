"""Scene-graph JSON encoding (sg2im/scene_graph.py)."""
import copy
import json
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sg2im.errors import DataError
from sg2im.scene_graph import encode_scene_graphs, load_scene_graphs, vocab_from_names

GRAPH_DIR = Path(__file__).resolve().parents[1] / "scene_graphs"
FILES = sorted(GRAPH_DIR.glob("*.json"))


def _vocab_of(graphs):
    objs = [name for g in graphs for name in g["objects"]]
    preds = [r[1] for g in graphs for r in g["relationships"]]
    return vocab_from_names(objs, preds)


def test_the_paper_figure_files_are_there():
    assert {f.name for f in FILES} >= {"figure_5_coco.json", "figure_5_vg.json", "figure_6_sheep.json", "figure_6_street.json"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_encode_every_figure_file(path):
    graphs = load_scene_graphs(path)
    vocab = _vocab_of(graphs)
    before = copy.deepcopy(graphs)
    objs, triples, obj_to_img = encode_scene_graphs(graphs, vocab, source=str(path), allow_self_relationships=True)
    assert graphs == before  # the caller's data is not mutated
    names, preds = vocab["object_idx_to_name"], vocab["pred_idx_to_name"]
    offset = 0
    t = 0
    for i, g in enumerate(graphs):
        n = len(g["objects"])
        assert [names[k] for k in objs[offset:offset + n].tolist()] == g["objects"]
        assert names[objs[offset + n]] == "__image__"
        assert (obj_to_img[offset:offset + n + 1] == i).all()
        for s, p, o in g["relationships"]:
            assert triples[t].tolist() == [s + offset, vocab["pred_name_to_idx"][p], o + offset]
            t += 1
        for j in range(n):  # then one __in_image__ per object, to the image object
            assert triples[t].tolist() == [offset + j, vocab["pred_name_to_idx"]["__in_image__"], offset + n]
            assert preds[triples[t, 1]] == "__in_image__"
            t += 1
        offset += n + 1
    assert t == len(triples) and offset == len(objs)
    assert objs.dtype == triples.dtype == obj_to_img.dtype == torch.long


def test_single_dict_and_device():
    vocab = vocab_from_names(["sky", "sheep"], ["above"])
    objs, triples, obj_to_img = encode_scene_graphs({"objects": ["sky"], "relationships": []}, vocab, device="cpu")
    assert objs.tolist() == [1, 0] and triples.tolist() == [[0, 0, 1]] and obj_to_img.tolist() == [0, 0]
    assert triples.shape == (1, 3)


VOCAB = vocab_from_names(["sky", "sheep", "grass"], ["above", "standing on"])


@pytest.mark.parametrize("graphs,match", [
    ([{"objects": ["sky", "shep"], "relationships": []}], r'scene graph 0 in f\.json: objects\[1\] "shep".*closest: \'sheep\''),
    ([{"objects": ["sky"], "relationships": []}, {"objects": ["sky", "grass"], "relationships": [[0, "abve", 1]]}],
     r'scene graph 1 in f\.json: relationships\[0\] predicate "abve".*closest: \'above\''),
    ([{"objects": ["sky", "grass"], "relationships": [[0, "above", 2]]}], r"relationships\[0\] object index 2 is out of range.*2 objects"),
    ([{"objects": ["sky", "grass"], "relationships": [[-1, "above", 1]]}], r"subject index -1 is out of range"),
    ([{"objects": [], "relationships": []}], r'"objects" is empty'),
    ([{"relationships": []}], r'"objects" must be a list'),
    ([{"objects": "sky", "relationships": []}], r'"objects" must be a list'),
    ([{"objects": ["sky"], "relationships": {"0": 1}}], r'"relationships" must be a list'),
    ([{"objects": ["sky", "grass"], "relationships": [[0, "above"]]}], r'relationships\[0\] must be \[subject_index'),
    ([{"objects": ["sky", "grass"], "relationships": [["0", "above", 1]]}], r"subject must be an integer"),
    ([{"objects": ["sky", "grass"], "relationships": [[0, "above", True]]}], r"object must be an integer"),
    ([{"objects": ["sky", 3], "relationships": []}], r"objects\[1\] must be an object name"),
    (["sky"], r"scene graph 0 in f\.json: must be a dict"),
    ([], r"non-empty list"),
])
def test_malformed_graphs_are_named_data_errors(graphs, match):
    with pytest.raises(DataError, match=match):
        encode_scene_graphs(graphs, VOCAB, source="f.json")


def test_vocab_without_special_tokens_is_rejected():
    with pytest.raises(DataError, match="__image__"):
        encode_scene_graphs({"objects": ["sky"]}, {"object_name_to_idx": {"sky": 0}, "pred_name_to_idx": {}})


def test_load_scene_graphs_errors_name_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"objects": ["sky"],\n  "relationships": [0, "above" 1]}]')
    with pytest.raises(DataError, match=r"bad\.json is not valid JSON: .* line 2, column"):
        load_scene_graphs(bad)
    with pytest.raises(DataError, match=r"missing\.json does not exist"):
        load_scene_graphs(tmp_path / "missing.json")
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"objects": ["sky"], "relationships": []}))
    assert load_scene_graphs(one) == [{"objects": ["sky"], "relationships": []}]
    for name, content in (("num.json", "3"), ("empty.json", "[]"), ("strs.json", '["sky"]')):
        (tmp_path / name).write_text(content)
        with pytest.raises(DataError, match=name.replace(".", r"\.")):
            load_scene_graphs(tmp_path / name)


def test_reserved_tokens_self_relationships_and_limits_are_refused():
    from sg2im.errors import GraphLimitError
    from sg2im.scene_graph import MAX_GRAPHS, trained_max_objects

    vocab = vocab_from_names(["sky", "grass", "sheep"], ["above"])
    with pytest.raises(DataError, match=r'objects\[1\] "__image__" is reserved'):
        encode_scene_graphs({"objects": ["sky", "__image__"], "relationships": []}, vocab)
    with pytest.raises(DataError, match=r'relationships\[0\] predicate "__in_image__" is reserved'):
        encode_scene_graphs({"objects": ["sky", "grass"], "relationships": [[0, "__in_image__", 1]]}, vocab)
    self_rel = {"objects": ["sky", "grass"], "relationships": [[1, "above", 1]]}
    with pytest.raises(DataError, match=r"relationships\[0\] relates object 1 to itself.*allow_self_relationships"):
        encode_scene_graphs(self_rel, vocab)
    assert encode_scene_graphs(self_rel, vocab, allow_self_relationships=True)[1].tolist()[0] == [1, 1, 1]
    for bad in (True, 1.0):  # a boolean or a float is not an index, even when it equals one
        with pytest.raises(DataError, match="must be an integer index"):
            encode_scene_graphs({"objects": ["sky", "grass"], "relationships": [[bad, "above", 0]]}, vocab)
    eight = {"objects": ["sheep"] * 8, "relationships": []}
    assert len(encode_scene_graphs(eight, vocab, max_objects=8)[0]) == 9  # at the limit: accepted
    with pytest.raises(GraphLimitError, match=r"has 9 objects; the model was trained on images with at most 8"):
        encode_scene_graphs({"objects": ["sheep"] * 9, "relationships": []}, vocab, max_objects=8)
    with pytest.raises(GraphLimitError, match=f"at most {MAX_GRAPHS}"):
        encode_scene_graphs([{"objects": ["sky"]}] * (MAX_GRAPHS + 1), vocab)
    assert trained_max_objects({"dataset": "coco"}) == 8
    assert trained_max_objects({"dataset": "vg", "max_objects_per_image": 10}) == 9
    assert trained_max_objects({"dataset": "vg", "max_objects_per_image": 10, "vg_original_object_sampling": 1}) == 10
    assert trained_max_objects({}) is None


def test_a_file_nested_too_deeply_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="nested too deeply"):
        load_scene_graphs(path)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 12) | st.floats(allow_nan=True) |
                    st.sampled_from(["sky", "grass", "sheep", "above", "__image__", "__in_image__", "", "x"]),
                    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
                        st.sampled_from(["objects", "relationships", "x"]), inner, max_size=3), max_leaves=30)
GRAPHS = st.one_of(JSON, st.fixed_dictionaries(
    {"objects": st.lists(st.sampled_from(["sky", "grass", "sheep", "cat"]), max_size=6),
     "relationships": st.lists(st.tuples(st.integers(-1, 6), st.sampled_from(["above", "on"]), st.integers(-1, 6))
                               .map(list), max_size=6)}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GRAPHS)
def test_any_json_is_a_valid_batch_or_a_data_error(data):
    """Arbitrary JSON through the parser: a batch that holds together, or the project's error, nothing else."""
    vocab = vocab_from_names(["sky", "grass", "sheep"], ["above"])
    try:
        objs, triples, obj_to_img = encode_scene_graphs(data, vocab, max_objects=8)
    except DataError:
        return
    assert objs.dtype == triples.dtype == obj_to_img.dtype == torch.long
    assert len(objs) == len(obj_to_img) and triples.shape[1] == 3
    assert int(triples[:, [0, 2]].max()) < len(objs) and int(triples[:, [0, 2]].min()) >= 0
    assert (obj_to_img[triples[:, 0]] == obj_to_img[triples[:, 2]]).all()  # no relationship across graphs
