"""Musical control signals as broadcastable tensors, and the `Style` base class that uses them.

A style never reads raw loudness: it reads *what the music did* (a kick, a snare, hats, the bass
line, the chord, the melody, the section energy, where we are in the beat). `Signals` turns one
`MusicState` into per-frame torch tensors of shape (T, 1, 1), ready to broadcast against the
(1, H, W) grids of `synesthete.visual.grid`, and folds the `reactivity` knob into the onset-driven
envelopes once, so every style scales its reactions the same way.

`Style.render` validates its input, builds the signals and grid, calls the subclass's `draw` and
clamps to [0, 1]. Styles hold no state between calls: every frame is a function of that frame's
controls, so rendering frames [a:b] equals slicing a render of the whole clip.

Signals carry no clock. Every motion is locked to the music: a pattern turns or scrolls by exactly
one of its own periods per beat (`beat_turn`) or per bar (`bar_turn`), or sways back and forth once
per bar (`bar_sway`). So a frame depends on where we are in the beat and bar and on what the music
is doing, never on how long the song has been playing, which no listener (and no causal model) can
know.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from synesthete.audio.composer import BEATS_PER_BAR
from synesthete.music_state import MusicState
from synesthete.constants import STEMS
from synesthete.visual import fastmath as fm
from synesthete.visual.grid import TAU, Grid, get_grid
from synesthete.visual.palette import chord_palette

ONSET_HIT = 0.5  # an onset value at or above this is a hit
# The beat snaps (a jump of the beat-locked motion right after each beat) ramp in between these beat
# confidences: the score's exact beat (1.0) snaps in full, an estimate runs at an even speed. A snap
# on a beat the estimate misplaced by two frames is an event the music did not have: measured on
# the dev set's recorded music with the shipped hearing model, the rings' AV-Align went from 0.488
# to 0.526 without the snaps (docs/visualizers.md); the hits give the impulses instead.
SNAP_CONF = (0.9, 1.0)
CHUNK_ELEMENTS = 1 << 18  # pixels x frames per drawing chunk (float32: 1 MB per working tensor)
# One frame (the live and render path) is drawn whole up to this many pixels, 1280x720 included:
# with its few passes (numpy transcendentals, folded scales) the band's copy into the frame and
# the calls per band cost more than the cache they save (2026-11-30, best of rounds: 800x450
# 0.71-0.91x, 1280x720 0.73-0.95x of drawing in 256 K-pixel bands).
FRAME_ELEMENTS = 1 << 20


Scalar = torch.Tensor | float  # a per-frame signal: (T, 1, 1), or a float for one frame


def _col(a: np.ndarray) -> Scalar:
    a = np.asarray(a, dtype=np.float32)
    if a.shape == (1,):
        return float(a[0])  # one frame: a float (see `Signals`)
    return torch.from_numpy(np.ascontiguousarray(a)).view(-1, 1, 1)  # (T, 1, 1)


def sin(x: Scalar | torch.Tensor) -> Scalar:
    """sin of a per-frame signal (float or tensor)."""
    return math.sin(x) if isinstance(x, float) else torch.sin(x)


def cos(x: Scalar | torch.Tensor) -> Scalar:
    return math.cos(x) if isinstance(x, float) else torch.cos(x)


def exp(x: Scalar | torch.Tensor) -> Scalar:
    return math.exp(x) if isinstance(x, float) else torch.exp(x)


def frame_col(x: Scalar) -> Scalar:
    """A per-frame signal shaped to scale colours (T, 3, 1, 1): (T, 1, 1, 1), or the float."""
    return x if isinstance(x, float) else x.unsqueeze(1)


def peak(x: Scalar) -> float:
    """The largest value of a per-frame signal over its frames."""
    return x if isinstance(x, float) else float(x.max())


def addmul_(acc: torch.Tensor, field: torch.Tensor, scale: Scalar) -> torch.Tensor:
    """acc += field * scale in place, for a per-frame scale (float or (T, 1, 1))."""
    return acc.add_(field, alpha=scale) if isinstance(scale, float) else acc.addcmul_(field, scale)


@dataclass
class Signals:
    """Per-frame signals, each (T, 1, 1) float32 (colours (T, 3, 1, 1)); for one frame (T = 1, a
    live or rendered frame) each is a Python float instead (colours stay tensors).

    Onset-driven envelopes (kick .. fx) are already multiplied by `reactivity`; the slow musical
    context (energy, phases, pitches, colours) is not.

    Why floats for one frame: a style does some fifty to a hundred small sums on its signals per
    frame; on (1, 1, 1) tensors each is a torch call (a few microseconds: a third of a look's
    frame at 640x360 went there), on floats it is nothing. So a style writes its per-frame maths
    for either (plain arithmetic works on both; `sin`, `cos`, `exp`, `frame_col`, `peak` and
    `addmul_` here cover the rest), and the tests hold the one-frame picture to the same frame of
    a whole-clip render.
    """

    n: int
    reactivity: float
    kick: Scalar  # kick envelope: jumps on a kick, then decays
    snare: Scalar  # snare (and clap) envelope
    hats: Scalar  # closed/open hats and percussion: fine, fast detail
    bass_env: Scalar  # bass note envelope
    chord_env: Scalar  # chord stab / pad envelope
    lead_env: Scalar  # lead note envelope
    fx: Scalar  # risers, sweeps, impacts
    energy: Scalar  # section energy in [0, 1] (smooth)
    beat_phase: Scalar  # 0 -> 1 through each beat
    bar_phase: Scalar  # 0 -> 1 through each bar
    melody: Scalar  # lead pitch in [0, 1]
    bass_pitch: Scalar  # bass pitch in [0, 1]
    base: torch.Tensor  # (T, 3, 1, 1) chord colour
    accent: torch.Tensor  # (T, 3, 1, 1) second chord colour
    beat_conf: Scalar = 1.0  # (T, 1, 1) how much the beat snaps: 1 on a sure beat (see SNAP_CONF)
    pulse: Scalar = 0.0  # (T, 1, 1) the strongest voice's envelope: jumps on any hit

    def slice(self, start: int, stop: int) -> "Signals":
        """The signals of frames [start, stop)."""
        kw = {k: (v[start:stop] if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        kw["n"] = max(0, min(stop, self.n) - start)
        return Signals(**kw)

    def to(self, device: torch.device | str) -> "Signals":
        """The same signals on `device` (a GPU draws the looks at the window's size)."""
        if torch.device(device).type == "cpu":
            return self
        return Signals(**{k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()})

    @staticmethod
    def from_controls(ctrl: MusicState, reactivity: float = 1.0) -> "Signals":
        n = validate_controls(ctrl)
        r = float(reactivity)
        if not math.isfinite(r) or r < 0.0:
            raise ValueError(f"reactivity must be a finite number >= 0 (1.0 = normal), got {reactivity!r}")
        env = _clip01(np.asarray(ctrl.env, dtype=np.float32))
        # A hit lands on the frame it is heard: an onset (a score's velocity, or an estimate's
        # probability once it is more likely than not) lifts its stem's envelope at once, so a
        # smoothed estimate never ramps in; below one half an onset is noise and moves nothing.
        onset = np.asarray(ctrl.onset, dtype=np.float32)
        env = np.maximum(env, np.where(onset >= ONSET_HIT, _clip01(onset), 0.0))
        idx = {s: i for i, s in enumerate(STEMS)}
        hats = np.maximum(np.maximum(env[:, idx["hat_closed"]], env[:, idx["hat_open"]]), 0.6 * env[:, idx["perc"]])
        if n == 1:  # one frame: the chord's colours from a cache (few chords, many frames)
            base, accent = (c.copy() for c in _palette_one(float(ctrl.chord_root[0]), float(ctrl.chord_quality[0])))
        else:
            base, accent = chord_palette(ctrl.chord_root, ctrl.chord_quality)  # (T, 3) each
        return Signals(
            n=n,
            reactivity=r,
            kick=_col(r * env[:, idx["kick"]]),
            snare=_col(r * env[:, idx["snare"]]),
            hats=_col(r * hats),
            bass_env=_col(r * env[:, idx["bass"]]),
            chord_env=_col(r * env[:, idx["chords"]]),
            lead_env=_col(r * env[:, idx["lead"]]),
            fx=_col(r * env[:, idx["fx"]]),
            energy=_col(_clip01(ctrl.energy)),
            beat_phase=_col(np.mod(ctrl.beat_phase, 1.0)),
            bar_phase=_col(np.mod(ctrl.bar_phase, 1.0)),
            melody=_col(_clip01(ctrl.melody)),
            bass_pitch=_col(_clip01(ctrl.bass)),
            base=torch.from_numpy(base).view(n, 3, 1, 1),
            accent=torch.from_numpy(accent).view(n, 3, 1, 1),
            beat_conf=_col(_clip01((ctrl.conf("beat") - SNAP_CONF[0]) / (SNAP_CONF[1] - SNAP_CONF[0]))),
            pulse=_col(r * pulse_of(env, idx)),
        )


# Weight of each voice in `pulse`: the drums and the bass hit, the lead and the chords half as hard.
PULSE_WEIGHT = {"kick": 1.0, "snare": 1.0, "hat_closed": 0.6, "hat_open": 0.6, "perc": 0.6, "bass": 0.8,
                "chords": 0.5, "lead": 0.6, "fx": 0.5}


_PULSE_W = np.array(list(PULSE_WEIGHT.values()), np.float32)


def _clip01(a: np.ndarray) -> np.ndarray:
    """np.clip(a, 0, 1) for finite a, without np.clip's Python layers (a few us each, a dozen a frame)."""
    return np.minimum(np.maximum(a, 0.0), 1.0)


@lru_cache(maxsize=256)
def _palette_one(root: float, quality: float) -> tuple[np.ndarray, np.ndarray]:
    base, accent = chord_palette(np.array([root]), np.array([quality]))
    return base, accent


def pulse_of(env: np.ndarray, idx: dict[str, int]) -> np.ndarray:
    """(T,) how hard the voices are hitting, in [0, 1]: an impulse on every hit of any voice,
    scaled by its strength, that a look can move the whole picture by (one jump, then the fall)."""
    # A soft "or" of the voices (1 - prod(1 - w env)): every hit adds its own jump, even while
    # another voice's envelope is still falling (a max would hide a lighter hit under it).
    quiet = np.prod(1.0 - _clip01(env[:, [idx[s] for s in PULSE_WEIGHT]] * _PULSE_W), axis=1)
    return 1.0 - quiet


def validate_controls(ctrl: MusicState) -> int:
    """Check a MusicState (shapes, finiteness; one owner: MusicState.validate); return its frame count T."""
    if not isinstance(ctrl, MusicState):
        raise ValueError(f"expected a synesthete.music_state.MusicState, got {type(ctrl).__name__}")
    return ctrl.validate()


def smoothstep(edge0: float, edge1: float, x: torch.Tensor) -> torch.Tensor:
    t = ((x - edge0) / (edge1 - edge0)).clamp_(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def gauss_(x: torch.Tensor) -> torch.Tensor:
    """In place x -> exp(-x^2)."""
    return gauss_sq_(x.square_())


def gauss_sq_(q: torch.Tensor, scale: Scalar = 1.0) -> torch.Tensor:
    """In place q -> exp(-scale q) for q = x^2 >= 0 (a per-frame `scale` folds a width in: one pass
    instead of two). In torch on CPU the argument is clamped first: exp of hugely negative numbers
    takes a slow path there (about 10x slower), and exp(-30) is already 1e-13. numpy's exp (what
    `fastmath` runs on CPU) has no such path, so there the clamp, a pass over the image, is left
    out (a difference under 1e-13)."""
    q.neg_() if isinstance(scale, float) and scale == 1.0 else q.mul_(-scale)
    return exp_neg_(q)


def exp_neg_(x: torch.Tensor) -> torch.Tensor:
    """In place x -> exp(x) for an argument x <= 0, clamped at -30 where torch runs it (see `gauss_sq_`)."""
    if not fm.numpy_ok(x):
        x.clamp_(min=-30.0)
    return fm.exp_(x)


def add_wave_(out: torch.Tensor | None, col: torch.Tensor, row: torch.Tensor, amp: Scalar | None = None) -> torch.Tensor:
    """out += amp sin(col + row) for a column term (T, 1, W) and a row term (T, H, 1), as
    sin(col) cos(row) + cos(col) sin(row): one rank-2 product instead of a sin over the image
    (into a new field when `out` is None; no `amp`: 1)."""
    rows = torch.cat([torch.cos(row), torch.sin(row)], dim=2)  # (T, H, 2)
    if amp is not None:
        rows = rows * amp
    cols = torch.cat([torch.sin(col), torch.cos(col)], dim=1)  # (T, 2, W)
    return torch.bmm(rows, cols) if out is None else out.baddbmm_(rows, cols)


def beat_ease(beat_phase: Scalar, sharpness: float = 6.0) -> Scalar:
    """0 -> 1 over a beat, fast right after the beat and settling before the next: a 'snap' on the beat."""
    return 1.0 - exp(-sharpness * beat_phase) * (1.0 - beat_phase)


def beat_turn(s: "Signals", snap: Scalar = 1.0) -> Scalar:
    """0 -> 1 through each beat, and 0 again on the next: phase + snap * (ease - phase). (T, 1, 1)

    Shift a pattern by one of its own periods times this and it moves once per beat yet loops
    seamlessly: the frame depends on the beat phase only, never on how many beats have passed.
    The snap term is 0 on every beat, so scaling it (by energy, say) never makes the motion jump;
    with snap = 1 the pattern leaps forward right after the beat and settles before the next. The
    snap is scaled by `beat_conf` (`SNAP_CONF`): only a sure beat snaps; an estimate's beat glides
    at an even speed instead of jerking on beats it may have misplaced (calm between events reads
    better than jitter).
    """
    return s.beat_phase + (beat_ease(s.beat_phase) - s.beat_phase) * (snap * s.beat_conf)


def bar_turn(s: "Signals", snap: Scalar = 1.0) -> Scalar:
    """0 -> 1 through each bar, in a snap on every beat: `beat_turn`'s within-beat motion, a beat's
    share of the bar at a time. For motions that should loop once per bar rather than per beat. (T, 1, 1)
    """
    return s.bar_phase + (beat_ease(s.beat_phase) - s.beat_phase) * (snap * s.beat_conf / BEATS_PER_BAR)


def bar_sway(s: "Signals", offset: float = 0.0) -> Scalar:
    """sin(2 pi bar_phase + offset): a slow oscillation, once per bar, for drifts. (T, 1, 1)"""
    return sin(TAU * s.bar_phase + offset)


def shade(a: torch.Tensor, col_a: torch.Tensor, b: torch.Tensor | None = None, col_b: torch.Tensor | None = None) -> torch.Tensor:
    """Colour two scalar fields (T, H, W) with per-frame colours (T, 3, 1, 1): a*col_a + b*col_b -> (T, 3, H, W)."""
    out = a.unsqueeze(1) * col_a  # (T, 3, H, W)
    if b is not None and col_b is not None:
        out.addcmul_(b.unsqueeze(1), col_b)
    return out


@lru_cache(maxsize=16)
def _band_grids(height: int, width: int, device: str, band: int) -> tuple[tuple[int, int, Grid], ...]:
    """Each band of rows, (first row, row after the last, its grid) (cached: the same views every
    frame, so the per-size constants styles derive from them (`grid.derived`) are computed once)."""
    grid = get_grid(height, width, device)
    if band >= height:
        return ((0, height, grid),)
    return tuple((r, min(r + band, height), grid.rows(r, min(r + band, height))) for r in range(0, height, band))


class Style:
    """Base class of a teacher visualizer: subclasses implement `draw(sig, grid) -> (T, 3, H, W)`."""

    name: str = "style"
    # Pixels x frames per drawing chunk; a style made of many tiny per-frame ops (Python overhead
    # per chunk) may raise it.
    chunk_elements: int = CHUNK_ELEMENTS

    def render(self, ctrl: MusicState, height: int, width: int, reactivity: float = 1.0,
               device: torch.device | str = "cpu") -> torch.Tensor:
        """Frames (T, 3, height, width), float32 in [0, 1] on `device`, drawn from the controls of each frame."""
        grid = get_grid(height, width, device)
        sig = Signals.from_controls(ctrl, reactivity).to(device)
        limit = max(self.chunk_elements, FRAME_ELEMENTS) if sig.n == 1 else self.chunk_elements
        if sig.n * height * width <= limit:  # one chunk, one band: no copy needed
            return self.draw(sig, grid).clamp_(0.0, 1.0)
        out = torch.empty(sig.n, 3, height, width, device=grid.x.device)
        # Draw in chunks of frames whose working tensors stay cache-sized (~1 MB): the ops are
        # memory bound, and frames are independent, so chunking changes nothing but the speed.
        chunk = max(1, self.chunk_elements // (height * width))
        # A frame larger than a chunk is drawn in bands of rows (every style is a per-pixel
        # function of the grid, so the bands join seamlessly).
        band = height if chunk > 1 else max(1, min(height, limit // width))
        bands = _band_grids(height, width, str(grid.x.device), band)
        for a in range(0, sig.n, chunk):
            part = sig if sig.n <= chunk else sig.slice(a, a + chunk)
            for r0, r1, g in bands:
                out[a : a + chunk, :, r0:r1] = self.draw(part, g).clamp_(0.0, 1.0)
        return out

    def draw(self, sig: Signals, grid: Grid) -> torch.Tensor:
        raise NotImplementedError
