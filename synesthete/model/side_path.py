"""A side path: a small memory of its own beside the rhythm memory, for one slow thing to hear.

The rhythm memory (the bridge) must follow the beat frame by frame; the chord and the bar's
downbeat change once a bar or two. Asked of the same latent, the slow thing takes the beat's
place and sync falls (docs/training.md). A side path keeps them apart: a GRU reads its own inputs,
an optional head is trained on what it should hear (so the path is told what to listen for), and
its state reaches the picture through one zero-initialised linear layer added to the decoder's
latent (or, with `out_dim = 0`, as the raw state for a decoder input of its own). Subclasses name
the input and the head: `HarmonyPath` (harmony.py), `BarPath` (bar_path.py).

    path = SidePath(in_dim=24, hidden=32, out_dim=64, head_name="chord", head_dim=12)
    out, head = path(x)                               # (B, T, 64 or hidden), (B, T, 12) or None
    out_t, state = path.step(x_t, state)
"""

from __future__ import annotations

import torch
from torch import nn

from synesthete.model.gru_step import memory, memory_chunk


class SidePath(nn.Module):
    def __init__(self, in_dim: int, hidden: int, out_dim: int = 0, head_name: str = "head", head_dim: int = 0,
                 cell: str = "gru") -> None:
        super().__init__()
        self.in_dim, self.hidden = in_dim, hidden
        self.out_dim = out_dim or hidden
        # "mingru" (synesthete.model.min_gru): a clip trains as one parallel scan instead of a loop
        self.rnn = memory(cell, in_dim, hidden, 1)
        self.to_latent = nn.Linear(hidden, out_dim) if out_dim else None
        if self.to_latent is not None:
            # Starts silent: a new path adds nothing to the latent until training finds a use for it.
            nn.init.zeros_(self.to_latent.weight)
            nn.init.zeros_(self.to_latent.bias)
        # The head keeps its own attribute name ("chord", "bar") so checkpoints read as what they hold.
        self.head_name = head_name
        setattr(self, head_name, nn.Linear(hidden, head_dim) if head_dim else None)

    def _out(self, h: torch.Tensor) -> torch.Tensor:
        return self.to_latent(h) if self.to_latent is not None else h

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, T, in_dim) -> (out (B, T, out_dim), head (B, T, head_dim) or None)."""
        h, _ = self.rnn(x)
        head = getattr(self, self.head_name)
        return self._out(h), (head(h) if head is not None else None)

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(1, batch, self.hidden, device=device),)

    def step(self, x_t: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """x_t (B, in_dim) -> (out (B, out_dim), new state). The head is for training and
        evaluation only, so the live step does not compute it."""
        h, s = memory_chunk(self.rnn, x_t.unsqueeze(1), state[0])
        return self._out(h[:, 0]), (s,)

    def step_chunk(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """x (B, T, in_dim) -> (out (B, T, out_dim), new state): `step` T times in one call."""
        h, s = memory_chunk(self.rnn, x, state[0])
        return self._out(h), (s,)
