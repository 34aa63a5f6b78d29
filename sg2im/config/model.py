"""The networks' settings: the generator (paper section 3) and the two discriminators (section 3.3).

``ModelConfig`` is what ``Sg2ImModel`` is built from; a checkpoint stores it as the original's
``model_kwargs`` (:meth:`ModelConfig.model_kwargs`), so the original's tools read our checkpoints
and :meth:`ModelConfig.from_model_kwargs` reads theirs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sg2im.config.schema import setting

NORMALIZATIONS = ("batch", "instance", "none")
# model_kwargs keys of old released checkpoints that the model no longer takes (the original's
# scripts/strip_old_args.py drops the same ones).
DEPRECATED_MODEL_KWARGS = ("vec_noise_dim", "gconv_mode", "box_anchor", "decouple_obj_predictions")
# What the original Sg2ImModel constructor assumed when a model_kwargs key was absent.
ORIGINAL_CONSTRUCTOR_DEFAULTS = {"embedding_dim": 64, "mask_size": None, "layout_noise_dim": 0,
                                 "image_size": (64, 64)}
# model_kwargs name -> ModelConfig name, where they differ (the train.py flag vs the constructor argument).
_KWARG_NAMES = {"refinement_dims": "refinement_network_dims"}


def _activation_ok(name: str) -> bool:
    low = name.lower()
    if low in ("relu", "leakyrelu"):
        return True
    if low.startswith("leakyrelu-"):
        try:
            float(low[len("leakyrelu-"):])
            return True
        except ValueError:
            return False
    return False


@dataclass(frozen=True)
class ModelConfig:
    """The generator: embeddings -> graph convolution -> box and mask heads -> layout -> CRN."""

    image_size: tuple[int, ...] = setting((64, 64), "Generated image size H,W (also the layout size).")
    mask_size: int = setting(16, "Mask resolution (0: whole-box layouts, no mask net).")
    embedding_dim: int = setting(128, "Object/predicate embedding size.")
    gconv_dim: int = setting(128, "Graph-convolution vector size.")
    gconv_hidden_dim: int = setting(512, "Hidden size inside graph convolutions and the box head.")
    gconv_pooling: str = setting("avg", "Pooling of edge vectors in graph convolutions (original model default).",
                                 choices=("avg", "sum"))
    gconv_num_layers: int = setting(5, "Graph-convolution layers.")
    mlp_normalization: str = setting("none", "Normalisation in MLPs: none or batch.", choices=("none", "batch"))
    refinement_network_dims: tuple[int, ...] = setting((1024, 512, 256, 128, 64),
                                                       "CRN module widths (image_size / 2^len must be whole).")
    normalization: str = setting("batch", "CRN normalisation: batch, instance or none.", choices=NORMALIZATIONS)
    activation: str = setting("leakyrelu-0.2", "CRN activation.")
    layout_noise_dim: int = setting(32, "Noise channels concatenated to the layout.")
    box_activation: str = setting("relu", "Final activation of the box head (not in the original; relu is the "
                                  "original, none avoids the dead-ReLU box collapse).", choices=("relu", "none"),
                                  new=True)

    def __post_init__(self) -> None:
        if len(self.image_size) == 1:  # "64" means 64x64
            object.__setattr__(self, "image_size", (self.image_size[0],) * 2)

    @property
    def size(self) -> tuple[int, int]:
        return (self.image_size[0], self.image_size[-1])

    def check(self) -> None:
        if len(self.image_size) not in (1, 2):
            raise ValueError(f"image_size must be H,W, got {self.image_size}")
        for name, allowed in (("normalization", NORMALIZATIONS), ("gconv_pooling", ("avg", "sum")),
                              ("mlp_normalization", ("none", "batch")), ("box_activation", ("relu", "none"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f'unknown {name} "{getattr(self, name)}"; choose one of {", ".join(allowed)}')
        if not _activation_ok(self.activation):
            raise ValueError(f'unknown activation "{self.activation}"; use relu, leakyrelu or leakyrelu-<slope>')
        if self.mask_size < 0 or (self.mask_size and self.mask_size & (self.mask_size - 1)):
            raise ValueError(f"mask_size must be 0 or a power of 2, got {self.mask_size}")
        if self.gconv_num_layers < 0:
            raise ValueError(f"gconv_num_layers must be >= 0, got {self.gconv_num_layers}")
        if not self.refinement_network_dims:
            raise ValueError("refinement_network_dims must not be empty")
        levels = 2 ** len(self.refinement_network_dims)
        if any(side % levels or side < levels for side in self.size):
            raise ValueError(f"image_size {self.size} must be divisible by 2^len(refinement_network_dims) = "
                             f"{levels} (one halving per CRN module); drop a CRN module or enlarge the image.")

    def model_kwargs(self, vocab: dict) -> dict[str, Any]:
        """The original's ``model_kwargs`` (``Sg2ImModel(**model_kwargs)`` in the original code)."""
        return {"vocab": vocab, "image_size": self.size, "embedding_dim": self.embedding_dim,
                "gconv_dim": self.gconv_dim, "gconv_hidden_dim": self.gconv_hidden_dim,
                "gconv_pooling": self.gconv_pooling, "gconv_num_layers": self.gconv_num_layers,
                "mlp_normalization": self.mlp_normalization, "refinement_dims": self.refinement_network_dims,
                "normalization": self.normalization, "activation": self.activation, "mask_size": self.mask_size,
                "layout_noise_dim": self.layout_noise_dim, "box_activation": self.box_activation}

    @classmethod
    def from_model_kwargs(cls, kwargs: dict[str, Any]) -> tuple["ModelConfig", dict, list[str]]:
        """(config, vocab, ignored keys) from a checkpoint's ``model_kwargs`` (ours or the original's)."""
        from sg2im.config.schema import build, flat_fields

        known = {i.name for i in flat_fields(cls)}
        values: dict[str, Any] = dict(ORIGINAL_CONSTRUCTOR_DEFAULTS)
        ignored = []
        for key, value in kwargs.items():
            name = _KWARG_NAMES.get(key, key)
            if key == "vocab":
                continue
            if name in known:
                values[name] = value
            else:
                ignored.append(key)
        values["mask_size"] = values.get("mask_size") or 0
        values["image_size"] = tuple(values["image_size"])
        return build(cls, values, "checkpoint model_kwargs", "model"), kwargs.get("vocab"), ignored


@dataclass(frozen=True)
class DiscriminatorConfig:
    """D_obj (auxiliary-classifier crop discriminator) and D_img (patch discriminator)."""

    gan_loss_type: str = setting("gan", "GAN loss.", choices=("gan", "lsgan", "wgan"))
    d_clip: float | None = setting(None, "Clip discriminator weights to +-this after each D step (WGAN; the "
                                   "original never clipped).")
    d_normalization: str = setting("batch", "Discriminator normalisation.", choices=NORMALIZATIONS)
    d_padding: str = setting("valid", "Discriminator conv padding.", choices=("valid", "same"))
    d_activation: str = setting("leakyrelu-0.2", "Discriminator activation.")
    d_obj_arch: str = setting("C4-64-2,C4-128-2,C4-256-2", "Object discriminator architecture string.")
    crop_size: int = setting(32, "Object crop size for D_obj.")
    d_img_arch: str = setting("C4-64-2,C4-128-2,C4-256-2", "Image (patch) discriminator architecture string.")

    def check(self) -> None:
        if not _activation_ok(self.d_activation):
            raise ValueError(f'unknown d_activation "{self.d_activation}"')

    def d_obj_kwargs(self, vocab: dict) -> dict[str, Any]:
        """The original's ``d_obj_kwargs``."""
        return {"vocab": vocab, "arch": self.d_obj_arch, "normalization": self.d_normalization,
                "activation": self.d_activation, "padding": self.d_padding, "object_size": self.crop_size}

    def d_img_kwargs(self) -> dict[str, Any]:
        """The original's ``d_img_kwargs``."""
        return {"arch": self.d_img_arch, "normalization": self.d_normalization, "activation": self.d_activation,
                "padding": self.d_padding}
