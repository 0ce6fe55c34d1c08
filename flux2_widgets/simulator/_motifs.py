"""The catalogue of motifs: what each subject word draws, how big, how tall it stands.

The drawings live by kind: animals and people in ``_creatures``, things in
``_objects``, buildings and backdrops in ``_places``, whole interiors in
``_rooms``. This table is what the composer (``_compose``) asks: the drawing,
its usual size, how far above its ground it reaches (so nothing tall is cut
off at the top of the frame) and the ground it implies when the prompt names
none (a boat floats, a teapot stands on a table).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from ._creatures import cat, fox, person
from ._objects import boat, car, koi, lantern, mug, pocket_watch, ramen, teapot
from ._paint import Painter, Pose
from ._places import LIGHTHOUSE_REACH, cactus, house, lighthouse, stall, tree

__all__ = ["Motif", "MOTIFS", "STILL_LIFE"]


@dataclass(frozen=True)
class Motif:
    draw: Callable[[Painter, random.Random, Pose], None]
    #: Height as a share of the canvas's short side.
    size: float
    #: How far above its ground y it reaches, in units of its size.
    reach: float
    #: How far it spreads either side of its centre x, in units of its size.
    half_width: float = 0.5
    #: The ground it implies when the prompt names none.
    ground: str | None = None


MOTIFS: dict[str, Motif] = {
    "fox": Motif(fox, 0.5, 0.9, 0.95),
    "cat": Motif(cat, 0.5, 1.0, 0.45),
    "house": Motif(house, 0.5, 1.05, 0.56),
    "tree": Motif(tree, 0.6, 1.12, 0.45),
    "car": Motif(car, 0.42, 0.7, 0.56),
    "boat": Motif(boat, 0.55, 1.0, 0.6, "water"),
    "person": Motif(person, 0.6, 1.0, 0.5),
    "lighthouse": Motif(lighthouse, 0.75, LIGHTHOUSE_REACH, 0.15, "water"),
    "stall": Motif(stall, 0.55, 1.05, 0.68, "street"),
    "cactus": Motif(cactus, 0.35, 1.0, 0.32, "sand"),
    "mug": Motif(mug, 0.6, 1.0, 0.4, "indoor"),
    "teapot": Motif(teapot, 0.55, 0.76, 0.68, "indoor"),
    "ramen": Motif(ramen, 0.55, 1.3, 0.52, "indoor"),
    "watch": Motif(pocket_watch, 0.8, 0.6, 0.55, "indoor"),
    "koi": Motif(koi, 0.32, 0.0, 0.0, "water"),
    "lantern": Motif(lantern, 0.08, 0.5, 0.3),
}

#: Motifs drawn as a still life: large, on a table against a wall.
STILL_LIFE = frozenset({"mug", "teapot", "ramen", "watch"})
