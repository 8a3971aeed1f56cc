"""The "lstm" bridge: a stacked LSTM (a separate cell state holds longer context than a GRU)."""

from __future__ import annotations

import torch
from torch import nn

from synesthete.model.config import BridgeConfig
from synesthete.registry import register


class LSTMBridge(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.hidden, self.n_layers = hidden, layers
        self.rnn = nn.LSTM(in_dim, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)  # (B, T, hidden)
        return self.out(y)

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        zeros = torch.zeros(self.n_layers, batch, self.hidden, device=device)  # (L, B, hidden)
        return (zeros, zeros.clone())

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        y, (h, c) = self.rnn(x.unsqueeze(1), (state[0], state[1]))  # (B, 1, hidden)
        return self.out(y[:, 0]), (h, c)

    def step_chunk(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        y, (h, c) = self.rnn(x, (state[0], state[1]))  # (B, T, hidden)
        return self.out(y), (h, c)


@register("bridge", "lstm")
def lstm_bridge(in_dim: int, out_dim: int, cfg: BridgeConfig) -> LSTMBridge:
    return LSTMBridge(in_dim, out_dim, cfg.hidden, cfg.layers)
