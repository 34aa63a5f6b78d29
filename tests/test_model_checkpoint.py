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
