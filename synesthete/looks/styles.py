"""The procedural styles (synesthete/visual/styles) as looks: one `StyleLook` registered per style.

A style already draws from a `MusicState` at any size (its `render` is vectorised over frames and
banded over rows), so the look adds nothing but the one-frame call; a new style registered with
`@register("style", name)` becomes a look of the same name here without another line.
"""

from __future__ import annotations

from functools import partial

import torch

from synesthete.looks.base import Look
from synesthete.music_state import MusicState
from synesthete.registry import register
from synesthete.visual.teacher import STYLE_NAMES, get_style


class StyleLook(Look):
    def __init__(self, style: str, device: torch.device | str = "cpu") -> None:
        self.name = style
        self.style = get_style(style)
        self.device = torch.device(device)

    def draw(self, state: MusicState, height: int, width: int, reactivity: float = 1.0,
             features: torch.Tensor | None = None) -> torch.Tensor:
        return self.style.render(state, height, width, reactivity, self.device)[0]  # (3, H, W)


for _name in STYLE_NAMES:
    register("look", _name)(partial(StyleLook, _name))
