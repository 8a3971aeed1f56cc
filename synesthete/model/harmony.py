"""The harmony path: a side path (side_path.py) that hears the chord in the chroma features.

The teacher colours every frame by the sounding chord, which changes once every bar or two; the
rhythm it draws changes every few frames. In one latent the two compete: asking the main memory
to name the chord cost sync in every run (docs/training.md). This path's GRU reads only the chroma
bins (`n_chroma` of them, the last features), and its state reaches the picture without taking a
place in the rhythm memory: either added to the decoder's latent through one linear layer
(`harmony_into = "latent"`), or, with a palette decoder, only into the per-frame palette colours
(`harmony_into = "palette"`: `out_dim = 0` returns the state itself and the decoder's
zero-initialised colour layer reads it), so that it recolours the shapes the rhythm memory draws
and cannot move them. With `chord_head` on, the chord-root logits come from this path's state
(trained with loss.chord), so the path is told what to listen for.

    path = HarmonyPath(n_chroma=24, hidden=32, out_dim=64, chord=True)
    colour, logits = path(chroma)                     # (B, T, 64 or hidden), (B, T, 12)
    colour_t, state = path.step(chroma_t, state)
"""

from __future__ import annotations

from synesthete.model.side_path import SidePath


class HarmonyPath(SidePath):
    def __init__(self, n_chroma: int, hidden: int, out_dim: int = 0, chord: bool = False) -> None:
        super().__init__(n_chroma, hidden, out_dim, head_name="chord", head_dim=12 if chord else 0)
