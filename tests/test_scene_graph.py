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


def _message(graphs, source="f.json", vocab=VOCAB, **kwargs) -> str:
    with pytest.raises(DataError) as err:
        encode_scene_graphs(graphs, vocab, source=source, **kwargs)
    return str(err.value)


def test_every_refusal_says_what_and_where_word_for_word():
    """The whole message of each refusal (the words a user reads), with and without a file name."""
    two = ["sky", "grass"]
    assert _message([{"objects": ["sky", "shep"]}]) == (
        'scene graph 0 in f.json: objects[1] "shep" is not an object of the model\'s vocabulary; closest: \'sheep\'. '
        "Use names from the checkpoint's vocab (object names differ between COCO and VG).")
    assert _message([{"objects": ["zzzz"]}], source=None) == (
        'scene graph 0: objects[0] "zzzz" is not an object of the model\'s vocabulary. '
        "Use names from the checkpoint's vocab (object names differ between COCO and VG).")
    assert _message([{"objects": two, "relationships": [[0, "abov", 1]]}]) == (
        'scene graph 0 in f.json: relationships[0] predicate "abov" is not a predicate of the model\'s vocabulary; '
        "closest: 'above'. Use names from the checkpoint's vocab (predicate names differ between COCO and VG).")
    assert _message([{"objects": two, "relationships": [[0, 7, 1]]}]) == (
        "scene graph 0 in f.json: relationships[0] predicate must be a predicate name (a string), got 7")
    assert _message([{"objects": ["sky", None]}]) == (
        "scene graph 0 in f.json: objects[1] must be an object name (a string), got None")
    assert _message([{"objects": two, "relationships": [[0, "above", 2]]}]) == (
        "scene graph 0 in f.json: relationships[0] object index 2 is out of range; the graph has 2 objects "
        "(indices 0..1)")
    assert _message([{"objects": two, "relationships": [[1, "above", 1]]}]) == (
        "scene graph 0 in f.json: relationships[0] relates object 1 to itself; the model was never trained on such "
        "a relationship (generate.allow_self_relationships 1 allows it)")
    assert _message([{"objects": ["__sky__"]}]) == (
        'scene graph 0 in f.json: objects[0] "__sky__" is reserved: the model adds __image__ and __in_image__ to '
        "every graph itself. Use an object name of the vocabulary.")
    assert _message([]) == "scene graphs in f.json must be a dict or a non-empty list of dicts, got an empty list"
    assert _message("sky", source=None) == "scene graphs must be a dict or a non-empty list of dicts, got str"
    assert _message([3]) == 'scene graph 0 in f.json: must be a dict with "objects" and "relationships", got int'
    assert _message([{"objects": "sky"}]) == (
        'scene graph 0 in f.json: "objects" must be a list of object names, got str')
    assert _message([{"objects": ["sky"], "relationships": "x"}]) == (
        'scene graph 0 in f.json: "relationships" must be a list of [subject, "predicate", object], got str')
    limit = _message([{"objects": ["sky"] * 3}], max_objects=2)
    assert limit == ('scene graph 0 in f.json: "objects" has 3 objects; the model was trained on images with at most '
                     "2, and a larger graph gives an image that means nothing. Split the graph (or set "
                     "generate.max_objects_per_graph if you know better).")
    from sg2im.scene_graph import MAX_GRAPHS

    many = _message([{"objects": ["sky"]}] * (MAX_GRAPHS + 1))
    assert many == (f"{MAX_GRAPHS + 1} scene graphs in f.json: at most {MAX_GRAPHS} at a time (they go through the "
                    "model as one batch); split the file")
    assert len(encode_scene_graphs([{"objects": ["sky"]}] * MAX_GRAPHS, VOCAB)[0]) == 2 * MAX_GRAPHS  # at the limit


def test_graphs_without_relationships_and_tensors_are_long_on_the_device_asked_for():
    objs, triples, obj_to_img = encode_scene_graphs([{"objects": ["sky"]}, {"objects": ["grass", "sky"]}], VOCAB,
                                                    device=torch.device("cpu"))
    assert objs.tolist() == [1, 0, 3, 1, 0] and obj_to_img.tolist() == [0, 0, 1, 1, 1]
    assert triples.tolist() == [[0, 0, 1], [2, 0, 4], [3, 0, 4]]
    assert {t.dtype for t in (objs, triples, obj_to_img)} == {torch.long}


def test_reserved_names_are_double_underscored_on_both_sides_and_longer_than_four():
    from sg2im.scene_graph import reserved, trained_max_objects

    assert reserved("__image__") and reserved("__a__") and reserved("_____")
    assert not reserved("____") and not reserved("__sky") and not reserved("sky__") and not reserved("sky")
    assert trained_max_objects({"dataset": "coco", "coco_max_objects_per_image": 5}) == 5
    assert trained_max_objects({"dataset": "vg"}) is None
    assert trained_max_objects({"max_objects_per_image": 10}) is None


def test_vocabularies_without_the_model_s_own_tokens_are_refused_each():
    for vocab in ({"object_name_to_idx": {"__image__": 0}, "pred_name_to_idx": {"on": 0}},
                  {"object_name_to_idx": {"sky": 0}, "pred_name_to_idx": {"__in_image__": 0}}):
        with pytest.raises(DataError, match='lacks "__image__" or "__in_image__"'):
            encode_scene_graphs({"objects": ["sky"]}, vocab)
    with pytest.raises(DataError, match='vocabulary has no "pred_name_to_idx" mapping'):
        encode_scene_graphs({"objects": ["sky"]}, {"object_name_to_idx": {"__image__": 0}})


def test_vocab_index_map_between_a_data_and_a_model_vocabulary():
    from sg2im.scene_graph import vocab_index_map

    data = vocab_from_names(["sky", "grass"], ["above", "below"])
    assert vocab_index_map(data, data, "d") is None
    model = vocab_from_names(["grass", "tree", "sky"], ["above", "below", "beside"])  # objects reordered, a predicate more
    objs, preds = vocab_index_map(data, model, "d")
    assert objs.tolist() == [0, 3, 1] and objs.dtype == torch.long  # __image__, sky, grass in the model's indices
    assert preds.tolist() == [0, 1, 2] and preds.dtype == torch.long  # same names, same order: the identity
    same_objects = vocab_from_names(["sky", "grass"], ["below", "above"])
    objs, preds = vocab_index_map(data, same_objects, "d")
    assert objs.tolist() == [0, 1, 2] and preds.tolist() == [0, 2, 1]
    data_none = {**data, "object_idx_to_name": data["object_idx_to_name"] + ["NONE"]}  # COCO's unnamed category
    assert vocab_index_map(data_none, model, "d")[0].tolist() == [0, 3, 1, 0]
    with pytest.raises(DataError) as err:
        vocab_index_map(vocab_from_names(["sky", "cat", "dog"], ["on"]), model, "data/vg/vocab.json")
    assert str(err.value) == (
        "data/vg/vocab.json: the model's vocabulary lacks the objects ['cat', 'dog'] of the data; evaluate a model on "
        "the dataset it was trained on (COCO names and VG names differ).")
    with pytest.raises(DataError, match=r"lacks the predicates \['on'\]"):
        vocab_index_map(vocab_from_names(["sky"], ["on"]), vocab_from_names(["sky", "tree"], ["above"]), "d")


def test_at_most_three_closest_names_and_file_level_refusals_word_for_word(tmp_path):
    vocab = vocab_from_names(["sheep", "sheet", "shed", "sheen", "sky"], ["above"])
    message = _message([{"objects": ["shee"]}], vocab=vocab, source=None)
    assert "vocabulary; closest: 'sheet', 'sheep', 'sheen'. Use names" in message  # three of four, best first
    from sg2im.scene_graph import MAX_GRAPHS

    assert _message([{"objects": ["sky"]}] * (MAX_GRAPHS + 1), source=None).startswith(
        f"{MAX_GRAPHS + 1} scene graphs: at most {MAX_GRAPHS} at a time")
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 200000 + "]" * 200000)
    with pytest.raises(DataError) as err:
        load_scene_graphs(nested)
    assert str(err.value) == (f"scene-graph file {nested} is nested too deeply to be a scene graph (a scene graph is a "
                              "dict with a list of names and a list of [subject, predicate, object])")
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps([{"objects": ["sky"]}, 5]))
    with pytest.raises(DataError) as err:
        load_scene_graphs(mixed)
    assert str(err.value) == f'scene graph 1 in {mixed}: must be a dict with "objects" and "relationships", got int'


def test_vocab_index_map_with_the_same_predicates_and_many_missing_names():
    from sg2im.scene_graph import vocab_index_map

    data = vocab_from_names(["sky", "grass"], ["above", "below"])
    objs, preds = vocab_index_map(data, vocab_from_names(["grass", "sky"], ["above", "below"]), "d")
    assert objs.tolist() == [0, 2, 1] and preds.tolist() == [0, 1, 2]  # predicates the same: the identity
    many = vocab_from_names([f"thing{i}" for i in range(10)], ["above"])
    with pytest.raises(DataError) as err:
        vocab_index_map(many, data, "d")
    assert f"lacks the objects {[f'thing{i}' for i in range(8)]} of the data" in str(err.value)


def test_a_name_half_like_a_vocabulary_name_is_still_offered_and_binary_files_are_named(tmp_path):
    message = _message([{"objects": ["skate"]}], vocab=vocab_from_names(["sky"], ["above"]), source=None)
    assert "; closest: 'sky'." in message  # similarity exactly 0.5: offered
    binary = tmp_path / "g.json"
    binary.write_bytes(b'{"objects": ["\xff"]}')
    with pytest.raises(DataError) as err:
        load_scene_graphs(binary)
    assert str(err.value) == f"scene-graph file {binary} is not UTF-8 text"
