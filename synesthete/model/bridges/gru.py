"""The "gru" bridge: a stacked GRU, the default (cheapest recurrent memory per step); with
`cell = "mingru"` the same bridge around a stacked minGRU (the "mingru" bridge, mingru.py)."""

from __future__ import annotations

import torch
from torch import nn

from synesthete.model.config import BridgeConfig
from synesthete.model.gru_step import memory, memory_chunk
from synesthete.registry import register


class GRUBridge(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden: int, layers: int, cell: str = "gru") -> None:
        super().__init__()
        self.hidden, self.n_layers = hidden, layers
        self.rnn = memory(cell, in_dim, hidden, layers)
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)  # (B, T, hidden)
        return self.out(y)

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(self.n_layers, batch, self.hidden, device=device),)  # (L, B, hidden)

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        y, h = memory_chunk(self.rnn, x.unsqueeze(1), state[0])  # (B, 1, hidden)
        return self.out(y[:, 0]), (h,)

    def step_chunk(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        y, h = memory_chunk(self.rnn, x, state[0])  # (B, T, hidden)
        return self.out(y), (h,)


@register("bridge", "gru")
def gru_bridge(in_dim: int, out_dim: int, cfg: BridgeConfig) -> GRUBridge:
    return GRUBridge(in_dim, out_dim, cfg.hidden, cfg.layers)
