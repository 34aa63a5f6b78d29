"""Stage train: the original scripts/train.py flags, one training run, MLflow tracking.

    python stages/train.py                          # params.yaml [train]
    python stages/train.py --batch_size 8 --dataset vg
    torchrun --standalone --nproc_per_node 2 stages/train.py   # DistributedDataParallel

Writes models/<checkpoint_name>_{with,no}_model.pt (resumable), metrics/train.json,
plots/train_losses.{csv,png} and plots/train_samples.png.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sg2im.params import Param, bool_flag, int_tuple, load_params, optional, run_stage, str_tuple  # noqa: E402

PARAMS = [
    # ---- dataset and optimisation
    Param("dataset", "coco", "Dataset to train on.", type=str, choices=("coco", "vg")),
    Param("batch_size", 32, "Scene graphs per minibatch (per process under torchrun).", type=int),
    Param("num_iterations", 1000000, "Training iterations; the run stops at exactly this t.", type=int),
    Param("learning_rate", 1e-4, "Adam learning rate of G, D_obj and D_img.", type=float),
    Param("eval_mode_after", 100000, "At this t, G switches to eval mode (BatchNorm running stats) with a fresh Adam.", type=int),
    # ---- common data
    Param("image_size", (64, 64), "Generated image size H,W (also the layout size).", type=int_tuple),
    Param("num_train_samples", None, "Cap on training images (None: all).", type=optional(int)),
    Param("num_val_samples", 1024, "Images used by each validation check.", type=int),
    Param("shuffle_val", True, "Shuffle the validation images (1/0).", type=bool_flag),
    Param("loader_num_workers", 4, "DataLoader worker processes (0: load in the main process; resume is bit-exact only with 0).", type=int),
    Param("include_relationships", True, "Use relationships (0: the 'no relationships' ablation).", type=bool_flag),
    # ---- Visual Genome
    Param("vg_image_dir", "data/vg/images", "VG image folder (original datasets/vg/images).", type=str),
    Param("train_h5", "data/vg/train.h5", "VG train split from preprocess_vg.", type=str),
    Param("val_h5", "data/vg/val.h5", "VG val split from preprocess_vg.", type=str),
    Param("vocab_json", "data/vg/vocab.json", "VG vocabulary from preprocess_vg.", type=str),
    Param("max_objects_per_image", 10, "VG: objects per image are randomly sub-sampled to this.", type=int),
    Param("vg_use_orphaned_objects", True, "VG: include objects in no relationship (1/0).", type=bool_flag),
    Param("vg_original_object_sampling", False, "VG: 1 = the original's off-by-one (up to max_objects_per_image real "
          "objects plus __image__); 0 = at most max_objects_per_image objects in all. Not in the original.",
          type=bool_flag),
    # ---- COCO
    Param("coco_train_image_dir", "data/coco/images/train2017", "COCO train images.", type=str),
    Param("coco_val_image_dir", "data/coco/images/val2017", "COCO val images.", type=str),
    Param("coco_train_instances_json", "data/coco/annotations/instances_train2017.json", "COCO train instances.", type=str),
    Param("coco_train_stuff_json", "data/coco/annotations/stuff_train2017.json", "COCO-Stuff train annotations.", type=str),
    Param("coco_val_instances_json", "data/coco/annotations/instances_val2017.json", "COCO val instances.", type=str),
    Param("coco_val_stuff_json", "data/coco/annotations/stuff_val2017.json", "COCO-Stuff val annotations.", type=str),
    Param("instance_whitelist", None, "Comma list of COCO thing categories to keep (None: all).", type=str_tuple),
    Param("stuff_whitelist", None, "Comma list of COCO stuff categories to keep (None: all but 'other').", type=str_tuple),
    Param("coco_include_other", False, "Keep COCO-Stuff 'other' annotations (1/0).", type=bool_flag),
    Param("min_object_size", 0.02, "COCO: drop objects smaller than this fraction of the image.", type=float),
    Param("min_objects_per_image", 3, "COCO: drop images with fewer objects.", type=int),
    Param("coco_stuff_only", True, "COCO: only images with Stuff annotations (1/0).", type=bool_flag),
    Param("cache_dir", "data/cache", "Decoded image/mask cache (not in the original; empty: no cache).", type=str),
    # ---- generator
    Param("mask_size", 16, "Mask resolution (0: whole-box layouts, no mask net).", type=int),
    Param("embedding_dim", 128, "Object/predicate embedding size.", type=int),
    Param("gconv_dim", 128, "Graph-convolution vector size.", type=int),
    Param("gconv_hidden_dim", 512, "Hidden size inside graph convolutions and the box head.", type=int),
    Param("gconv_pooling", "avg", "Pooling of edge vectors in graph convolutions (original model default).", type=str, choices=("avg", "sum")),
    Param("gconv_num_layers", 5, "Graph-convolution layers.", type=int),
    Param("mlp_normalization", "none", "Normalisation in MLPs: none or batch.", type=str, choices=("none", "batch")),
    Param("refinement_network_dims", (1024, 512, 256, 128, 64), "CRN module widths (image_size / 2^len must be whole).", type=int_tuple),
    Param("normalization", "batch", "CRN normalisation: batch, instance or none.", type=str, choices=("batch", "instance", "none")),
    Param("activation", "leakyrelu-0.2", "CRN activation.", type=str),
    Param("layout_noise_dim", 32, "Noise channels concatenated to the layout.", type=int),
    Param("box_activation", "relu", "Final activation of the box head (not in the original; relu is the original, none avoids the dead-ReLU box collapse).", type=str, choices=("relu", "none")),
    Param("use_boxes_pred_after", -1, "UNUSED, kept for compatibility (defined but never read by the original).", type=int),
    # ---- generator losses
    Param("mask_loss_weight", 0.0, "Mask BCE weight (0: masks weakly supervised).", type=float, paper=0.1),
    Param("l1_pixel_loss_weight", 1.0, "L1 pixel loss weight.", type=float),
    Param("bbox_pred_loss_weight", 10.0, "Box MSE weight.", type=float),
    Param("predicate_pred_loss_weight", 0.0, "Predicate CE weight (deprecated in the original).", type=float),
    # ---- discriminators
    Param("discriminator_loss_weight", 0.01, "Weight of fooling the discriminators (0: no discriminators).", type=float),
    Param("gan_loss_type", "gan", "GAN loss.", type=str, choices=("gan", "lsgan", "wgan")),
    Param("d_clip", None, "Clip discriminator weights to +-this after each D step (WGAN; the original never clipped).", type=optional(float)),
    Param("d_normalization", "batch", "Discriminator normalisation.", type=str, choices=("batch", "instance", "none")),
    Param("d_padding", "valid", "Discriminator conv padding.", type=str, choices=("valid", "same")),
    Param("d_activation", "leakyrelu-0.2", "Discriminator activation.", type=str),
    Param("d_obj_arch", "C4-64-2,C4-128-2,C4-256-2", "Object discriminator architecture string.", type=str),
    Param("crop_size", 32, "Object crop size for D_obj.", type=int),
    Param("d_obj_weight", 1.0, "Relative weight of D_obj's GAN loss for G (0: no D_obj).", type=float),
    Param("ac_loss_weight", 0.1, "Weight of D_obj's auxiliary classification loss for G.", type=float),
    Param("d_img_arch", "C4-64-2,C4-128-2,C4-256-2", "Image (patch) discriminator architecture string.", type=str),
    Param("d_img_weight", 1.0, "Relative weight of D_img's GAN loss for G (0: no D_img).", type=float),
    # ---- output
    Param("print_every", 10, "Log and record losses every this many iterations.", type=int),
    Param("timing", False, "Print per-component times of each logged step (1/0).", type=bool_flag),
    Param("checkpoint_every", 10000, "Validate and write checkpoints every this many iterations (and at the end).", type=int),
    Param("output_dir", "models", "Checkpoint folder (original: the working directory).", type=str),
    Param("checkpoint_name", "checkpoint", "Checkpoint base name: <name>_with_model.pt, <name>_no_model.pt.", type=str),
    Param("checkpoint_start_from", None, "Start a NEW run from this checkpoint's generator weights (fresh optimisers and discriminators).", type=optional(str)),
    Param("restore_from_checkpoint", False, "Resume <output_dir>/<name>_with_model.pt if it exists and was written with the same parameters (1/0). "
          "A checkpoint of other parameters is never resumed: run by hand the stage stops and says why; "
          "run by DVC (dvc repro, dvc exp run) it starts a fresh run and says so.", type=bool_flag),
    # ---- this implementation
    Param("seed", 0, "Seed of initialisation, data order and noise (the original was unseeded).", type=int),
    Param("device", "auto", "auto (CUDA if available), cpu or cuda.", type=str, choices=("auto", "cpu", "cuda")),
    Param("nproc", 1, "Processes per machine for torchrun (read by the dvc.yaml command; python alone runs 1).", type=int),
]

DESCRIPTION = ("Train the sg2im generator with its object and image discriminators (the original "
               "scripts/train.py), with exact resume, MLflow tracking and torchrun/DDP.")


def validate_args(args) -> None:
    from sg2im.errors import ParamsError

    checks = [
        (args.batch_size >= 1, "batch_size must be >= 1"),
        (args.num_iterations >= 1, "num_iterations must be >= 1"),
        (args.print_every >= 1, "print_every must be >= 1"),
        (args.checkpoint_every >= 1, "checkpoint_every must be >= 1"),
        (args.num_val_samples >= 1, "num_val_samples must be >= 1"),
        (len(args.image_size) in (1, 2), "image_size must be H,W"),
    ]
    for ok, message in checks:
        if not ok:
            raise ParamsError(f"params.yaml [train]: {message}.")
    if len(args.image_size) == 1:
        args.image_size = (args.image_size[0], args.image_size[0])
    levels = 2 ** len(args.refinement_network_dims)
    if any(side % levels or side < levels for side in args.image_size):
        raise ParamsError(f"params.yaml [train]: image_size {args.image_size} must be a multiple of "
                          f"2^len(refinement_network_dims) = {levels}; drop a CRN module or enlarge the image.")


def main(argv: list[str] | None = None) -> dict:
    args = load_params("train", PARAMS, argv, description=DESCRIPTION)
    validate_args(args)
    if args.nproc > 1 and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        print(f"note: nproc={args.nproc} but this is a single process; run "
              f"`torchrun --standalone --nproc_per_node {args.nproc} stages/train.py` (as dvc.yaml does) for DDP.")
    from sg2im.training.loop import train

    return train(args)


if __name__ == "__main__":
    run_stage(main)
