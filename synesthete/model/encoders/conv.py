"""The "conv" audio encoder: per-frame MLP around one causal temporal convolution.

The convolution looks at the last `kernel` frames (kernel 4 at 60 fps = 67 ms), enough to see an
onset's attack and decay without any recurrence. Streaming keeps the last `kernel - 1` hidden
frames as its state buffer, so `step` computes exactly the same sum as `forward`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from synesthete.model.config import EncoderConfig
from synesthete.registry import register


class ConvEncoder(nn.Module):
    def __init__(self, in_dim: int, hidden: int, kernel: int) -> None:
        super().__init__()
        if kernel < 1:
            raise ValueError(f"encoder.kernel must be >= 1, got {kernel}")
        self.kernel = kernel
        self.out_dim = hidden
        self.inp = nn.Linear(in_dim, hidden)
        self.conv = nn.Conv1d(hidden, hidden, kernel)
        self.out = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)

    def _finish(self, h: torch.Tensor, c: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        y = h + F.gelu(c)  # residual around the temporal conv (a subclass may add a path of its own)
        if extra is not None:
            y = y + extra
        return self.norm(F.gelu(self.out(y)))

    # The first layer and the temporal conv in the three forms the contract asks for; each returns
    # (h, c) and, streaming, the buffered frames after it.
    def _conv_clip(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.gelu(self.inp(x))  # (B, T, H)
        hp = F.pad(h.transpose(1, 2), (self.kernel - 1, 0))  # (B, H, k - 1 + T): zeros before the clip
        return h, self.conv(hp).transpose(1, 2)  # (B, T, H)

    def _conv_frame(self, x: torch.Tensor, buffered: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = F.gelu(self.inp(x))  # (B, H)
        window = torch.cat([buffered, h.unsqueeze(1)], dim=1)  # (B, k, H), oldest first
        c = torch.einsum("bki,oik->bo", window, self.conv.weight) + self.conv.bias  # (B, H)
        return h, c, window[:, 1:]

    def _conv_chunk(self, x: torch.Tensor, buffered: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = F.gelu(self.inp(x))  # (B, T, H)
        window = torch.cat([buffered, h], dim=1)  # (B, k - 1 + T, H): the buffered frames before the chunk
        c = self.conv(window.transpose(1, 2)).transpose(1, 2)  # (B, T, H)
        return h, c, window[:, window.shape[1] - (self.kernel - 1):]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._finish(*self._conv_clip(x))

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(batch, self.kernel - 1, self.out_dim, device=device),)  # (B, k - 1, H)

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        h, c, buffered = self._conv_frame(x, state[0])
        return self._finish(h, c), (buffered,)

    def step_chunk(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        h, c, buffered = self._conv_chunk(x, state[0])
        return self._finish(h, c), (buffered,)


@register("encoder", "conv")
def conv_encoder(in_dim: int, cfg: EncoderConfig, n_mels: int) -> ConvEncoder:  # sees all features alike
    return ConvEncoder(in_dim, cfg.hidden, cfg.kernel)
