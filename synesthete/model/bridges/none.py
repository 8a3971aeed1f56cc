"""The "none" bridge: no memory, a per-frame MLP from [audio, controls] to the latent.

The baseline that shows what the temporal bridges buy (an FFT-bars-like reactive model).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from synesthete.model.config import BridgeConfig
from synesthete.registry import register


class NoBridge(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden: int) -> None:
        super().__init__()
        self.inp = nn.Linear(in_dim, hidden)
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.gelu(self.inp(x)))  # works on (B, T, in) and (B, in) alike

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        return ()

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        return self.forward(x), state

    def step_chunk(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        return self.forward(x), state


@register("bridge", "none")
def no_bridge(in_dim: int, out_dim: int, cfg: BridgeConfig) -> NoBridge:
    return NoBridge(in_dim, out_dim, cfg.hidden)
