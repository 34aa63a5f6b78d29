"""Settings of generate: the original ``scripts/run_model.py`` flags, and the paper's figure sheets."""
from __future__ import annotations

from dataclasses import dataclass

from sg2im.config.schema import setting


@dataclass(frozen=True)
class GenerateConfig:
    HOME = "output_dir"

    checkpoint: str = setting("sg2im-models/vg128.pt", "Generator checkpoint (full or stripped).", local=True)
    trust_checkpoint: bool = setting(False, "1 = load the checkpoint with pickle (weights_only=False); only for files "
                                     "you trust.", new=True)
    scene_graphs_json: str = setting("scene_graphs/figure_6_sheep.json",
                                     "JSON file with one scene graph or a list of them ('' = none; the pipeline "
                                     "renders figures instead).", local=True)
    output_dir: str = setting("outputs", "Folder for img000000.png, layout000000.png, sg000000.png, ... and "
                              "figures/.", local=True, output=True)
    draw_scene_graphs: bool = setting(False, "1 = also draw each scene graph with Graphviz dot (sg000000.png, ...).")
    device: str = setting("gpu", "auto, cpu, gpu or cuda (gpu/cuda fall back to CPU with a warning).",
                          choices=("auto", "cpu", "gpu", "cuda"), local=True)
    figures: str = setting("", "Folder of figure JSON files (scene_graphs/) to render as sheets ('' = none). Run by "
                           "hand with scene_graphs_json given, figures are drawn only when --figures is given too. "
                           "Not in the original.", new=True, local=True)
    layout_size: int = setting(256, "Side in pixels of the layout drawings.", new=True)
    max_objects_per_graph: int | None = setting(None, "Refuse graphs with more objects (None: the most objects per "
                                                "image the model was trained on, from its checkpoint: 8 for COCO).",
                                                new=True)
    allow_self_relationships: bool = setting(False, "1 = accept a relationship from an object to itself (the model "
                                             "never saw one; the paper's figure 5 (VG) has some, and figures "
                                             "always allow them).", new=True)
    seed: int = setting(0, "Random seed of the layout noise (the original did not seed).", new=True)
    track: bool = setting(True, "Log the figure sheets to MLflow (1/0).", new=True, local=True)

    def check(self) -> None:
        if not self.scene_graphs_json and not self.figures:
            raise ValueError("set scene_graphs_json (a JSON file of scene graphs) and/or figures (a folder of them)")
