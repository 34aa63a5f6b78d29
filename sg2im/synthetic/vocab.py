"""The vocabularies of the synthetic datasets.

COCO: the real COCO 2017 category records (ids with the official gaps, names, supercategories:
80 things 1..90, 91 COCO-Stuff classes 92..182, ``other`` 183) and the official license list.
Visual Genome: the object names, predicates and attributes that the synthetic VG world uses
(all of them are real, frequent VG v1.4 words), and the alias lines written to
``object_alias.txt`` / ``relationship_alias.txt``.
"""
from __future__ import annotations

COCO_THING_CATEGORIES: list[tuple[int, str, str]] = [
    (1, 'person', 'person'),
    (2, 'bicycle', 'vehicle'),
    (3, 'car', 'vehicle'),
    (4, 'motorcycle', 'vehicle'),
    (5, 'airplane', 'vehicle'),
    (6, 'bus', 'vehicle'),
    (7, 'train', 'vehicle'),
    (8, 'truck', 'vehicle'),
    (9, 'boat', 'vehicle'),
    (10, 'traffic light', 'outdoor'),
    (11, 'fire hydrant', 'outdoor'),
    (13, 'stop sign', 'outdoor'),
    (14, 'parking meter', 'outdoor'),
    (15, 'bench', 'outdoor'),
    (16, 'bird', 'animal'),
    (17, 'cat', 'animal'),
    (18, 'dog', 'animal'),
    (19, 'horse', 'animal'),
    (20, 'sheep', 'animal'),
    (21, 'cow', 'animal'),
    (22, 'elephant', 'animal'),
    (23, 'bear', 'animal'),
    (24, 'zebra', 'animal'),
    (25, 'giraffe', 'animal'),
    (27, 'backpack', 'accessory'),
    (28, 'umbrella', 'accessory'),
    (31, 'handbag', 'accessory'),
    (32, 'tie', 'accessory'),
    (33, 'suitcase', 'accessory'),
    (34, 'frisbee', 'sports'),
    (35, 'skis', 'sports'),
    (36, 'snowboard', 'sports'),
    (37, 'sports ball', 'sports'),
    (38, 'kite', 'sports'),
    (39, 'baseball bat', 'sports'),
    (40, 'baseball glove', 'sports'),
    (41, 'skateboard', 'sports'),
    (42, 'surfboard', 'sports'),
    (43, 'tennis racket', 'sports'),
    (44, 'bottle', 'kitchen'),
    (46, 'wine glass', 'kitchen'),
    (47, 'cup', 'kitchen'),
    (48, 'fork', 'kitchen'),
    (49, 'knife', 'kitchen'),
    (50, 'spoon', 'kitchen'),
    (51, 'bowl', 'kitchen'),
    (52, 'banana', 'food'),
    (53, 'apple', 'food'),
    (54, 'sandwich', 'food'),
    (55, 'orange', 'food'),
    (56, 'broccoli', 'food'),
    (57, 'carrot', 'food'),
    (58, 'hot dog', 'food'),
    (59, 'pizza', 'food'),
    (60, 'donut', 'food'),
    (61, 'cake', 'food'),
    (62, 'chair', 'furniture'),
    (63, 'couch', 'furniture'),
    (64, 'potted plant', 'furniture'),
    (65, 'bed', 'furniture'),
    (67, 'dining table', 'furniture'),
    (70, 'toilet', 'furniture'),
    (72, 'tv', 'electronic'),
    (73, 'laptop', 'electronic'),
    (74, 'mouse', 'electronic'),
    (75, 'remote', 'electronic'),
    (76, 'keyboard', 'electronic'),
    (77, 'cell phone', 'electronic'),
    (78, 'microwave', 'appliance'),
    (79, 'oven', 'appliance'),
    (80, 'toaster', 'appliance'),
    (81, 'sink', 'appliance'),
    (82, 'refrigerator', 'appliance'),
    (84, 'book', 'indoor'),
    (85, 'clock', 'indoor'),
    (86, 'vase', 'indoor'),
    (87, 'scissors', 'indoor'),
    (88, 'teddy bear', 'indoor'),
    (89, 'hair drier', 'indoor'),
    (90, 'toothbrush', 'indoor'),
]

COCO_STUFF_CATEGORIES: list[tuple[int, str, str]] = [
    (92, 'banner', 'textile'),
    (93, 'blanket', 'textile'),
    (94, 'branch', 'plant'),
    (95, 'bridge', 'building'),
    (96, 'building-other', 'building'),
    (97, 'bush', 'plant'),
    (98, 'cabinet', 'furniture-stuff'),
    (99, 'cage', 'structural'),
    (100, 'cardboard', 'raw-material'),
    (101, 'carpet', 'floor'),
    (102, 'ceiling-other', 'ceiling'),
    (103, 'ceiling-tile', 'ceiling'),
    (104, 'cloth', 'textile'),
    (105, 'clothes', 'textile'),
    (106, 'clouds', 'sky'),
    (107, 'counter', 'furniture-stuff'),
    (108, 'cupboard', 'furniture-stuff'),
    (109, 'curtain', 'textile'),
    (110, 'desk-stuff', 'furniture-stuff'),
    (111, 'dirt', 'ground'),
    (112, 'door-stuff', 'furniture-stuff'),
    (113, 'fence', 'structural'),
    (114, 'floor-marble', 'floor'),
    (115, 'floor-other', 'floor'),
    (116, 'floor-stone', 'floor'),
    (117, 'floor-tile', 'floor'),
    (118, 'floor-wood', 'floor'),
    (119, 'flower', 'plant'),
    (120, 'fog', 'water'),
    (121, 'food-other', 'food-stuff'),
    (122, 'fruit', 'food-stuff'),
    (123, 'furniture-other', 'furniture-stuff'),
    (124, 'grass', 'plant'),
    (125, 'gravel', 'ground'),
    (126, 'ground-other', 'ground'),
    (127, 'hill', 'solid'),
    (128, 'house', 'building'),
    (129, 'leaves', 'plant'),
    (130, 'light', 'furniture-stuff'),
    (131, 'mat', 'textile'),
    (132, 'metal', 'raw-material'),
    (133, 'mirror-stuff', 'furniture-stuff'),
    (134, 'moss', 'plant'),
    (135, 'mountain', 'solid'),
    (136, 'mud', 'ground'),
    (137, 'napkin', 'textile'),
    (138, 'net', 'structural'),
    (139, 'paper', 'raw-material'),
    (140, 'pavement', 'ground'),
    (141, 'pillow', 'textile'),
    (142, 'plant-other', 'plant'),
    (143, 'plastic', 'raw-material'),
    (144, 'platform', 'ground'),
    (145, 'playingfield', 'ground'),
    (146, 'railing', 'structural'),
    (147, 'railroad', 'ground'),
    (148, 'river', 'water'),
    (149, 'road', 'ground'),
    (150, 'rock', 'solid'),
    (151, 'roof', 'building'),
    (152, 'rug', 'textile'),
    (153, 'salad', 'food-stuff'),
    (154, 'sand', 'ground'),
    (155, 'sea', 'water'),
    (156, 'shelf', 'furniture-stuff'),
    (157, 'sky-other', 'sky'),
    (158, 'skyscraper', 'building'),
    (159, 'snow', 'ground'),
    (160, 'solid-other', 'solid'),
    (161, 'stairs', 'furniture-stuff'),
    (162, 'stone', 'solid'),
    (163, 'straw', 'plant'),
    (164, 'structural-other', 'structural'),
    (165, 'table', 'furniture-stuff'),
    (166, 'tent', 'building'),
    (167, 'textile-other', 'textile'),
    (168, 'towel', 'textile'),
    (169, 'tree', 'plant'),
    (170, 'vegetable', 'food-stuff'),
    (171, 'wall-brick', 'wall'),
    (172, 'wall-concrete', 'wall'),
    (173, 'wall-other', 'wall'),
    (174, 'wall-panel', 'wall'),
    (175, 'wall-stone', 'wall'),
    (176, 'wall-tile', 'wall'),
    (177, 'wall-wood', 'wall'),
    (178, 'water-other', 'water'),
    (179, 'waterdrops', 'water'),
    (180, 'window-blind', 'window'),
    (181, 'window-other', 'window'),
    (182, 'wood', 'solid'),
    (183, 'other', 'other'),
]

COCO_LICENSES: list[dict] = [
    {'url': 'http://creativecommons.org/licenses/by-nc-sa/2.0/', 'id': 1, 'name': 'Attribution-NonCommercial-ShareAlike License'},
    {'url': 'http://creativecommons.org/licenses/by-nc/2.0/', 'id': 2, 'name': 'Attribution-NonCommercial License'},
    {'url': 'http://creativecommons.org/licenses/by-nc-nd/2.0/', 'id': 3, 'name': 'Attribution-NonCommercial-NoDerivs License'},
    {'url': 'http://creativecommons.org/licenses/by/2.0/', 'id': 4, 'name': 'Attribution License'},
    {'url': 'http://creativecommons.org/licenses/by-sa/2.0/', 'id': 5, 'name': 'Attribution-ShareAlike License'},
    {'url': 'http://creativecommons.org/licenses/by-nd/2.0/', 'id': 6, 'name': 'Attribution-NoDerivs License'},
    {'url': 'http://flickr.com/commons/usage/', 'id': 7, 'name': 'No known copyright restrictions'},
    {'url': 'http://www.usa.gov/copyright.shtml', 'id': 8, 'name': 'United States Government Work'},
]


COCO_OTHER_ID = 183
COCO_INFO = {
    "description": "COCO 2017 Dataset (synthetic cartoon stand-in, sg2im)",
    "url": "http://cocodataset.org",
    "version": "1.0",
    "year": 2017,
    "contributor": "COCO Consortium (format); sg2im synthetic generator (content)",
    "date_created": "2017/09/01",
}
COCO_STUFF_INFO = {
    "description": "COCO 2017 Stuff Dataset (synthetic cartoon stand-in, sg2im)",
    "url": "http://cocodataset.org",
    "version": "1.0",
    "year": 2017,
    "contributor": "H. Caesar, J. Uijlings, M. Maire, T.-Y. Lin, P. Dollar and V. Ferrari (format); sg2im synthetic generator (content)",
    "date_created": "2017-08-31 00:00:00.0",
}

COCO_ID_BY_NAME: dict[str, int] = {n: i for i, n, _ in COCO_THING_CATEGORIES + COCO_STUFF_CATEGORIES}
COCO_THING_NAMES = frozenset(n for _, n, _ in COCO_THING_CATEGORIES)
COCO_STUFF_NAMES = frozenset(n for _, n, _ in COCO_STUFF_CATEGORIES)


def coco_categories(stuff: bool) -> list[dict]:
    """The ``categories`` list of instances_*.json (stuff=False) or stuff_*.json (stuff=True)."""
    rows = COCO_STUFF_CATEGORIES if stuff else COCO_THING_CATEGORIES
    return [{"supercategory": s, "id": i, "name": n} for i, n, s in rows]


# ----------------------------------------------------------------------------- Visual Genome
#: canonical object name -> WordNet synset (as VG v1.4 records carry them)
VG_SYNSETS: dict[str, str] = {
    "sky": "sky.n.01", "cloud": "cloud.n.02", "mountain": "mountain.n.01", "hill": "hill.n.01",
    "tree": "tree.n.01", "bush": "bush.n.01", "grass": "grass.n.01", "field": "field.n.01",
    "water": "water.n.01", "ocean": "ocean.n.01", "wave": "wave.n.01", "edge": "edge.n.01",
    "background": "background.n.02", "sand": "sand.n.01", "street": "street.n.01",
    "line": "line.n.01", "sidewalk": "sidewalk.n.01", "building": "building.n.01",
    "house": "house.n.01", "roof": "roof.n.01", "window": "window.n.01", "sign": "sign.n.02",
    "fence": "fence.n.01", "car": "car.n.01", "bus": "bus.n.01", "windshield": "windshield.n.01",
    "man": "man.n.01", "boy": "male_child.n.01", "person": "person.n.01", "woman": "woman.n.01",
    "leg": "leg.n.01", "short": "short_pants.n.01", "shirt": "shirt.n.01", "horse": "horse.n.01",
    "tail": "tail.n.01", "sheep": "sheep.n.01", "zebra": "zebra.n.01", "elephant": "elephant.n.01",
    "giraffe": "giraffe.n.01", "kite": "kite.n.03", "bird": "bird.n.01", "boat": "boat.n.01",
    "rock": "rock.n.01", "stone": "stone.n.02", "brick": "brick.n.01", "board": "board.n.01",
    "table": "table.n.02", "plate": "plate.n.04", "food": "food.n.01", "glass": "glass.n.02",
    "wall": "wall.n.01",
}
VG_OBJECT_NAMES: list[str] = list(VG_SYNSETS)

#: canonical predicate -> synset
VG_PREDICATE_SYNSETS: dict[str, str] = {
    "on": "along.r.01", "standing on": "stand.v.01", "parked on": "park.v.01", "on top of": "along.r.01",
    "walking on": "walk.v.01", "above": "above.r.01", "under": "under.r.01", "below": "below.r.01",
    "behind": "behind.r.01", "in front of": "in_front_of.r.01", "in": "in.r.01", "by": "by.r.01",
    "next to": "next.r.01", "near": "near.r.01", "beside": "beside.r.01", "has": "have.v.01",
    "wearing": "wear.v.01", "holding": "hold.v.02", "riding": "ride.v.01", "eating": "eat.v.01",
    "looking at": "look.v.01", "along": "along.r.01", "of": "of.r.01",
}
VG_PREDICATES: list[str] = list(VG_PREDICATE_SYNSETS)

VG_COLOUR_ATTRIBUTES = ["white", "black", "gray", "brown", "green", "blue", "red", "yellow", "orange", "pink"]
VG_SIZE_ATTRIBUTES = ["large", "small", "tall"]
VG_STATE_ATTRIBUTES = ["parked", "standing", "cloudy", "clear", "wooden", "calm", "empty"]
VG_ATTRIBUTES = VG_COLOUR_ATTRIBUTES + VG_SIZE_ATTRIBUTES + VG_STATE_ATTRIBUTES

#: object_alias.txt lines: first entry canonical (sg2im maps every entry of a line to the first)
VG_OBJECT_ALIAS_LINES: list[list[str]] = [
    ["sheep", "sheeps", "Sheep", "lamb"],
    ["tree", "trees", "Tree"],
    ["cloud", "clouds", "Cloud"],
    ["man", "men", "Man", "guy"],
    ["car", "cars", "Car", "automobile"],
    ["rock", "rocks"],
    ["stone", "stones"],
    ["window", "windows"],
    ["bird", "birds"],
    ["boat", "boats", "sailboat"],
    ["short", "shorts"],
    ["leg", "legs"],
    ["building", "buildings"],
    ["bush", "bushes"],
    ["wave", "waves"],
    ["plate", "plates"],
    ["ocean", "sea"],
    ["street", "road"],
]


def vg_object_alias_lines() -> list[list[str]]:
    """object_alias.txt: the lines above, and for every object name its capitalised form."""
    lines = {line[0]: list(line) for line in VG_OBJECT_ALIAS_LINES}
    for name in VG_OBJECT_NAMES:
        line = lines.setdefault(name, [name])
        if name.capitalize() not in line:
            line.append(name.capitalize())
    return [lines[n] for n in VG_OBJECT_NAMES if n in lines] + [v for k, v in lines.items() if k not in VG_SYNSETS]


#: relationship_alias.txt lines (predicates are lower-cased and stripped before aliasing)
VG_PREDICATE_ALIAS_LINES: list[list[str]] = [
    ["standing on", "stands on", "standing on top of", "is standing on"],
    ["on", "on a", "sitting on"],
    ["has", "has a", "have"],
    ["wearing", "wears", "wearing a"],
    ["parked on", "parked in", "is parked on"],
    ["on top of", "on the top of", "atop"],
    ["next to", "next"],
    ["in front of", "infront of"],
    ["holding", "holds"],
    ["riding", "rides", "riding on"],
    ["eating", "eats", "grazing on"],
]
