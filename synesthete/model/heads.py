"""Auxiliary heads: beat phase, per-stem onsets (and optionally bar phase, chord) from the latent.

They make the latent carry rhythm explicitly (the teacher draws on beats and onsets, so a latent
that knows them draws in time), and they give evaluation a direct readout of what the model heard.

* `beat`: (..., 2), a regression of (sin, cos) of 2*pi*beat_phase (train with MSE against
  `MusicState.beat_phase`; the phase is atan2(sin, cos) / (2*pi) mod 1);
* `onset`: (..., n_stems) logits, one per stem in `constants.STEMS` order (train with BCE);
* `bar` (with `bar=True`): (..., 2), (sin, cos) of 2*pi*bar_phase, trained like `beat`. The
  teachers loop many patterns once per bar, and a teacher drawn one beat off in the bar scores no
  better than a model trained without this head (docs/evaluation.md), so the memory must find
  the downbeat (kick pattern, backbeat, fills, chord changes): this head asks it to;
* `chord` (with `chord=True`): (..., 12) logits of the sounding chord's root pitch class (train
  with cross-entropy against `MusicState.chord_root`): the teacher colours by chord, so a
  latent that must name the chord has the colour at hand for the decoder.
"""

from __future__ import annotations

import torch
from torch import nn


class AuxHeads(nn.Module):
    def __init__(self, latent_dim: int, n_stems: int, chord: bool = False, bar: bool = False) -> None:
        super().__init__()
        self.n_stems = n_stems
        self.proj = nn.Linear(latent_dim, 2 + n_stems)
        self.chord = nn.Linear(latent_dim, 12) if chord else None
        self.bar = nn.Linear(latent_dim, 2) if bar else None

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.proj(z)  # (..., 2 + n_stems)
        heads = {"beat": out[..., :2], "onset": out[..., 2:]}
        if self.chord is not None:
            heads["chord"] = self.chord(z)  # (..., 12)
        if self.bar is not None:
            heads["bar"] = self.bar(z)  # (..., 2)
        return heads
