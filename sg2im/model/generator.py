"""The sg2im generator (original ``sg2im/model.py``): scene graph -> image."""
from __future__ import annotations

import torch
from torch import nn

from sg2im.config.model import ModelConfig
from sg2im.errors import ParamsError
from sg2im.scene_graph import encode_scene_graphs

from .crn import RefinementNetwork
from .graph import GraphTripleConv, GraphTripleConvNet
from .layers import build_mlp
from .layout import masks_to_factorized_layout


class Sg2ImModel(nn.Module):
    """Generator: embeddings -> graph convolutions -> box and mask heads -> scene layout -> CRN.

    Built from a :class:`~sg2im.config.model.ModelConfig` (``build_generator`` takes the original's
    ``model_kwargs``). ``forward(objs, triples, obj_to_img=None, boxes_gt=None, masks_gt=None)`` returns
    ``(imgs, boxes_pred, masks_pred, rel_scores)`` as the original; the layout uses the GT boxes and masks
    when given, else the predictions. ``masks_pred`` is None when mask_size is 0.
    ``box_activation`` 'none' (not in the original) drops the final ReLU of the box head, which avoids the
    dying-ReLU box collapse seen at lr 5e-4; the parameters and state-dict keys are the same.
    """

    def __init__(self, vocab: dict, config: ModelConfig):
        super().__init__()
        try:
            config.check()
        except ValueError as err:
            raise ParamsError(f"model: {err}") from None
        self.config = config
        self.vocab = vocab
        self.image_size = config.size
        self.layout_noise_dim = layout_noise_dim = config.layout_noise_dim
        self.mask_size = mask_size = config.mask_size
        embedding_dim, gconv_dim, gconv_hidden_dim = config.embedding_dim, config.gconv_dim, config.gconv_hidden_dim
        gconv_pooling, mlp_normalization = config.gconv_pooling, config.mlp_normalization
        gconv_num_layers = config.gconv_num_layers
        num_objs = len(vocab["object_idx_to_name"])
        num_preds = len(vocab["pred_idx_to_name"])

        self.obj_embeddings = nn.Embedding(num_objs + 1, embedding_dim)
        self.pred_embeddings = nn.Embedding(num_preds, embedding_dim)

        if gconv_num_layers == 0:
            self.gconv: nn.Module = nn.Linear(embedding_dim, gconv_dim)
        else:
            self.gconv = GraphTripleConv(embedding_dim, gconv_dim, hidden_dim=gconv_hidden_dim,
                                         pooling=gconv_pooling, mlp_normalization=mlp_normalization)
        self.gconv_net = None
        if gconv_num_layers > 1:
            self.gconv_net = GraphTripleConvNet(gconv_dim, num_layers=gconv_num_layers - 1, hidden_dim=gconv_hidden_dim,
                                                pooling=gconv_pooling, mlp_normalization=mlp_normalization)

        self.box_net = build_mlp([gconv_dim, gconv_hidden_dim, 4], batch_norm=mlp_normalization)
        if config.box_activation == "none":  # drop only the final ReLU: same parameters and state-dict keys
            self.box_net = nn.Sequential(*list(self.box_net)[:-1])
        self.mask_net = self._build_mask_net(gconv_dim, mask_size) if mask_size else None
        self.rel_aux_net = build_mlp([2 * embedding_dim + 8, gconv_hidden_dim, num_preds], batch_norm=mlp_normalization)
        self.refinement_net = RefinementNetwork((gconv_dim + layout_noise_dim,) + config.refinement_network_dims,
                                                normalization=config.normalization, activation=config.activation)

    @staticmethod
    def _build_mask_net(dim: int, mask_size: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        cur = 1
        while cur < mask_size:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.BatchNorm2d(dim),
                       nn.Conv2d(dim, dim, kernel_size=3, padding=1), nn.ReLU()]
            cur *= 2
        layers.append(nn.Conv2d(dim, 1, kernel_size=1))
        return nn.Sequential(*layers)

    def forward(self, objs: torch.Tensor, triples: torch.Tensor, obj_to_img: torch.Tensor | None = None,
                boxes_gt: torch.Tensor | None = None, masks_gt: torch.Tensor | None = None):
        O = objs.shape[0]
        s, p, o = triples[:, 0], triples[:, 1], triples[:, 2]
        edges = torch.stack([s, o], dim=1)
        if obj_to_img is None:
            obj_to_img = torch.zeros(O, dtype=torch.long, device=objs.device)

        obj_vecs = self.obj_embeddings(objs)
        obj_vecs_orig = obj_vecs
        pred_vecs = self.pred_embeddings(p)
        if isinstance(self.gconv, nn.Linear):
            obj_vecs = self.gconv(obj_vecs)
        else:
            obj_vecs, pred_vecs = self.gconv(obj_vecs, pred_vecs, edges)
        if self.gconv_net is not None:
            obj_vecs, pred_vecs = self.gconv_net(obj_vecs, pred_vecs, edges)

        boxes_pred = self.box_net(obj_vecs)
        masks_pred = None
        if self.mask_net is not None:
            masks_pred = self.mask_net(obj_vecs.view(O, -1, 1, 1)).squeeze(1).sigmoid()

        rel_aux_input = torch.cat([boxes_pred[s], boxes_pred[o], obj_vecs_orig[s], obj_vecs_orig[o]], dim=1)
        rel_scores = self.rel_aux_net(rel_aux_input)

        H, W = self.image_size
        layout_boxes = boxes_pred if boxes_gt is None else boxes_gt
        layout_masks = None if masks_pred is None else (masks_pred if masks_gt is None else masks_gt)
        layout = masks_to_factorized_layout(obj_vecs, layout_boxes, layout_masks, obj_to_img, H, W)
        if self.layout_noise_dim > 0:
            N = layout.masks.shape[0]
            layout.noise = torch.randn(N, self.layout_noise_dim, H, W, dtype=obj_vecs.dtype, device=obj_vecs.device)
        imgs = self.refinement_net(layout)
        return imgs, boxes_pred, masks_pred, rel_scores

    def encode_scene_graphs(self, scene_graphs, source: str | None = None):
        """JSON scene graph(s) -> (objs, triples, obj_to_img) on the model's device."""
        device = next(self.parameters()).device
        return encode_scene_graphs(scene_graphs, self.vocab, device=device, source=source)

    def forward_json(self, scene_graphs, source: str | None = None):
        """Encode JSON scene graph(s) and run the model with predicted boxes and masks."""
        objs, triples, obj_to_img = self.encode_scene_graphs(scene_graphs, source=source)
        return self(objs, triples, obj_to_img)
