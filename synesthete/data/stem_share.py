"""Which stem holds each band's power, frame by frame: the target of the hearing model's stem-share head.

The onset heads' false hits are other stems' onsets (docs/evaluation.md): the kick head fires on
bass and chord notes that rise in its own band, the snare head on the lead's notes and the hats.
An onset target names the instrument once per hit; this one names it on every frame and band.
For each group of adjacent mel bands, the dry stems' mel powers (the main STFT of the features,
`FeatureExtractor.mel_power`, so frame t is the window ending at t's instant) divided by their
sum: a distribution over `STEMS`. Each (frame, group) is weighted by how loud the music is there,
from 0 at 60 dB under the clip's loudest group-frame to 1 at 40 dB under it, so silence and the
faint tails of reverb-free stems teach nothing.

    share, weight = stem_shares(clip.stems, features, n_frames, groups=16)   # (T, G, S), (T, G)
"""

from __future__ import annotations

import numpy as np
import torch

from synesthete.constants import STEMS

QUIET_DB = 60.0  # a group-frame this far under the clip's loudest weighs 0 ...
FULL_DB = 40.0  # ... and this far under it or louder weighs 1


def stem_shares(stems: dict[str, np.ndarray], features, n_frames: int, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """stems: stem -> (S,) or (C, S) dry audio at the mix's scale (`Clip.stems`; a stem not there
    holds nothing); features: the `FeatureExtractor` the model hears with; groups must divide its
    n_mels. Returns (share (T, groups, len(STEMS)), weight (T, groups)), float32, T = n_frames
    (frames past the audio's end hold nothing and weigh 0)."""
    if groups < 1 or features.n_mels % groups:
        raise ValueError(f"groups must divide n_mels = {features.n_mels}, got {groups}")
    power = np.zeros((len(STEMS), n_frames, groups), np.float64)
    mono = {s: np.asarray(x, np.float32).reshape(-1, np.shape(x)[-1]).mean(0) for s, x in stems.items() if s in STEMS}
    names = [s for s in STEMS if s in mono and mono[s].any()]  # a silent stem holds nothing: skip its STFT
    if names:
        mel = features.mel_power(torch.from_numpy(np.stack([mono[s] for s in names])), groups).double().numpy()
        for i, s in enumerate(names):  # (T', G) each
            power[STEMS.index(s), : mel.shape[1]] = mel[i, :n_frames]
    total = power.sum(0)  # (T, G)
    share = (power / np.maximum(total, 1e-20)).transpose(1, 2, 0)  # (T, G, S)
    db = 10.0 * np.log10(total + 1e-20)
    weight = np.clip((db - db.max() + QUIET_DB) / (QUIET_DB - FULL_DB), 0.0, 1.0) if total.any() else np.zeros_like(db)
    return share.astype(np.float32), weight.astype(np.float32)
