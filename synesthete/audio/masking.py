"""Which of a clip's drum hits are masked by the rest of the mix: inaudible, though in the score.

The score lists every hit the engine played, including ghost notes at a quarter of the backbeat's
velocity and hats under an open hat or a clap. Measured on 30 engine clips (docs/training.md,
"Masked hits"): in the 30 ms after a hit, 22 % of snare hits lie more than 10 dB below the rest of
the mix in *every* band (38 % of the ghost notes, 7 % of the backbeats), 16 % of closed hats; no
kick. A hearing model asked to fire on those learns to fire on any onset where one could be, on
every stem: its false hits. `masked_hits` finds them from the clip's dry stems, so that training
can leave them out of the onset loss (neither a hit to find nor a silence to keep).

    masked = masked_hits(clip.stems, clip.score.onsets, sr, threshold_db=-10.0)  # stem -> times (s)
"""

from __future__ import annotations

import numpy as np

DRUMS = ("kick", "snare", "hat_closed", "hat_open", "perc")  # one-shots: a hit is its own stem's rise
WINDOW_S = 0.03  # the attack a listener (and a 60 fps frame or two) hears
N_FFT = 1024
BAND_EDGES_HZ = (20.0, 60.0, 120.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 12000.0)


def _band_powers(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """(hits, bands) power of each row of x (hits, n) in the octave-ish bands of BAND_EDGES_HZ."""
    spec = np.abs(np.fft.rfft(x * np.hanning(x.shape[-1]), N_FFT, axis=-1)) ** 2  # (hits, bins)
    band = np.digitize(np.fft.rfftfreq(N_FFT, 1.0 / sample_rate), BAND_EDGES_HZ) - 1  # (bins,)
    return np.stack([spec[:, band == b].sum(-1) for b in range(len(BAND_EDGES_HZ) - 1)], axis=-1) + 1e-12


def hit_prominence_db(stems: dict[str, np.ndarray], onsets: dict[str, tuple[np.ndarray, np.ndarray]],
                      sample_rate: int) -> dict[str, np.ndarray]:
    """For each drum stem, per hit (in `onsets` order): how far the stem stands above the rest of
    the dry mix in its best band over the WINDOW_S after the hit, dB. stems: stem -> (S,) dry audio
    at the mix's scale (`Clip.stems`); onsets: stem -> (times s, velocities) (`Score.onsets`)."""
    n = int(WINDOW_S * sample_rate)
    mix = sum(stems.values())
    out = {}
    for stem in DRUMS:
        times = np.asarray(onsets.get(stem, ((), ()))[0], np.float64)
        if stem not in stems or not times.shape[0]:
            out[stem] = np.zeros(0)
            continue
        own, rest = stems[stem], mix - stems[stem]
        start = np.clip(np.round(times * sample_rate).astype(np.int64), 0, max(0, own.shape[0] - n))
        idx = start[:, None] + np.arange(n)[None, :]  # (hits, n)
        ok = idx < own.shape[0]
        idx = np.minimum(idx, own.shape[0] - 1)
        ratio = _band_powers(np.where(ok, own[idx], 0.0), sample_rate) / _band_powers(np.where(ok, rest[idx], 0.0), sample_rate)
        out[stem] = 10.0 * np.log10(ratio.max(axis=-1))
    return out


def masked_hits(stems: dict[str, np.ndarray], onsets: dict[str, tuple[np.ndarray, np.ndarray]],
                sample_rate: int, threshold_db: float) -> dict[str, np.ndarray]:
    """stem -> times (s) of its hits whose best band stays `threshold_db` or more below the rest of
    the mix (`hit_prominence_db` < threshold_db); drum stems only."""
    prominence = hit_prominence_db(stems, onsets, sample_rate)
    return {s: np.asarray(onsets.get(s, ((), ()))[0], np.float64)[p < threshold_db] if p.shape[0] else np.zeros(0)
            for s, p in prominence.items()}
