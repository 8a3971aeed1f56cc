"""Causal audio features: log-mel + spectral flux + RMS, one frame per video frame.

One extractor feeds training, offline rendering and the live loop, so what the model hears while
it learns is bit-for-bit what it hears on stage. Frame t stands for the instant (t + 1) / fps
(see docs/architecture.md, "Timing convention"): its STFT window *ends* at sample (t + 1) * hop,
with zeros before the clip start, so frame t uses only samples [0, (t + 1) * hop).

    fx = FeatureExtractor(24_000, 60)
    feats = fx.extract(audio)                 # (B, T, F), T = S // hop
    live = StreamingFeatures(24_000, 60)
    rows = live.push(block)                   # (k, F): the k frames this block completed

Per frame, F = n_mels + 2 (+ band_flux + 2 fast_mels + n_mels with pcen + n_chroma) values, all scaled to roughly
dataset statistics, so a checkpoint never depends on a normaliser fitted elsewhere):

* n_mels log-mel energies (Hann window, power spectrum, HTK mel filters, log with a floor),
* spectral flux: the mean positive log-mel rise against the previous frame (onset strength),
* RMS loudness of the newest hop, log scaled,
* optionally (`band_flux` = B > 0) the spectral flux per band: the positive log-mel rise against
  the previous frame, averaged over B groups of adjacent mel bands. The one broadband flux says
  *that* something started; where in the spectrum it started tells a kick (a rise below ~150 Hz)
  from a hat (above ~6 kHz) or a bass note. The network can in principle form these differences
  from consecutive log-mel frames itself, but the shipped conv encoder rectifies each frame before
  its temporal convolution, and without them its onset heads fired on every stem's onsets
  (docs/model.md, "Per-band flux"),
* optionally (`fast_mels` = M > 0) a fast block: M log-mel bands of the newest `fast_fft` samples
  (800 = two hops by default) through a half-Hann that rises to the newest sample, then their
  positive rise against the previous frame (2 M values). The main window ends at the frame's
  instant too, but a Hann weighs its newest hop, where a hit first sounds, by its falling tail:
  the hit shows a frame late, and on its own frame the kick is hard to tell from other stems'
  onsets (docs/training.md, "Onset false hits"). The short window hears it on the frame that holds it,
* optionally (`pcen` = True) the n_mels bands through per-channel energy normalisation (PCEN, Wang
  et al. 2017, librosa's `pcen`): each band's mel power divided by its own causal running mean
  (a one-pole smoother, `PCEN_TIME_S`), then root- and log-compressed. A band's level against its
  own recent past: a gain change, a steady noise floor or a room's tail cancel out, a hit stands
  out of a held note in its band, where the fixed-scale log-mel hears loudness,
* optionally chroma: the spectrum folded onto the 12 pitch classes, from a longer window
  (`chroma_fft` samples ending at the same instant). The teacher colours the picture by the current
  chord; log-mel bands are too coarse to hear a chord root, so without chroma a model can only
  learn the average colour (grey). Two layouts (`CHROMA_LAYOUTS`):
  - `n_chroma=12`: one vector of the power spectrum, 60 Hz - 5 kHz (the first design, kept so the
    checkpoints trained on it hear what they learned from);
  - `n_chroma=24`: a *bass* vector (30 - 160 Hz) then a *harmony* vector (160 Hz - 2 kHz), of the
    magnitude spectrum with narrower pitch classes. The bass line plays the chord root, so the
    bass vector's loudest class names it on ~75 % of the frames of held-out songs, where the
    single power vector's names it on ~36 % (drums and the lead's partials outshout the chord
    there); with an 8192-point window (341 ms) a semitone is resolvable down to ~50 Hz.
  - `n_chroma=36`: those two, then a *fast harmony* vector (250 Hz - 2 kHz) from its own
    2048-sample window, which a new chord fills within a few frames where the 341 ms window,
    centred 170 ms back, needs ~9 (docs/model.md).
  - `n_chroma=48`: those three, then a *bass salience* vector from the long window: for each
    candidate bass pitch (MIDI 28-52) the weighted sum of the log magnitude at its first 8
    harmonics, the loudest candidate per pitch class. A bass note's 3rd partial is its fifth, and
    a cheap mic's high-pass removes its fundamental, so the folded bass vector often names the
    fifth; summing the harmonics names the fundamental (docs/model.md, "Bass salience").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torchaudio.functional import melscale_fbanks

# Fixed normalisation, measured on noise and tones. Silence sits at the floor, log(1e-5) ~ -11.5
# (-> -2.1); quiet noise (0.05 rms) gives ~0.5, full-scale noise ~1.7 per band.
MEL_FLOOR = 1e-5
MEL_CENTER = -1.0
MEL_SCALE = 5.0
# Flux is a mean of positive log-mel rises (natural-log units): a drum hit in a mix gives ~1-3,
# a sound out of digital silence up to ~13.
FLUX_SCALE = 3.0
# RMS in dBFS-like natural log units: log(1e-4) ~ -9.2 (silence) .. log(0.5) ~ -0.7 (loud).
RMS_FLOOR = 1e-4
RMS_CENTER = -4.5
RMS_SCALE = 2.5
# PCEN (per-channel energy normalisation): out = log1p(sqrt(E / (eps + M)^alpha + delta) - sqrt(delta))
# - PCEN_CENTER, M the band's running mean of its mel power E over PCEN_TIME_S (librosa's default
# time constant, gain, bias and power). eps sits ~26 dB under quiet noise's mel power (~4.5 a band
# at 0.05 rms), so a sound out of digital silence reads ~4.5, not millions (before the centre: the
# log1p keeps that in range); a held sound reads ~0.3 and a hit ten times its band's recent mean ~1.1.
PCEN_TIME_S = 0.4
PCEN_ALPHA = 0.98
PCEN_DELTA = 2.0
PCEN_EPS = 1e-2
PCEN_CENTER = 0.5


@dataclass(frozen=True)
class BassSalience:
    """A 12-class vector naming the bass note's fundamental by subharmonic summation.

    For each candidate pitch p in [lo, hi] (MIDI): salience(p) = sum over h = 1..harmonics of
    decay^(h-1) x the mean of log(1 + |X| / scale) over the bins near h f_p (a Gaussian in pitch of
    `width` semitones, normalised so that a harmonic counts the same wherever many bins cover a
    semitone or one bin covers several). Each class takes its loudest candidate (an octave error
    keeps the class), and the vector is divided by its loudest class + floor like the folded ones.
    The log: one loud partial (the fifth, when the mic lost the fundamental) must not outweigh the
    other partials that agree on the fundamental. `scale` is for an 8192-point window and scales
    with the window length (a tone's magnitude does).

    On 16 held-out procedural songs (room mic / clean), its loudest class names the score's chord
    root on 63 % / 83 % of the frames after 4 s, the folded bass vector's on 34 % / 55 %.
    """

    lo: int = 28  # E1, 41 Hz
    hi: int = 52  # E3, 165 Hz
    harmonics: int = 8
    decay: float = 0.9
    width: float = 0.3
    scale: float = 1.0  # ~ a -66 dBFS partial in an 8192-point window: quieter ones count ~linearly
    floor: float = 1.0  # in salience units: -60 dBFS noise reads ~0.2, a bass line at a normal level ~0.9


@dataclass(frozen=True)
class ChromaLayout:
    """How a chroma vector set is read from the spectrum.

    magnitude: fold the magnitude spectrum (a quieter chord tone still counts next to a loud kick
        or lead partial) instead of the power spectrum;
    floor: added to each vector's loudest class before dividing by it, in the units of the folded
        spectrum, so that silence and faint noise read ~0 instead of a random normalised vector;
    bands: one 12-class vector per (f_min Hz, f_max Hz, pitch-class width in semitones[, window]):
        `window` samples ending at the frame's instant (default: the extractor's `chroma_fft`). A
        band with its own shorter window hears a change sooner; its floor scales with its length.
    salience: a bass salience vector (`BassSalience`) after the bands, from the `chroma_fft` window.
    """

    magnitude: bool
    floor: float
    bands: tuple[tuple[float, ...], ...]
    salience: BassSalience | None = None

    def windows(self, chroma_fft: int) -> list[tuple[int, list[tuple[float, float, float]]]]:
        """Consecutive bands that share a window, in order: [(window length, [(f_min, f_max, width)])]."""
        groups: list[tuple[int, list[tuple[float, float, float]]]] = []
        for band in self.bands:
            n = int(band[3]) if len(band) > 3 else chroma_fft
            if not groups or groups[-1][0] != n:
                groups.append((n, []))
            groups[-1][1].append(tuple(band[:3]))
        return groups


# The floors: a folded magnitude of 4 is about a -60 dBFS noise in the harmony band or a -50 dBFS
# tone, where music at a normal level folds to 150-350 (an 8192-point window).
CHROMA_LAYOUTS = {
    12: ChromaLayout(magnitude=False, floor=1.0, bands=((60.0, 5000.0, 0.5),)),
    24: ChromaLayout(magnitude=True, floor=4.0, bands=((30.0, 160.0, 0.3), (160.0, 2000.0, 0.3))),
    # 24 + a *fast harmony* vector from a 2048-sample window (85 ms, centred 43 ms back where the
    # long window's centre lies 170 ms back): a new chord fills it within a few frames. A semitone is
    # about 2 bins above ~250 Hz at this length, so it starts there and its classes are wider.
    36: ChromaLayout(magnitude=True, floor=4.0, bands=((30.0, 160.0, 0.3), (160.0, 2000.0, 0.3),
                                                       (250.0, 2000.0, 0.5, 2048))),
}
# 36 + a bass salience vector (from the long window): the fundamental, where the folded bass vector
# also hears its fifth (the 3rd partial).
CHROMA_LAYOUTS[48] = ChromaLayout(magnitude=True, floor=4.0, bands=CHROMA_LAYOUTS[36].bands, salience=BassSalience())
CHROMA_CHOICES = ("0 (off), 12 (pitch classes), 24 (bass and harmony pitch classes), 36 (24 + fast harmony) "
                  "or 48 (36 + bass salience)")
CHROMA_SIZES = ", ".join(str(n) for n in sorted(CHROMA_LAYOUTS))  # "12, 24, 36, 48": for the messages that need chroma


def feature_width(n_mels: int, n_chroma: int = 0, band_flux: int = 0, fast_mels: int = 0, pcen: bool = False) -> int:
    """F, the width of a frame's features: n_mels log-mel + flux + RMS (+ band flux) (+ the fast
    block: fast_mels log-mel + fast_mels rise) (+ n_mels PCEN bands) (+ chroma). Every config that
    names a feature layout reads its width here."""
    return n_mels + 2 + band_flux + 2 * fast_mels + (n_mels if pcen else 0) + n_chroma


def fast_rise_columns(n_mels: int, band_flux: int, fast_mels: int) -> slice:
    """Where in a frame's features the fast block's rise lies (empty without a fast block)."""
    start = n_mels + 2 + band_flux + fast_mels
    return slice(start, start + fast_mels)


def _model_kwargs(cfg) -> dict:
    """The extractor arguments a model config was trained with (band_flux, window_fall and
    fast_mels are 0, pcen False, for configs stored without them); `FeatureExtractor` and `StreamingFeatures`
    take the same."""
    return dict(sample_rate=cfg.sample_rate, fps=cfg.fps, n_mels=cfg.n_mels, n_fft=cfg.n_fft, n_chroma=cfg.n_chroma,
                chroma_fft=cfg.chroma_fft, band_flux=getattr(cfg, "band_flux", 0),
                window_fall=getattr(cfg, "window_fall", 0), fast_mels=getattr(cfg, "fast_mels", 0),
                fast_fft=getattr(cfg, "fast_fft", FAST_FFT), pcen=getattr(cfg, "pcen", False))


def chroma_filterbank(sample_rate: int, n_fft: int, f_min: float = 60.0, f_max: float = 5000.0,
                      width: float = 0.5) -> torch.Tensor:
    """(n_fft // 2 + 1, 12): each FFT bin's weight per pitch class (C = 0), Gaussian in pitch.

    A bin at f Hz sits at MIDI pitch p = 69 + 12 log2(f / 440); it feeds pitch class c with weight
    exp(-d^2 / 2 width^2), d the distance in semitones from p to the nearest pitch of class c, so a
    tone between two semitones splits its energy. Bins outside [f_min, f_max] are ignored.
    """
    freqs = torch.fft.rfftfreq(n_fft, 1.0 / sample_rate, dtype=torch.float64)  # (n_bins,)
    pitch = 69.0 + 12.0 * torch.log2(freqs.clamp_min(1e-3) / 440.0)  # (n_bins,)
    d = (pitch[:, None] - torch.arange(12, dtype=torch.float64)[None, :]) % 12.0  # (n_bins, 12)
    d = torch.minimum(d, 12.0 - d)
    fb = torch.exp(-0.5 * (d / width) ** 2)
    fb[(freqs < f_min) | (freqs > f_max)] = 0.0
    return fb.to(torch.float32)


def salience_filterbank(sample_rate: int, n_fft: int, sal: BassSalience) -> torch.Tensor:
    """(n_fft // 2 + 1, 12 k) float32: each bin's weight in the salience of each candidate pitch,
    columns from pitch 12 (lo // 12) up in k whole octaves (candidates outside [lo, hi]: all zero),
    so that `.unflatten(-1, (k, 12))` lines the columns up by pitch class."""
    freqs = torch.fft.rfftfreq(n_fft, 1.0 / sample_rate, dtype=torch.float64)
    pitch = 69.0 + 12.0 * torch.log2(freqs.clamp_min(1e-3) / 440.0)
    base = 12 * (sal.lo // 12)
    fb = torch.zeros(freqs.numel(), 12 * (sal.hi // 12 - sal.lo // 12 + 1), dtype=torch.float64)
    for p in range(sal.lo, sal.hi + 1):
        for h in range(1, sal.harmonics + 1):
            kernel = torch.exp(-0.5 * ((pitch - p - 12.0 * np.log2(h)) / sal.width) ** 2)
            kernel[0] = 0.0  # DC is no partial
            # Unit area (at most 1 per bin): where a semitone spans many bins, a harmonic still
            # counts once; below ~100 Hz a bin spans more than a semitone and the nearest bins count.
            fb[:, p - base] += sal.decay ** (h - 1) * kernel / kernel.sum().clamp_min(1.0)
    return fb.to(torch.float32)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) float32: HTK mel filters from f_min up to Nyquist, unnormalised."""
    return melscale_fbanks(n_fft // 2 + 1, f_min=f_min, f_max=sample_rate / 2, n_mels=n_mels,
                           sample_rate=sample_rate, norm=None, mel_scale="htk").to(torch.float32)


def _mel_power(windows: torch.Tensor, window: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
    """windows (B, T, span) -> (B, T, bands): the power of each window's newest len(window)
    samples, weighted by `window`, through the filterbank `fb` (bins, bands)."""
    spec = torch.fft.rfft(windows[..., windows.shape[-1] - window.shape[0]:] * window, dim=-1)  # (B, T, bins)
    return (spec.real.square() + spec.imag.square()) @ fb


def _log_mel(windows: torch.Tensor, window: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
    """`_mel_power`'s log, with the floor that silence reads."""
    return torch.log(_mel_power(windows, window, fb) + MEL_FLOOR)


def mel_window(n_fft: int, fall: int = 0) -> torch.Tensor:
    """The log-mel STFT's window, (n_fft,). fall = 0: the periodic Hann. fall > 0: asymmetric, a
    Hann half rising over the first n_fft - fall samples and one falling over the last `fall`.

    The window ends at the frame's instant, so its last samples are the newest audio. A Hann
    window weighs the newest hop (400 of 1024 samples at 24 kHz / 60 fps) by 0.33 on average
    and its last quarter by < 0.1: a hit late in the hop barely shows on the frame that holds it.
    With fall = 64 (2.7 ms) the newest hop keeps a weight near 1 up to its last 64 samples."""
    if fall == 0:
        return torch.hann_window(n_fft, periodic=True)
    rise = torch.hann_window(2 * (n_fft - fall), periodic=False)[: n_fft - fall]
    return torch.cat([rise, torch.hann_window(2 * fall + 2, periodic=False)[fall + 2:]])


FAST_FFT = 800  # the fast block's window (33 ms at 24 kHz): two hops at 60 fps
FAST_SHAPES = ("flat", "rise", "hann")


def fast_window(n: int, shape: str = "rise") -> torch.Tensor:
    """The fast block's window, (n,), its last sample the newest. "rise": the rising half of a
    Hann, so the newest samples weigh most and the oldest fade in (no edge at the far end); "flat":
    rectangular; "hann": the symmetric Hann (the newest samples weigh ~0, as in the main window)."""
    if shape == "flat":
        return torch.ones(n)
    if shape == "rise":
        return torch.hann_window(2 * n, periodic=False)[1: n + 1]
    if shape == "hann":
        return torch.hann_window(n, periodic=True)
    raise ValueError(f"fast window shape must be one of {', '.join(FAST_SHAPES)}, got {shape!r}")


class FeatureExtractor:
    """Batch causal features. `extract(audio (B, S) or (S,)) -> (B, T, F)`,
    F = n_mels + 2 + band_flux + 2 fast_mels (+ n_mels PCEN) + n_chroma, in that order (chroma last)."""

    def __init__(self, sample_rate: int, fps: int, n_mels: int = 64, n_fft: int = 1024,
                 device: torch.device | str = "cpu", n_chroma: int = 0, chroma_fft: int = 4096,
                 band_flux: int = 0, window_fall: int = 0, fast_mels: int = 0, fast_fft: int = FAST_FFT,
                 fast_shape: str = "rise", pcen: bool = False) -> None:
        if n_chroma and n_chroma not in CHROMA_LAYOUTS:
            raise ValueError(f"n_chroma must be {CHROMA_CHOICES}, got {n_chroma}")
        if n_chroma and chroma_fft < 16:
            raise ValueError(f"need chroma_fft >= 16, got {chroma_fft}")
        if sample_rate <= 0 or fps <= 0 or sample_rate // fps < 1:
            raise ValueError(f"need sample_rate >= fps > 0, got sample_rate={sample_rate}, fps={fps}")
        if n_mels < 1 or n_fft < 16:
            raise ValueError(f"need n_mels >= 1 and n_fft >= 16, got n_mels={n_mels}, n_fft={n_fft}")
        if band_flux < 0 or (band_flux and n_mels % band_flux):
            raise ValueError(f"band_flux must be 0 (off) or divide n_mels = {n_mels}, got {band_flux}")
        if not 0 <= window_fall < n_fft // 2:
            raise ValueError(f"window_fall must be 0 (Hann) or in [1, n_fft / 2 = {n_fft // 2}), got {window_fall}")
        if fast_mels < 0 or (fast_mels and fast_fft < 64):
            raise ValueError(f"need fast_mels >= 0 (0 = off) and fast_fft >= 64, got {fast_mels}, {fast_fft}")
        self.sample_rate = int(sample_rate)
        self.fps = int(fps)
        self.n_mels = int(n_mels)
        self.n_fft = int(n_fft)
        self.hop = self.sample_rate // self.fps
        self.n_chroma = int(n_chroma)
        self.chroma_fft = int(chroma_fft) if n_chroma else 0
        groups = CHROMA_LAYOUTS[self.n_chroma].windows(self.chroma_fft) if n_chroma else []
        self.fast_mels = int(fast_mels)
        self.fast_fft = int(fast_fft) if fast_mels else 0
        self.span = max([self.n_fft, self.chroma_fft, self.fast_fft] + [n for n, _ in groups])  # samples each frame looks at
        self.band_flux = int(band_flux)
        self.pcen = bool(pcen)
        # The smoother's weight per frame for a PCEN_TIME_S time constant, as librosa.pcen sets it.
        frames = PCEN_TIME_S * self.fps
        self.pcen_b = (np.sqrt(1 + 4 * frames**2) - 1) / (2 * frames**2)
        self.n_features = feature_width(self.n_mels, self.n_chroma, self.band_flux, self.fast_mels, self.pcen)
        self.device = torch.device(device)
        self.window_fall = int(window_fall)
        self.window = mel_window(self.n_fft, self.window_fall).to(self.device)  # (n_fft,)
        self.chroma_layout = CHROMA_LAYOUTS[self.n_chroma] if n_chroma else None
        # One STFT per window length: [(length, Hann window, filterbank (bins, 12 x bands), floor)].
        self.chroma_parts: list[tuple[int, torch.Tensor, torch.Tensor, float]] = []
        for n, bands in groups:
            fb = torch.cat([chroma_filterbank(self.sample_rate, n, *band) for band in bands], dim=1)  # (n // 2 + 1, 12 x bands)
            # Only bins up to the top band's f_max feed chroma (2 kHz of 12 kHz: 683 of 4097 bins
            # at 8192): folding just those skips most of the power, root and matmul work.
            bins = int(fb.any(dim=1).nonzero().max()) + 1
            floor = self.chroma_layout.floor * n / self.chroma_fft  # a tone folds to a magnitude ~ window length
            self.chroma_parts.append((n, torch.hann_window(n, periodic=True, device=self.device),
                                      fb[:bins].to(self.device), floor))
        # The bass salience: (its filterbank (bins, 12 k), scale, floor), from the chroma_fft window's
        # spectrum (the first part with that window folds at least as many bins).
        self.salience: tuple[torch.Tensor, float, float] | None = None
        sal = self.chroma_layout.salience if n_chroma else None
        if sal is not None:
            part = next(k for k, (n, _) in enumerate(groups) if n == self.chroma_fft)
            sfb = salience_filterbank(self.sample_rate, self.chroma_fft, sal)
            sbins = int(sfb.any(dim=1).nonzero().max()) + 1
            n, window, fb, floor = self.chroma_parts[part]
            if sbins > fb.shape[0]:  # the salience reaches above the bands' top bin: fold more bins
                fb = torch.cat([fb, fb.new_zeros(sbins - fb.shape[0], fb.shape[1])])
                self.chroma_parts[part] = (n, window, fb, floor)
            self.salience_part = part
            self.salience = (sfb[:sbins].to(self.device), sal.scale * self.chroma_fft / 8192, sal.floor)
        # (n_fft // 2 + 1, n_mels)
        self.mel_fb = mel_filterbank(self.sample_rate, self.n_fft, self.n_mels, f_min=20.0).to(self.device)
        # The fast block: fast_mels log-mel bands of the newest fast_fft samples and their rise
        # against the previous frame. The main window ends at the frame's instant too, but the
        # newest hop, where a hit first sounds, is its falling tail (docs/training.md, "Onset false
        # hits"); a window about a hop long, weighing the newest samples most, hears the hit on the
        # frame that holds it, where the long one hears it a frame later.
        if self.fast_mels:
            self.fast_win = fast_window(self.fast_fft, fast_shape).to(self.device)
            # (fast_fft // 2 + 1, fast_mels)
            self.fast_fb = mel_filterbank(self.sample_rate, self.fast_fft, self.fast_mels, f_min=0.0).to(self.device)

    def to(self, device: torch.device | str) -> "FeatureExtractor":
        self.device = torch.device(device)
        self.window = self.window.to(self.device)
        self.mel_fb = self.mel_fb.to(self.device)
        self.chroma_parts = [(n, w.to(self.device), fb.to(self.device), floor) for n, w, fb, floor in self.chroma_parts]
        if self.salience is not None:
            self.salience = (self.salience[0].to(self.device),) + self.salience[1:]
        if self.fast_mels:
            self.fast_win, self.fast_fb = self.fast_win.to(self.device), self.fast_fb.to(self.device)
        return self

    @classmethod
    def for_model(cls, cfg, device: torch.device | str = "cpu") -> "FeatureExtractor":
        """The extractor a `ModelConfig` was trained with."""
        return cls(**_model_kwargs(cfg), device=device)

    @property
    def carried(self) -> int:
        """Width of the state carried from one frame to the next: the log-mel, the fast block's
        log-mel, then (with pcen) each band's running mean mel power."""
        return self.n_mels + self.fast_mels + (self.n_mels if self.pcen else 0)

    def silence_state(self, batch: int) -> torch.Tensor:
        """The carried state after an all-zero window, the 'previous frame' of frame 0: the log-mels
        at the floor (then, with pcen, running means of zero power)."""
        state = torch.full((batch, self.carried), float(np.log(MEL_FLOOR)), device=self.device)
        state[:, self.n_mels + self.fast_mels:] = 0.0
        return state

    def features_from_windows(self, windows: torch.Tensor, hops: torch.Tensor,
                              prev_state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of consecutive frames.

        windows (B, T, span): the windows (each ending at its frame's instant; the mel STFT uses
            its last n_fft samples, chroma all `span` = max(n_fft, chroma_fft)),
        hops (B, T, hop): the newest hop of samples of each frame,
        prev_state (B, carried): raw log-mel (then the fast block's, then with pcen the running
            mean mel power) of the frame before the first one.
        Returns the features (B, T, F) and the same state after the last frame (B, carried).
        """
        power = _mel_power(windows, self.window, self.mel_fb)  # (B, T, n_mels)
        logmel = torch.log(power + MEL_FLOOR)
        previous = torch.cat([prev_state[:, None, : self.n_mels], logmel[:, :-1]], dim=1)
        rise = (logmel - previous).clamp_min(0.0)  # (B, T, n_mels)
        flux = rise.mean(dim=-1, keepdim=True)  # (B, T, 1)
        rms = hops.square().mean(dim=-1, keepdim=True).sqrt()  # (B, T, 1)
        parts = [
            (logmel - MEL_CENTER) / MEL_SCALE,
            flux / FLUX_SCALE,
            (torch.log(rms + RMS_FLOOR) - RMS_CENTER) / RMS_SCALE,
        ]
        if self.band_flux:  # (B, T, band_flux): each group of n_mels / band_flux adjacent bands
            parts.append(rise.unflatten(-1, (self.band_flux, -1)).mean(dim=-1) / FLUX_SCALE)
        last = logmel[:, -1]
        if self.fast_mels:  # (B, T, 2 fast_mels): the fast log-mel, then its positive rise
            fast = _log_mel(windows, self.fast_win, self.fast_fb)  # (B, T, fast_mels)
            fprev = torch.cat([prev_state[:, None, self.n_mels : self.n_mels + self.fast_mels], fast[:, :-1]], dim=1)
            parts += [(fast - MEL_CENTER) / MEL_SCALE, (fast - fprev).clamp_min(0.0) / FLUX_SCALE]
            last = torch.cat([last, fast[:, -1]], dim=-1)
        if self.pcen:  # (B, T, n_mels): each band against its own running mean
            mean = prev_state[:, self.n_mels + self.fast_mels:]
            means = []
            for t in range(power.shape[1]):  # a frame at a time, so a stream in any chunking gives the same numbers
                mean = mean + self.pcen_b * (power[:, t] - mean)
                means.append(mean)
            smooth = torch.stack(means, dim=1)
            gained = power / (PCEN_EPS + smooth) ** PCEN_ALPHA
            parts.append(torch.log1p((gained + PCEN_DELTA).sqrt() - PCEN_DELTA ** 0.5) - PCEN_CENTER)
            last = torch.cat([last, mean], dim=-1)
        salience = None
        for k, (n, window, fb, floor) in enumerate(self.chroma_parts):
            cspec = torch.fft.rfft(windows[..., windows.shape[-1] - n:] * window, dim=-1)[..., : fb.shape[0]]  # (B, T, bins)
            cpower = cspec.real.square() + cspec.imag.square()
            folded = (cpower.sqrt() if self.chroma_layout.magnitude else cpower) @ fb  # (B, T, 12 x bands)
            folded = folded.unflatten(-1, (-1, 12))  # (B, T, bands, 12): each vector divided by its own loudest class
            parts.append((folded / (folded.amax(dim=-1, keepdim=True) + floor)).flatten(-2))
            if self.salience is not None and k == self.salience_part:
                sfb, scale, sfloor = self.salience
                # (B, T, octaves, 12) -> each class's loudest candidate, (B, T, 12)
                salience = (torch.log1p(cpower[..., : sfb.shape[0]].sqrt() / scale) @ sfb).unflatten(-1, (-1, 12)).amax(-2)
                salience = salience / (salience.amax(dim=-1, keepdim=True) + sfloor)
        if salience is not None:  # after every band's vector
            parts.append(salience)
        return torch.cat(parts, dim=-1), last

    def extract(self, audio: torch.Tensor | np.ndarray) -> torch.Tensor:
        audio = torch.as_tensor(audio)
        if audio.dim() == 1:
            audio = audio.unsqueeze(0)
        if audio.dim() != 2:
            raise ValueError(f"audio must be (S,) or (B, S), got shape {tuple(audio.shape)}")
        audio = audio.to(self.device, torch.float32)
        batch, n_samples = audio.shape
        n_frames = n_samples // self.hop
        if n_frames == 0:
            return torch.zeros(batch, 0, self.n_features, device=self.device)
        audio = audio[:, : n_frames * self.hop]
        hops = audio.view(batch, n_frames, self.hop)  # (B, T, hop)
        return self.features_from_windows(self._windows(audio, self.span), hops, self.silence_state(batch))[0]

    def _windows(self, audio: torch.Tensor, span: int) -> torch.Tensor:
        """audio (B, T x hop) -> (B, T, span): each frame's last `span` samples (zeros before the clip)."""
        lead = span - self.hop  # history each window needs before its newest hop
        if lead >= 0:
            padded = torch.nn.functional.pad(audio, (lead, 0))  # zeros before the clip start
        else:  # window shorter than a hop: it covers only the newest `span` samples
            padded = audio[:, -lead:]
        return padded.unfold(-1, span, self.hop)

    def mel_power(self, audio: torch.Tensor | np.ndarray, groups: int | None = None) -> torch.Tensor:
        """audio (B, S) or (S,) -> (B, T, n_mels): the mel power (not its log) of each frame's main
        window, the STFT the log-mel features read, so a target made from it lines up with them;
        with `groups` (a divisor of n_mels), (B, T, groups): the power summed over each group of
        adjacent bands (one matrix product with the summed filters, a quarter of the work at 16)."""
        audio = torch.as_tensor(audio).to(self.device, torch.float32)
        audio = audio[None] if audio.dim() == 1 else audio
        n_frames = audio.shape[-1] // self.hop
        fb = self.mel_fb if groups is None else self.mel_fb.unflatten(1, (groups, -1)).sum(-1)
        return _mel_power(self._windows(audio[:, : n_frames * self.hop], self.n_fft), self.window, fb)


class StreamingFeatures:
    """The same features, block by block: `push(chunk (n,)) -> (k, F)` for the k new frames.

    Keeps the last `span - hop` samples of history, the partial hop not yet complete and the
    previous frame's log-mel (and PCEN's running means); pushing a clip in any chunking gives the numbers of `extract`.
    """

    def __init__(self, sample_rate: int, fps: int, n_mels: int = 64, n_fft: int = 1024,
                 device: torch.device | str = "cpu", n_chroma: int = 0, chroma_fft: int = 4096,
                 band_flux: int = 0, window_fall: int = 0, fast_mels: int = 0, fast_fft: int = FAST_FFT,
                 fast_shape: str = "rise", pcen: bool = False) -> None:
        self.extractor = FeatureExtractor(sample_rate, fps, n_mels, n_fft, device, n_chroma, chroma_fft, band_flux,
                                          window_fall, fast_mels, fast_fft, fast_shape, pcen)
        self.hop = self.extractor.hop
        self.n_features = self.extractor.n_features
        self.device = self.extractor.device
        self._keep = max(self.extractor.span - self.hop, 0)
        self.reset()

    @classmethod
    def for_model(cls, cfg, device: torch.device | str = "cpu") -> "StreamingFeatures":
        """The streaming extractor a `ModelConfig` was trained with."""
        return cls(**_model_kwargs(cfg), device=device)

    def reset(self) -> None:
        """Forget all history: the next push starts a new clip (zeros before it)."""
        self._buffer = torch.zeros(self._keep, device=self.device)  # history + partial hop
        self._pending = 0  # samples of the buffer after the last complete frame
        self._prev_state = self.extractor.silence_state(1)  # (1, carried)

    def push(self, chunk: torch.Tensor | np.ndarray) -> torch.Tensor:
        chunk = torch.as_tensor(chunk)
        if chunk.dim() != 1:
            raise ValueError(f"push takes a mono chunk of shape (n,), got shape {tuple(chunk.shape)}")
        self._buffer = torch.cat([self._buffer, chunk.to(self.device, torch.float32)])
        self._pending += chunk.numel()
        k = self._pending // self.hop
        if k == 0:
            return torch.zeros(0, self.n_features, device=self.device)
        fx = self.extractor
        used = self._keep + k * self.hop  # history + the k new hops
        start = self._buffer.numel() - self._pending - self._keep
        span = self._buffer[start : start + used]
        if fx.span >= self.hop:
            windows = span.unfold(0, fx.span, self.hop)  # (k, span)
        else:
            windows = span.view(k, self.hop)[:, self.hop - fx.span :]
        hops = span[self._keep :].view(k, self.hop)  # (k, hop)
        out, self._prev_state = fx.features_from_windows(
            windows.unsqueeze(0), hops.unsqueeze(0), self._prev_state)
        self._pending -= k * self.hop
        self._buffer = self._buffer[self._buffer.numel() - self._pending - self._keep :].clone()
        return out[0]
