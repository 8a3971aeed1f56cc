"""The `Look` interface and the look registry: what the VJ sees, drawn from the music state.

A look draws one frame from (the music state of that frame, the VJ's reactivity knob, a size):
`look.draw(state, height, width, reactivity) -> (3, height, width)` float32 in [0, 1]. The music
state is the one contract with hearing (synesthete.music_state); a look never reads audio or a
wall clock, so the same state gives the same picture live, in a render and in a replay. A look
that keeps history of its own (the pixel network's recurrent state) is `reset` whenever it
re-enters the picture after frames it was not drawn (stepping it unseen would cost as much as
drawing it), so it never resumes from a stale past.

Looks register by name like every other component (`@register("look", name)` on a builder that
takes `device=`); `look_names()` lists them in morph order: the procedural styles sorted by
name, then every other look (the crossfader's ends are styles). A new look is one module in this
package and one import line in `synesthete/looks/__init__.py`; the parametrized look tests run it
at once.
"""

from __future__ import annotations

import torch

from synesthete.music_state import MusicState
from synesthete.registry import available, build


class Look:
    """Base class: subclasses implement `draw`; `reset` matters only to looks that keep history."""

    name: str = "look"

    def reset(self) -> None:
        """Forget all history (a new stream starts, or the look re-enters the picture)."""

    def draw(self, state: MusicState, height: int, width: int, reactivity: float = 1.0,
             features: torch.Tensor | None = None) -> torch.Tensor:
        """One frame (3, height, width) float32 in [0, 1] from a one-frame `state`.

        `features` (1, F) are the audio features of the same frame, for the few looks that paint
        from audio themselves (the pixel network); drawing looks ignore them.
        """
        raise NotImplementedError


def look_names() -> tuple[str, ...]:
    """Every registered look, in morph order: the styles (sorted), then the other looks (sorted)."""
    from synesthete.visual.teacher import STYLE_NAMES

    others = [n for n in available("look") if n not in STYLE_NAMES]
    return tuple(n for n in STYLE_NAMES if n in available("look")) + tuple(others)


def build_look(name: str, device: torch.device | str = "cpu") -> Look:
    """A fresh instance of a registered look, drawing on `device` (builders take `device=`); an
    unknown name fails with the list of known ones."""
    try:
        return build("look", name, device=device)
    except KeyError:
        raise ValueError(f"unknown look {name!r}; looks: {', '.join(look_names())}") from None
