"""Hearing baselines from well-kept DSP libraries, to set the model's figures against.

* aubio (online): `aubio.tempo` (beats) and `aubio.onset` run hop by hop over the audio as a live
  tool would: a causal tracker, the kind the model replaces.
* librosa (offline reference): `librosa.beat.beat_track` and `librosa.onset.onset_detect` see the
  whole clip at once (non-causal): the ceiling a causal tracker is measured against.

Neither estimates downbeats or names instruments, so the per-stem onset baselines run the
library's own onset detector on one frequency band of the audio (a fourth-order Butterworth band
pass, zero-phase for librosa, causal for aubio): kick 30-150 Hz, snare 1-5 kHz, hats 7-11 kHz.
A plain band split is what a DSP rig does for a "kick" trigger; how far the model beats it is the
point of having heads per stem.

These libraries are the optional `baselines` extra (`uv sync` installs it with the dev group); they
are imported lazily and are never on the live path.
"""

from __future__ import annotations

import numpy as np

from synesthete.constants import STEMS
from synesthete.music_events import Events

# stem -> (low Hz, high Hz) of the band its baseline trigger listens to
BANDS = {"kick": (30.0, 150.0), "snare": (1000.0, 5000.0), "hat_closed": (7000.0, 11000.0)}
AUBIO_WIN, AUBIO_HOP = 1024, 256  # aubio's usual onset/tempo sizes at 44.1 kHz, ~10 ms hops at 24 kHz
# aubio's peak-picking threshold for the band onsets: its default (0.058) fires on every wobble of
# a band-passed mix (kick F 0.56 on a plain drum loop, 0.72 on mma-deep-river); 0.6 gave 0.98 / 0.77.
# Tuning on one dev excerpt favours the baseline, never the model.
AUBIO_ONSET_THRESHOLD = 0.6


def band(audio: np.ndarray, sr: int, lo: float, hi: float, causal: bool) -> np.ndarray:
    from scipy.signal import butter, sosfilt, sosfiltfilt

    hi = min(hi, 0.45 * sr)
    sos = butter(4, [lo, hi], btype="bandpass", fs=sr, output="sos")
    out = sosfilt(sos, audio) if causal else sosfiltfilt(sos, audio)
    return np.ascontiguousarray(out, dtype=np.float32)


def _events(beats: np.ndarray, onsets: dict[str, np.ndarray], tempo: float) -> Events:
    empty = np.zeros(0, np.float64)
    return Events(beats=np.asarray(beats, np.float64), beat_numbers=np.zeros(len(beats), np.int64),
                  downbeats=empty,
                  onsets={s: (np.asarray(onsets.get(s, empty), np.float64), np.ones(len(onsets.get(s, empty)))) for s in STEMS},
                  chords=[], tempo_bpm=float(tempo))


def _aubio_run(detector, audio: np.ndarray) -> list[float]:
    times = []
    n = audio.shape[0] // AUBIO_HOP * AUBIO_HOP
    for i in range(0, n, AUBIO_HOP):
        if detector(audio[i : i + AUBIO_HOP])[0]:
            times.append(float(detector.get_last_s()))
    return times


def aubio_events(audio: np.ndarray, sr: int) -> Events:
    """aubio's online beat tracker and band onset detectors, hop by hop (mono float32 audio)."""
    import aubio

    audio = np.ascontiguousarray(audio, dtype=np.float32)
    tempo = aubio.tempo("default", AUBIO_WIN, AUBIO_HOP, sr)
    beats = _aubio_run(tempo, audio)
    bpm = float(tempo.get_bpm())
    onsets = {}
    for stem, (lo, hi) in BANDS.items():
        det = aubio.onset("default", AUBIO_WIN, AUBIO_HOP, sr)
        det.set_minioi_s(0.05)
        det.set_threshold(AUBIO_ONSET_THRESHOLD)
        onsets[stem] = np.array(_aubio_run(det, band(audio, sr, lo, hi, causal=True)))
    return _events(np.array(beats), onsets, bpm)


def librosa_events(audio: np.ndarray, sr: int) -> Events:
    """librosa's offline beat tracker and band onset detectors over the whole clip."""
    import librosa

    audio = np.ascontiguousarray(audio, dtype=np.float32)
    tempo, beats = librosa.beat.beat_track(y=audio, sr=sr, units="time")
    onsets = {stem: librosa.onset.onset_detect(y=band(audio, sr, lo, hi, causal=False), sr=sr, units="time")
              for stem, (lo, hi) in BANDS.items()}
    return _events(beats, onsets, float(np.atleast_1d(tempo)[0]))


BASELINES = {"aubio (online)": aubio_events, "librosa (offline)": librosa_events}
