"""The harmony path: a small memory of its own that hears the chord in the chroma features.

The teacher colours every frame by the sounding chord, which changes once every bar or two; the
rhythm it draws changes every few frames. In one latent the two compete: asking the main memory
to name the chord cost sync in every run (docs/training.md). This path keeps them apart: a GRU
reads only the chroma bins (`n_chroma` of them, the last features), and its state reaches the
picture without taking a place in the rhythm memory: either added to the decoder's latent through
one linear layer (`harmony_into = "latent"`), or, with a palette decoder, only into the per-frame
palette colours (`harmony_into = "palette"`: `out_dim = 0` returns the state itself and the
decoder's zero-initialised colour layer reads it), so that it recolours the shapes the rhythm
memory draws and cannot move them. With `chord_head` on, the chord-root logits come from this
path's state (trained with loss.chord), so the path is told what to listen for.

    path = HarmonyPath(n_chroma=24, hidden=32, out_dim=64, chord=True)
    colour, logits = path(chroma)                     # (B, T, 64 or hidden), (B, T, 12)
    colour_t, state = path.step(chroma_t, state)
"""

from __future__ import annotations

import torch
from torch import nn


class HarmonyPath(nn.Module):
    def __init__(self, n_chroma: int, hidden: int, out_dim: int = 0, chord: bool = False) -> None:
        super().__init__()
        self.n_chroma, self.hidden = n_chroma, hidden
        self.out_dim = out_dim or hidden
        self.rnn = nn.GRU(n_chroma, hidden, 1, batch_first=True)
        self.to_latent = nn.Linear(hidden, out_dim) if out_dim else None
        if self.to_latent is not None:
            # Starts silent: a new path adds nothing to the latent until training finds a use for it.
            nn.init.zeros_(self.to_latent.weight)
            nn.init.zeros_(self.to_latent.bias)
        self.chord = nn.Linear(hidden, 12) if chord else None

    def _out(self, h: torch.Tensor) -> torch.Tensor:
        return self.to_latent(h) if self.to_latent is not None else h

    def forward(self, chroma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """chroma (B, T, n_chroma) -> (colour (B, T, out_dim), root logits (B, T, 12) or None)."""
        h, _ = self.rnn(chroma)
        return self._out(h), (self.chord(h) if self.chord is not None else None)

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(1, batch, self.hidden, device=device),)

    def step(self, chroma_t: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """chroma_t (B, n_chroma) -> (colour (B, out_dim), new state). The chord logits are for
        training and evaluation only, so the live step does not compute them."""
        h, s = self.rnn(chroma_t.unsqueeze(1), state[0])
        return self._out(h[:, 0]), (s,)
