"""Graph triple convolution (original ``sg2im/graph.py``; paper section 3, Eqs. 1-2)."""
from __future__ import annotations

import torch
from torch import nn

from .layers import build_mlp


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight)


def pool_edge_vectors(new_s: torch.Tensor, new_o: torch.Tensor, s_idx: torch.Tensor, o_idx: torch.Tensor,
                      num_objs: int, pooling: str) -> torch.Tensor:
    """Scatter-add the subject and object candidate vectors onto their objects (O, H); 'avg'
    divides by the number of appearances (as subject plus as object), clamped to >= 1."""
    hidden = new_s.shape[1]
    pooled = new_s.new_zeros(num_objs, hidden)
    pooled = pooled.index_add(0, s_idx, new_s).index_add(0, o_idx, new_o)
    if pooling == "avg":
        ones = new_s.new_ones(s_idx.shape[0])
        counts = new_s.new_zeros(num_objs).index_add(0, s_idx, ones).index_add(0, o_idx, ones)
        pooled = pooled / counts.clamp(min=1).unsqueeze(1)
    return pooled


class GraphTripleConv(nn.Module):
    """One graph convolution over (subject, predicate, object) triples.

    ``net1``: [v_s, v_p, v_o] (3 Din) -> H -> 2H + Dout, split into new_s, new_p, new_o;
    new_s/new_o are pooled per object (``pooling`` 'avg' or 'sum'); ``net2``: H -> H -> Dout.
    ReLU after every layer (also the last), BatchNorm1d before it if mlp_normalization='batch'.
    """

    def __init__(self, input_dim: int, output_dim: int | None = None, hidden_dim: int = 512,
                 pooling: str = "avg", mlp_normalization: str = "none"):
        super().__init__()
        if output_dim is None:
            output_dim = input_dim
        if pooling not in ("sum", "avg"):
            raise ValueError(f'unknown gconv_pooling "{pooling}"; choose "avg" or "sum"')
        self.input_dim, self.output_dim, self.hidden_dim = input_dim, output_dim, hidden_dim
        self.pooling = pooling
        self.net1 = build_mlp([3 * input_dim, hidden_dim, 2 * hidden_dim + output_dim], batch_norm=mlp_normalization)
        self.net1.apply(_init_weights)
        self.net2 = build_mlp([hidden_dim, hidden_dim, output_dim], batch_norm=mlp_normalization)
        self.net2.apply(_init_weights)

    def forward(self, obj_vecs: torch.Tensor, pred_vecs: torch.Tensor, edges: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """obj_vecs (O, Din), pred_vecs (T, Din), edges (T, 2) [s, o] -> (O, Dout), (T, Dout)."""
        H, Dout = self.hidden_dim, self.output_dim
        s_idx, o_idx = edges[:, 0], edges[:, 1]
        t_vecs = torch.cat([obj_vecs[s_idx], pred_vecs, obj_vecs[o_idx]], dim=1)
        new_t = self.net1(t_vecs)
        new_s, new_p, new_o = new_t[:, :H], new_t[:, H:H + Dout], new_t[:, H + Dout:2 * H + Dout]
        pooled = pool_edge_vectors(new_s, new_o, s_idx, o_idx, obj_vecs.shape[0], self.pooling)
        return self.net2(pooled), new_p


class GraphTripleConvNet(nn.Module):
    """A stack of ``num_layers`` GraphTripleConv(input_dim -> input_dim) sharing the same edges."""

    def __init__(self, input_dim: int, num_layers: int = 5, hidden_dim: int = 512, pooling: str = "avg",
                 mlp_normalization: str = "none"):
        super().__init__()
        self.num_layers = num_layers
        self.gconvs = nn.ModuleList(
            GraphTripleConv(input_dim, hidden_dim=hidden_dim, pooling=pooling, mlp_normalization=mlp_normalization)
            for _ in range(num_layers)
        )

    def forward(self, obj_vecs: torch.Tensor, pred_vecs: torch.Tensor, edges: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for gconv in self.gconvs:
            obj_vecs, pred_vecs = gconv(obj_vecs, pred_vecs, edges)
        return obj_vecs, pred_vecs
