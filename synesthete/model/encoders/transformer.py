"""The "transformer" audio encoder: self-attention across mel-band tokens within one frame.

Each frame's log-mel is cut into bands of `band_size` mel bins; each band becomes a token (plus
one token for the extras: flux, RMS and chroma when present), a small pre-norm transformer lets bands talk to each other (a kick
is low bands + a broadband click; a hat is only high bands), and the tokens are mean-pooled.
Time is left to the bridge, so the encoder has no state and `step` is `forward` on one frame.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from synesthete.model.config import EncoderConfig
from synesthete.registry import register


class BandTransformerEncoder(nn.Module):
    def __init__(self, in_dim: int, n_mels: int, hidden: int, layers: int, heads: int, band_size: int) -> None:
        super().__init__()
        if hidden % heads != 0:
            raise ValueError(f"encoder.hidden ({hidden}) must be divisible by encoder.heads ({heads})")
        if not 0 < n_mels < in_dim:
            raise ValueError(f"transformer encoder: need 0 < n_mels < in_dim, got n_mels={n_mels}, in_dim={in_dim}")
        self.n_mels = n_mels  # features are n_mels log-mel, then the extras
        self.band_size = band_size
        self.n_bands = -(-self.n_mels // band_size)  # ceil: the last band is zero-padded
        self.out_dim = hidden
        self.band_proj = nn.Linear(band_size, hidden)
        self.extra_proj = nn.Linear(in_dim - n_mels, hidden)
        self.pos = nn.Parameter(torch.randn(self.n_bands + 1, hidden) * 0.02)  # (n_tokens, H)
        layer = nn.TransformerEncoderLayer(hidden, heads, 2 * hidden, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]  # x: (N, F), frames flattened
        mel = F.pad(x[:, : self.n_mels], (0, self.n_bands * self.band_size - self.n_mels))
        bands = self.band_proj(mel.view(n, self.n_bands, self.band_size))  # (N, n_bands, H)
        extra = self.extra_proj(x[:, self.n_mels :]).unsqueeze(1)  # (N, 1, H)
        tokens = torch.cat([bands, extra], dim=1) + self.pos  # (N, n_tokens, H)
        return self.norm(self.layers(tokens).mean(dim=1))  # (N, H)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, f = x.shape
        return self._encode(x.reshape(b * t, f)).view(b, t, self.out_dim)

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        return ()

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        return self._encode(x), state

    def step_chunk(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        return self.forward(x), state


@register("encoder", "transformer")
def transformer_encoder(in_dim: int, cfg: EncoderConfig, n_mels: int) -> BandTransformerEncoder:
    return BandTransformerEncoder(in_dim, n_mels, cfg.hidden, cfg.layers, cfg.heads, cfg.band_size)
