"""The "tcn" audio encoder: the conv encoder plus a stack of dilated causal residual blocks.

The conv encoder sees the last `kernel` frames (67 ms); what it passes the heads about a hit is
one frame's features against the few before it, and the memory after it hears the rest late
and blurred. An onset-only temporal conv net that reads the same features over a longer causal
window (8 such blocks, 128 wide, ~1 s back) heard the engine's held-out songs better than the
shipped network on the hit's own frame: kick F 0.718 against 0.648, bass 0.662 against 0.578
(`scripts/onset_ceiling.py`, docs/training.md). This encoder puts that reading inside the
network: after the conv encoder's residual, one block per entry of `dilations`,

    y <- y + W2 gelu(conv3_d(y)),   conv3_d: taps on frames t - 2d, t - d, t

then the conv encoder's output layer and LayerNorm. Each block keeps its last 2d inputs as state,
so `step` computes exactly what `forward` does (tests/core/model/test_streaming.py) and a frame
costs 2 matrix-vector products per block. Not in the recipe: there (seed 2, 5200 steps) every
procedural figure fell, the kick by 0.14 F (docs/training.md, "A longer causal look for the onsets").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from synesthete.model.config import EncoderConfig
from synesthete.model.encoders.conv import ConvEncoder
from synesthete.registry import register


class TcnEncoder(ConvEncoder):
    def __init__(self, in_dim: int, hidden: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__(in_dim, hidden, kernel)
        self.dilations = tuple(dilations)
        self.taps = nn.ModuleList(nn.Conv1d(hidden, hidden, 3, dilation=d) for d in self.dilations)
        self.mixes = nn.ModuleList(nn.Linear(hidden, hidden) for _ in self.dilations)

    def _blocks(self, y: torch.Tensor, earlier: tuple[torch.Tensor, ...] | None) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """y (B, T, H) -> (after the blocks, each block's last 2d inputs (B, 2d, H)); earlier: those
        from before this chunk (None: zeros, the clip's start)."""
        kept = []
        for i, (d, taps, mix) in enumerate(zip(self.dilations, self.taps, self.mixes)):
            before = y.new_zeros(y.shape[0], 2 * d, y.shape[2]) if earlier is None else earlier[i]
            window = torch.cat([before, y], dim=1)  # (B, 2d + T, H), oldest first
            y = y + mix(F.gelu(taps(window.transpose(1, 2)).transpose(1, 2)))
            kept.append(window[:, window.shape[1] - 2 * d:])
        return y, tuple(kept)

    def _finish_tcn(self, h: torch.Tensor, c: torch.Tensor, earlier: tuple[torch.Tensor, ...] | None):
        y, kept = self._blocks(h + F.gelu(c), earlier)
        return self.norm(F.gelu(self.out(y))), kept

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._finish_tcn(*self._conv_clip(x), None)[0]

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        return (*super().init_state(batch, device),
                *(torch.zeros(batch, 2 * d, self.out_dim, device=device) for d in self.dilations))

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        y, new_state = self.step_chunk(x[:, None], state)
        return y[:, 0], new_state

    def step_chunk(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        h, c, buffered = self._conv_chunk(x, state[0])
        y, kept = self._finish_tcn(h, c, state[1:])
        return y, (buffered, *kept)


@register("encoder", "tcn")
def tcn_encoder(in_dim: int, cfg: EncoderConfig, n_mels: int) -> TcnEncoder:  # sees all features alike
    return TcnEncoder(in_dim, cfg.hidden, cfg.kernel, cfg.dilations)
