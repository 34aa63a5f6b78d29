"""The FID/IS network is the standard one: the project's port of the TF-2015 Inception
(sg2im/metrics/inception_net.py) and pytorch-fid's own (a test-only dependency) load the same state dict in
pytorch-fid's `pt_inception` layout (random weights: the real file cannot be downloaded here) and give the same
pool3 features and logits on the same images, through the same resize (bilinear to 299, align_corners=False)
and scaling ([0, 1] -> [-1, 1]). A published FID and ours are then computed by the same network."""
from __future__ import annotations

import pytorch_fid.inception as reference
import torch
import torch.nn.functional as F

from sg2im.metrics.inception import load_inception, sha256_of_file
from sg2im.metrics.inception_net import build_fid_inception


def test_our_inception_and_pytorch_fids_give_the_same_features_and_logits(tmp_path, monkeypatch):
    torch.manual_seed(0)
    state = build_fid_inception().state_dict()
    for key, value in state.items():  # running statistics that are not the identity, so they are exercised
        if key.endswith("running_mean"):
            state[key] = 0.1 * torch.randn_like(value)
        elif key.endswith("running_var"):
            state[key] = 1.0 + 0.2 * torch.rand_like(value)
    path = tmp_path / "pt_inception-random.pth"
    torch.save(state, path)

    ours, info = load_inception(path, sha256_of_file(path))
    assert info["architecture"] == "pytorch-fid"
    # pytorch-fid builds its network exactly as it does for the real file, which it would download: given ours
    monkeypatch.setattr(reference, "load_state_dict_from_url", lambda *args, **kwargs: torch.load(path))
    theirs_pool = reference.InceptionV3([reference.InceptionV3.BLOCK_INDEX_BY_DIM[2048]], resize_input=True,
                                        normalize_input=True, use_fid_inception=True).eval()
    theirs_net = reference.fid_inception_v3().eval()

    blocks = ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
              "Mixed_7a", "Mixed_7b", "Mixed_7c"]
    outputs: dict[str, dict[str, torch.Tensor]] = {"ours": {}, "theirs": {}}
    for side, net in (("ours", ours.net), ("theirs", theirs_net)):
        for name in blocks:
            getattr(net, name).register_forward_hook(
                lambda module, args, out, side=side, name=name: outputs[side].__setitem__(name, out))
    images = torch.rand(3, 3, 64, 64)  # generated images in [0, 1], at the size the models make
    pool, logits = ours(images)
    with torch.no_grad():
        their_pool = theirs_pool(images)[0].flatten(1)
        scaled = 2 * F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False) - 1
        their_logits = theirs_net(scaled)
    print("SCALE", float(their_pool.abs().max()), float((pool - their_pool).abs().max()), float(their_logits.abs().max()), float((logits-their_logits).abs().max()))
    assert pool.shape == (3, 2048) and logits.shape == (3, 1008)
    torch.testing.assert_close(pool, their_pool, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(logits, their_logits, rtol=1e-4, atol=1e-4 * float(their_logits.abs().max()))
    # block by block (a difference in one block, e.g. an average pool that counts the padding, shows there
    # before later blocks wash it out)
    for name in blocks:
        a, b = outputs["ours"][name], outputs["theirs"][name]
        assert float((a - b).abs().max()) <= 1e-5 * float(b.abs().max()), f"{name} differs"
