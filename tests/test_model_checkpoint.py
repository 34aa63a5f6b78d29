"""build_generator / load_generator round trips with weights_only=True."""
import pytest
import torch

from sg2im.errors import DataError
from sg2im.model import build_generator, load_generator
from sg2im.scene_graph import vocab_from_names

KWARGS = dict(image_size=[16, 16], embedding_dim=8, gconv_dim=8, gconv_hidden_dim=16, refinement_dims=[8, 4],
              mask_size=8, layout_noise_dim=0, normalization="batch", activation="leakyrelu-0.2",
              mlp_normalization="none", gconv_num_layers=2)


class Unsafe:  # a class torch.load(weights_only=True) refuses to unpickle
    pass


def _kwargs():
    return dict(KWARGS, vocab=vocab_from_names(["sky", "sheep"], ["above"]))


def _graph():
    return {"objects": ["sky", "sheep"], "relationships": [[0, "above", 1]]}


@pytest.mark.parametrize("prefix", ["", "module."])
def test_round_trip_stripped_and_full_checkpoints(tmp_path, prefix):
    torch.manual_seed(0)
    model = build_generator(_kwargs())
    assert model.image_size == (16, 16)
    with torch.no_grad():
        model(*model.encode_scene_graphs(_graph()))  # move BN running stats away from the defaults
    model.eval()
    state = {prefix + k: v for k, v in model.state_dict().items()}
    full = {"args": {"batch_size": 32}, "model_kwargs": _kwargs(), "model_state": state, "counters": {"t": 5, "epoch": 0},
            "losses": {"total_loss": [1.0, 0.5]}, "d_obj_state": {}, "optim_state": None}
    path = tmp_path / "ckpt.pt"
    torch.save(full, path)
    loaded, ckpt = load_generator(path, "cpu")
    assert not loaded.training and ckpt["counters"]["t"] == 5 and ckpt["losses"]["total_loss"] == [1.0, 0.5]
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    with torch.no_grad():
        a = model.forward_json(_graph())[0]
        b = loaded.forward_json(_graph())[0]
    assert torch.allclose(a, b)


def test_missing_keys_and_unsafe_files_are_data_errors(tmp_path):
    model = build_generator(_kwargs())
    path = tmp_path / "no_model.pt"
    torch.save({"model_kwargs": _kwargs()}, path)
    with pytest.raises(DataError, match=r"no_model\.pt.*model_state"):
        load_generator(path)
    state = model.state_dict()
    state.pop("box_net.0.weight")
    torch.save({"model_kwargs": _kwargs(), "model_state": state}, tmp_path / "partial.pt")
    with pytest.raises(DataError, match=r"partial\.pt.*box_net\.0\.weight"):
        load_generator(tmp_path / "partial.pt")

    torch.save({"model_kwargs": _kwargs(), "model_state": model.state_dict(), "extra": Unsafe()}, tmp_path / "unsafe.pt")
    with pytest.raises(DataError, match=r"unsafe\.pt.*Unsafe.*trust"):
        load_generator(tmp_path / "unsafe.pt")
    loaded, _ = load_generator(tmp_path / "unsafe.pt", trust_checkpoint=True)
    assert isinstance(loaded, torch.nn.Module)
    with pytest.raises(DataError, match="does not exist"):
        load_generator(tmp_path / "absent.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match=r"garbage\.pt"):
        load_generator(tmp_path / "garbage.pt")


# ------------------------------------------------------------------ sg2im/checkpoint.py, piece by piece
def test_a_pair_is_written_whole_and_only_after_the_space_it_needs_is_there(tmp_path, monkeypatch):
    from sg2im import checkpoint as ck
    from sg2im import disk

    asked = []
    monkeypatch.setattr(disk, "check_free_space", lambda folder, needed, what: asked.append((folder, needed, what)))
    state = {"w": torch.zeros(1000, dtype=torch.float32), "b": torch.zeros(10, dtype=torch.float64)}
    checkpoint = {"model_state": state, "d_obj_state": {"v": torch.ones(3)}, "counters": {"t": 4}, "losses_ts": [2, 4]}
    with_model, no_model = ck.save_checkpoint_pair(checkpoint, tmp_path / "c_with_model.pt", tmp_path / "c_no_model.pt")
    assert asked == [(tmp_path, int(1.05 * (4000 + 80 + 12)) + (1 << 20),
                      "the checkpoint c_with_model.pt (the last one stays until it is written)")]
    assert torch.equal(torch.load(with_model, weights_only=True)["model_state"]["w"], state["w"])
    assert torch.load(no_model, weights_only=True) == {"counters": {"t": 4}, "losses_ts": [2, 4]}


def test_the_no_model_half_is_rewritten_only_when_it_lags_the_resumed_checkpoint(tmp_path, capsys):
    from sg2im import checkpoint as ck

    no_model = tmp_path / "c_no_model.pt"
    resumed = {"model_state": {"w": torch.ones(2)}, "counters": {"t": 6}, "losses_ts": [2, 4, 6]}
    assert ck.complete_pair(resumed, no_model) is True  # missing: written
    assert torch.load(no_model, weights_only=True) == {"counters": {"t": 6}, "losses_ts": [2, 4, 6]}
    assert "was one checkpoint behind" in capsys.readouterr().out
    before = no_model.stat().st_mtime_ns
    assert ck.complete_pair(resumed, no_model) is False and no_model.stat().st_mtime_ns == before
    for lagging in ({"counters": {"t": 4}, "losses_ts": [2, 4, 6]}, {"counters": {"t": 6}, "losses_ts": [2, 4]}):
        ck.atomic_torch_save(lagging, no_model)
        assert ck.complete_pair(resumed, no_model) is True
        assert torch.load(no_model, weights_only=True) == {"counters": {"t": 6}, "losses_ts": [2, 4, 6]}
    no_model.write_bytes(b"cut")  # unreadable: written again
    assert ck.complete_pair(resumed, no_model) is True


def test_tensor_bytes_and_state_prefixes():
    from sg2im.checkpoint import strip_state_prefix, tensor_bytes

    nested = {"a": torch.zeros(3, dtype=torch.float16), "b": [torch.zeros(2, 2), (torch.zeros(1, dtype=torch.int64),)],
              "c": "text", "d": 7}
    assert tensor_bytes(nested) == 3 * 2 + 4 * 4 + 8
    state = {"module._orig_mod.x": 1, "_orig_mod.module.y": 2, "modulez": 3, "module.": 4, "conv.module.w": 5}
    assert strip_state_prefix(state) == {"x": 1, "y": 2, "modulez": 3, "": 4, "conv.module.w": 5}


def test_strip_checkpoint_keeps_what_generation_needs_and_takes_the_vocab_along():
    from sg2im.checkpoint import strip_checkpoint

    vocab = vocab_from_names(["sky"], ["above"])
    full = {"args": {"a": 1}, "model_kwargs": {"image_size": [8, 8]}, "model_state": {"w": torch.ones(1)},
            "vocab": vocab, "mlflow_run_id": "r", "counters": {"t": 3}, "optim_state": {}, "d_obj_state": {"v": 1},
            "d_obj_kwargs": {"arch": "x"}, "d_img_state": {"u": 2}, "d_img_kwargs": {"arch": "y"}}
    out = strip_checkpoint(full)  # keeps the discriminators by default
    assert out == {"args": {"a": 1}, "model_kwargs": {"image_size": [8, 8], "vocab": vocab},
                   "model_state": {"w": torch.ones(1)}, "mlflow_run_id": "r", "counters": {"t": 3},
                   "d_obj_state": {"v": 1}, "d_obj_kwargs": {"arch": "x"}, "d_img_state": {"u": 2},
                   "d_img_kwargs": {"arch": "y"}}
    assert "vocab" not in full["model_kwargs"]  # the caller's dict untouched
    own = strip_checkpoint({**full, "model_kwargs": {"vocab": {"own": 1}}}, keep_discriminators=False)
    assert own["model_kwargs"] == {"vocab": {"own": 1}} and "d_obj_state" not in own
    assert "vocab" not in strip_checkpoint({**full, "vocab": None})["model_kwargs"]
    for missing in ("model_state", "model_kwargs"):
        with pytest.raises(DataError) as err:
            strip_checkpoint({**full, missing: None})
        assert str(err.value) == ("the checkpoint has no model_state/model_kwargs (is it a _no_model.pt file?). "
                                  "Strip the _with_model.pt checkpoint instead.")


def test_read_checkpoint_errors_word_for_word(tmp_path):
    import collections

    from sg2im.checkpoint import read_checkpoint

    with pytest.raises(DataError) as err:
        read_checkpoint(tmp_path / "absent.pt")
    assert str(err.value) == (f"checkpoint {tmp_path / 'absent.pt'} does not exist. Train first (`dvc repro train`) "
                              "or fix the path.")
    torch.save({"losses": collections.defaultdict(list)}, tmp_path / "dd.pt")
    with pytest.raises(DataError) as err:
        read_checkpoint(tmp_path / "dd.pt")
    assert str(err.value) == (
        f"checkpoint {tmp_path / 'dd.pt'} cannot be loaded safely with weights_only=True (it contains "
        "collections.defaultdict). If you trust the file (an original sg2im checkpoint), load it with "
        "--trust_checkpoint 1, or convert it once with stages/convert_checkpoint.py.")
    assert read_checkpoint(tmp_path / "dd.pt", trust=True)["losses"] == {}
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(DataError) as err:
        read_checkpoint(tmp_path / "list.pt")
    assert str(err.value) == (f"checkpoint {tmp_path / 'list.pt'} holds a list, expected a dict with model_kwargs "
                              "and model_state")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "dd.pt").read_bytes()[:40])
    with pytest.raises(DataError) as err:
        read_checkpoint(tmp_path / "cut.pt", trust=True)
    assert str(err.value).startswith(f"checkpoint {tmp_path / 'cut.pt'} is not a readable torch checkpoint (")
    assert "NoneType" not in str(err.value) and "Error: " in str(err.value)  # names what torch raised
    assert str(err.value).endswith("it is truncated or not a checkpoint: delete it and train (or download) it again.")
    assert read_checkpoint(tmp_path / "dd.pt", trust=True, map_location="meta") == {"losses": {}}


def test_to_plain_keeps_tuples_and_writes_paths_as_text():
    from pathlib import Path

    import numpy as np

    from sg2im.checkpoint import to_plain

    plain = to_plain({"size": (64, 64), "dims": [1, 2], "out": Path("models/x.pt"), "lr": np.float32(0.5),
                      "arr": np.arange(3)})
    assert plain["size"] == (64, 64) and isinstance(plain["size"], tuple) and isinstance(plain["dims"], list)
    assert plain["out"] == "models/x.pt" and plain["lr"] == 0.5 and type(plain["lr"]) is float
    assert torch.equal(plain["arr"], torch.arange(3))
