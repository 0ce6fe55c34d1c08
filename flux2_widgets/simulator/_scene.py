"""What a prompt asks for, as far as a stand-in picture can show it.

A few word tables turn a prompt into a ``Scene``: its colours, its light, the
ground it stands on, the subjects to draw, the traits that change how they look
(an *old* sailor, a *paper* boat, a fox *curled* up) and the medium (watercolor,
pencil sketch). Words it does not know change
nothing but the hashed layout, so any prompt still gives a picture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Light", "Scene", "read_prompt", "LIGHTS", "COLOURS", "SUBJECTS", "TRAITS", "STYLES"]

RGB = tuple[int, int, int]

COLOURS: dict[str, RGB] = {
    "red": (205, 35, 40), "crimson": (180, 20, 50), "scarlet": (225, 40, 30), "ruby": (170, 20, 45),
    "orange": (240, 130, 30), "amber": (235, 160, 30), "copper": (190, 105, 55),
    "yellow": (240, 210, 45), "lemon": (245, 230, 80), "gold": (225, 180, 50),
    "green": (50, 160, 65), "emerald": (25, 150, 90), "sage": (140, 170, 125), "olive": (120, 130, 50),
    "mint": (150, 225, 180), "lime": (160, 220, 50),
    "teal": (20, 135, 140), "cyan": (40, 200, 220), "turquoise": (50, 200, 190), "aqua": (70, 210, 220),
    "blue": (40, 85, 215), "navy": (20, 35, 110), "azure": (60, 140, 235), "cobalt": (30, 70, 190),
    "indigo": (70, 40, 150), "purple": (130, 50, 180), "violet": (140, 70, 200),
    "lavender": (180, 160, 225), "magenta": (220, 40, 170), "pink": (240, 130, 175),
    "rose": (225, 100, 130), "brown": (125, 78, 42), "chocolate": (95, 55, 30), "tan": (200, 165, 115),
    "black": (25, 25, 30), "white": (242, 242, 238), "ivory": (245, 240, 220),
    "grey": (140, 140, 145), "gray": (140, 140, 145), "silver": (190, 192, 200),
}


@dataclass(frozen=True)
class Light:
    """A lighting mood: sky top and horizon colours, a per-channel gain applied to
    everything lit (below 0.6 counts as dark: windows and lamps light up), and
    which extras the sky gets."""

    name: str
    sky_top: RGB
    sky_low: RGB
    gain: tuple[float, float, float]
    sun: RGB | None = None  # sun disk colour, None for no sun
    sun_height: float = 0.25  # above the horizon, as a share of the sky
    stars: bool = False
    moon: bool = False


LIGHTS: dict[str, Light] = {
    "day": Light("day", (70, 135, 225), (185, 215, 240), (1.0, 1.0, 1.0), sun=(255, 250, 225),
                 sun_height=0.75),
    "dawn": Light("dawn", (95, 110, 175), (250, 185, 170), (1.0, 0.9, 0.92), sun=(255, 215, 190),
                  sun_height=0.08),
    "golden": Light("golden", (120, 140, 200), (255, 195, 105), (1.08, 0.9, 0.66), sun=(255, 220, 140),
                    sun_height=0.2),
    "sunset": Light("sunset", (70, 55, 130), (250, 120, 60), (1.0, 0.72, 0.6), sun=(255, 150, 70),
                    sun_height=0.05),
    "night": Light("night", (6, 10, 32), (25, 38, 80), (0.3, 0.36, 0.55), stars=True, moon=True),
    "neon": Light("neon", (18, 8, 40), (70, 25, 90), (0.42, 0.36, 0.6)),
    "storm": Light("storm", (60, 65, 75), (120, 125, 135), (0.7, 0.72, 0.78)),
}

_LIGHT_WORDS = {
    "dawn": "dawn", "sunrise": "dawn", "morning": "dawn", "daybreak": "dawn",
    "golden": "golden", "afternoon": "golden", "warm": "golden",
    "sunset": "sunset", "dusk": "sunset", "evening": "sunset", "twilight": "sunset",
    "night": "night", "midnight": "night", "moon": "night", "moonlit": "night", "moonlight": "night",
    "stars": "night", "starry": "night", "dark": "night",
    "neon": "neon", "cyberpunk": "neon", "synthwave": "neon",
    "storm": "storm", "stormy": "storm", "overcast": "storm", "fog": "storm", "foggy": "storm",
    "noon": "day", "sunny": "day", "sunlit": "day", "daylight": "day", "midday": "day",
}

#: Word -> what is drawn: a motif (``_motifs``), a room (``_rooms``) or a backdrop
#: (``mountain``, ``city``). Plurals listed where they are common.
SUBJECTS: dict[str, str] = {
    **dict.fromkeys(("fox", "foxes", "wolf", "dog", "dogs", "puppy"), "fox"),
    **dict.fromkeys(("cat", "cats", "kitten", "kitty"), "cat"),
    **dict.fromkeys(("house", "houses", "hut", "cabin", "cottage", "home", "bakery", "barn", "shop"),
                    "house"),
    **dict.fromkeys(("tree", "trees", "forest", "woods", "pine", "oak", "orchard"), "tree"),
    **dict.fromkeys(("mountain", "mountains", "hill", "hills", "peak", "peaks", "alps", "volcano"),
                    "mountain"),
    **dict.fromkeys(("car", "cars", "truck", "van", "taxi", "jeep"), "car"),
    **dict.fromkeys(("boat", "boats", "ship", "ships", "sailboat", "yacht", "harbour", "harbor", "marina"),
                    "boat"),
    **dict.fromkeys(("person", "people", "portrait", "woman", "man", "girl", "boy", "face", "child",
                     "astronaut", "sailor", "fisherman", "captain", "grandfather", "grandmother"), "person"),
    **dict.fromkeys(("city", "cities", "street", "skyline", "town", "downtown", "buildings"), "city"),
    **dict.fromkeys(("stall", "stalls", "market", "vendor"), "stall"),
    **dict.fromkeys(("library", "bookshop", "bookstore", "bookshelf", "bookshelves", "bookcase"), "library"),
    **dict.fromkeys(("nook", "armchair"), "nook"),
    **dict.fromkeys(("shelf", "shelves"), "shelf"),
    **dict.fromkeys(("lighthouse", "tower"), "lighthouse"),
    **dict.fromkeys(("mug", "mugs", "cup", "cups", "coffee", "tea", "teacup"), "mug"),
    **dict.fromkeys(("teapot", "teapots", "kettle"), "teapot"),
    **dict.fromkeys(("ramen", "noodles", "noodle", "soup", "bowl", "pho", "udon"), "ramen"),
    **dict.fromkeys(("watch", "pocketwatch", "stopwatch"), "watch"),
    **dict.fromkeys(("road", "highway", "roads"), "road"),
    **dict.fromkeys(("koi", "fish", "goldfish", "carp"), "koi"),
    **dict.fromkeys(("cactus", "cacti", "saguaro"), "cactus"),
}

#: Words that change how a subject looks or what goes with it.
TRAITS: dict[str, str] = {
    **dict.fromkeys(("old", "elderly", "aged", "grandfather", "grandmother", "wrinkled", "weathered"), "old"),
    **dict.fromkeys(("sailor", "fisherman", "captain", "seaman", "mariner"), "sailor"),
    "paper": "paper", "origami": "paper",
    **dict.fromkeys(("curled", "curling", "sleeping", "asleep", "napping"), "curled"),
    **dict.fromkeys(("cliff", "cliffs", "clifftop", "headland"), "cliff"),
    **dict.fromkeys(("harbour", "harbor", "marina", "port", "busy"), "harbour"),
    **dict.fromkeys(("lantern", "lanterns"), "lanterns"),
    **dict.fromkeys(("autumn", "autumnal", "fall"), "autumn"),
    **dict.fromkeys(("hand", "hands", "holding", "held"), "hand"),
    **dict.fromkeys(("bakery", "shop", "store", "cafe"), "shop"),
    **dict.fromkeys(("lamp", "lamplight", "candle", "candlelight"), "lamp"),
}

#: Words naming a medium: the finished picture is painted or drawn that way.
STYLES: dict[str, str] = {
    **dict.fromkeys(("watercolor", "watercolour", "watercolors", "watercolours", "aquarelle"), "watercolor"),
    **dict.fromkeys(("sketch", "pencil", "graphite", "charcoal", "drawing", "drawn"), "sketch"),
}

#: Ground under the scene: words that name what it stands on.
_GROUNDS = {
    **dict.fromkeys(("snow", "snowy", "winter", "ice", "icy", "arctic"), "snow"),
    **dict.fromkeys(("desert", "sand", "sandy", "dune", "dunes", "beach"), "sand"),
    **dict.fromkeys(("sea", "ocean", "lake", "pond", "river", "puddle", "harbour", "harbor", "water",
                     "koi", "waves"), "water"),
    **dict.fromkeys(("kitchen", "table", "shelf", "room", "studio", "nook", "desk", "interior",
                     "indoors", "cafe"), "indoor"),
    **dict.fromkeys(("street", "road", "city", "town", "stall", "market", "downtown"), "street"),
}

_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Scene:
    colours: tuple[RGB, ...]
    light: Light
    #: snow, sand, water, indoor or street when a word names it, else ``None``.
    ground: str | None
    subjects: tuple[str, ...]
    rain: bool
    #: Neon signs, whatever the light ("at night, neon signs" is night with neon).
    neon: bool
    #: What changes how subjects look (``old``, ``sailor``, ``paper``, ``curled``, ``cliff``...).
    traits: frozenset[str] = frozenset()
    #: The medium: ``watercolor``, ``sketch`` or ``None`` (a rendered picture).
    style: str | None = None


def read_prompt(prompt: str) -> Scene:
    words = _WORD.findall(prompt.lower())
    colours: list[RGB] = []
    light = None
    subjects: list[str] = []
    ground = None
    traits: set[str] = set()
    style = None
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        if word == "golden" and following in ("hour", "light"):
            light = light or "golden"
            continue
        if word in COLOURS and COLOURS[word] not in colours:
            colours.append(COLOURS[word])
        if light is None and word in _LIGHT_WORDS:
            light = _LIGHT_WORDS[word]
        if word in SUBJECTS and SUBJECTS[word] not in subjects:
            subjects.append(SUBJECTS[word])
        if ground is None and word in _GROUNDS:
            ground = _GROUNDS[word]
        if word in TRAITS:
            traits.add(TRAITS[word])
        if style is None and word in STYLES:
            style = STYLES[word]
    return Scene(colours=tuple(colours), light=LIGHTS[light or "day"], ground=ground,
                 subjects=tuple(subjects[:3]),
                 rain=any(w in ("rain", "rainy", "raining", "drizzle") for w in words),
                 neon=any(_LIGHT_WORDS.get(w) == "neon" for w in words),
                 traits=frozenset(traits), style=style)
