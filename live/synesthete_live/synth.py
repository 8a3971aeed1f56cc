"""The built-in MIDI synth: keyboard notes become audio the model hears and the player hears.

A VJ with a keyboard and no sound module still gets sound, and the network reacts to what they
play exactly as to music, because it is made by the same instruments the training music uses
(`synesthete.audio.instruments.synth_note`). A note is rendered once per pitch (at full velocity,
`hold_s` long; cached, 2-15 ms the first time, free afterwards; `prewarm` fills the cache up
front) and played from the cache scaled by velocity. `note_off` starts an exponential release
from wherever the note is (no click); a note held longer than `hold_s` plays the instrument's
own release. With `max_voices` sounding, a new note steals the oldest one (released quickly,
not cut). The mix goes through a soft limiter, so any number of voices stays inside +-0.98.

Threads: every method, `prewarm` included, is for ONE thread (the consumer/inference thread
polls MIDI, calls `note_on`/`note_off`, and `AudioSource.read` calls `render`); there is no lock,
so the live loop prewarms on that thread before the show starts. `render` is never
called from an audio callback (it allocates). Its audio reaches the output device through
`AudioSource.attach_synth` (the source plays it on its output's "synth" lane).
"""

from __future__ import annotations

import numpy as np

STEAL_RELEASE_S = 0.008  # a stolen voice fades this fast: short, but not a click
SILENT = 1e-4


class _Voice:
    __slots__ = ("pitch", "samples", "pos", "gain", "releasing", "dying", "env", "decay", "age")

    def __init__(self, pitch: int, samples: np.ndarray, gain: float, age: int) -> None:
        self.pitch, self.samples, self.gain, self.age = pitch, samples, gain, age
        self.pos = 0
        self.releasing = False
        self.dying = False  # fading fast after being stolen or re-struck; no longer counts as a voice
        self.env = 1.0  # current release gain
        self.decay = 1.0  # per-sample multiplier while releasing


def soft_limit(x: np.ndarray, knee: float = 0.6, ceiling: float = 0.98) -> np.ndarray:
    """Identity below `knee`, tanh-shaped above it, never beyond +-`ceiling`."""
    a = np.abs(x)
    over = a > knee
    if not over.any():
        return x
    y = x.copy()
    y[over] = np.sign(x[over]) * (knee + (ceiling - knee) * np.tanh((a[over] - knee) / (ceiling - knee)))
    return y


class Synth:
    """Polyphonic player of one instrument at `sample_rate`; `render(n)` mixes the active voices."""

    def __init__(self, sample_rate: int, instrument: str = "lead", max_voices: int = 16,
                 release_s: float = 0.15, hold_s: float = 3.0, gain: float = 0.5) -> None:
        from synesthete.audio.instruments import INSTRUMENTS

        if instrument not in INSTRUMENTS:
            raise ValueError(f"unknown synth instrument {instrument!r}; known: {', '.join(INSTRUMENTS)}")
        if int(max_voices) < 1:
            raise ValueError(f"max_voices must be >= 1, got {max_voices}")
        if release_s <= 0:
            raise ValueError(f"release_s must be > 0 seconds, got {release_s}")
        self.sample_rate = int(sample_rate)
        self.instrument = instrument
        self.max_voices = int(max_voices)
        self.release_s, self.hold_s, self.gain = release_s, hold_s, gain
        self._cache: dict[int, np.ndarray] = {}
        self._voices: list[_Voice] = []
        self._age = 0
        self.stolen = 0

    # ------------------------------------------------------------------ notes
    def _note_samples(self, pitch: int) -> np.ndarray:
        samples = self._cache.get(pitch)
        if samples is None:
            from synesthete.audio.instruments import synth_note

            samples = synth_note(self.instrument, pitch, 1.0, self.hold_s, self.sample_rate)
            self._cache[pitch] = samples
        return samples

    def prewarm(self, pitches: range | list[int] = range(36, 97)) -> None:
        """Render notes ahead of time so the first press of each key costs nothing."""
        for p in pitches:
            self._note_samples(int(p))

    def _release(self, voice: _Voice, seconds: float) -> None:
        voice.releasing = True
        # exp(-t / tau) with tau chosen so the voice is at -80 dB after `seconds`.
        voice.decay = float(np.exp(-9.21 / (seconds * self.sample_rate)))

    def note_on(self, pitch: int, velocity: int) -> None:
        """Start `pitch` (MIDI 0..127) at MIDI `velocity` 0..127 (0 means note_off, as in MIDI)."""
        if not 0 <= int(pitch) <= 127:
            raise ValueError(f"pitch must be a MIDI note number 0..127, got {pitch}")
        if not 0 <= velocity <= 127:
            raise ValueError(f"velocity must be a MIDI velocity 0..127, got {velocity}")
        pitch = int(pitch)
        if velocity == 0:
            self.note_off(pitch)
            return
        for v in self._voices:  # re-striking a key: the old strike fades under the new one
            if v.pitch == pitch and not v.releasing:
                self._release(v, STEAL_RELEASE_S * 4)
                v.dying = True
        live = [v for v in self._voices if not v.dying]
        while len(live) >= self.max_voices:
            # Steal a releasing voice first, else the oldest held one.
            victim = min(live, key=lambda v: (not v.releasing, v.age))
            self._release(victim, STEAL_RELEASE_S)
            victim.dying = True
            live.remove(victim)
            self.stolen += 1
        self._age += 1
        gain = (velocity / 127.0) ** 1.5  # a slightly convex curve: soft keys are really soft
        self._voices.append(_Voice(pitch, self._note_samples(pitch), gain, self._age))

    def note_off(self, pitch: int) -> None:
        for v in self._voices:
            if v.pitch == pitch and not v.releasing:
                self._release(v, self.release_s)

    def all_notes_off(self) -> None:
        for v in self._voices:
            if not v.releasing:
                self._release(v, self.release_s)

    @property
    def active_voices(self) -> int:
        """Voices that count against `max_voices` (held or releasing; not the fast fades)."""
        return sum(1 for v in self._voices if not v.dying)

    @property
    def sounding(self) -> int:
        """Every voice still making sound, fast fades included."""
        return len(self._voices)

    # ------------------------------------------------------------------ audio
    def render(self, n: int) -> np.ndarray:
        """The next `n` samples of every sounding voice, mixed and soft-limited, (n,) float32."""
        out = np.zeros(n, dtype=np.float32)  # (n,)
        keep: list[_Voice] = []
        for v in self._voices:
            seg = v.samples[v.pos : v.pos + n]
            m = seg.shape[0]
            if m:
                if v.releasing:
                    env = v.env * v.decay ** np.arange(1, m + 1, dtype=np.float64)  # (m,)
                    out[:m] += (v.gain * seg * env).astype(np.float32)
                    v.env = float(env[-1])
                else:
                    out[:m] += v.gain * seg
            v.pos += n
            if v.pos < v.samples.shape[0] and v.env > SILENT:
                keep.append(v)
        self._voices = keep
        return soft_limit(out * self.gain).astype(np.float32, copy=False)
