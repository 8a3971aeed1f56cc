"""Auxiliary heads: beat phase and per-stem onsets read from the latent.

They make the latent carry rhythm explicitly (the teacher draws on beats and onsets, so a latent
that knows them draws in time), and they give evaluation a direct readout of what the model heard.

* `beat`: (..., 2), a regression of (sin, cos) of 2*pi*beat_phase (train with MSE against
  `FrameControls.beat_phase`; the phase is atan2(sin, cos) / (2*pi) mod 1);
* `onset`: (..., n_stems) logits, one per stem in `constants.STEMS` order (train with BCE).
"""

from __future__ import annotations

import torch
from torch import nn


class AuxHeads(nn.Module):
    def __init__(self, latent_dim: int, n_stems: int) -> None:
        super().__init__()
        self.n_stems = n_stems
        self.proj = nn.Linear(latent_dim, 2 + n_stems)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.proj(z)  # (..., 2 + n_stems)
        return {"beat": out[..., :2], "onset": out[..., 2:]}
