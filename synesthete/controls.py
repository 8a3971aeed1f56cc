"""The VJ's instrument: every live control value, its target, and the smoothing between them.

`ControlState` is what a keyboard key, a MIDI knob or a preset changes, and what the performer
reads once per model frame. Inputs only ever set *targets*; `step(dt)` moves each value toward its
target (a one-pole smoother for knobs and keys, so nothing zippers; a timed glide for preset
blends). Time advances by model frames, never by the wall clock, so a recorded list of control
events replayed against the same audio gives the same picture (the live loop logs each event
with the model-frame index at which it was applied).

The control vector the model sees is `style weights (n_styles) ++ [reactivity]` (see
docs/architecture.md). Style is a crossfader inside the network: `style` in [0, 1] sweeps across
the styles the network learned; a preset may instead pin an explicit blend of style weights,
which holds until the style control is moved again.

Pure python/numpy, no torch: the core, the live app and replay all share it. Not thread-safe:
only the render thread touches it (inputs from other threads arrive as queued events).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Literal

import numpy as np

Kind = Literal["continuous", "toggle", "choice", "trigger"]

# Seconds for a smoothed value to cover ~63% of a step: short enough to feel immediate under a
# knob, long enough that a 7-bit MIDI staircase or a key press never clicks in the picture.
SMOOTH_TAU = 0.05


@dataclass(frozen=True)
class ControlSpec:
    name: str
    kind: Kind
    lo: float
    hi: float
    default: float
    help: str
    step: float = 0.05  # keyboard nudge size (continuous) or 1 (choice)


CONTROL_SPECS: tuple[ControlSpec, ...] = (
    ControlSpec("style", "continuous", 0.0, 1.0, 0.0, "style morph: crossfades across the learned styles"),
    ControlSpec("reactivity", "continuous", 0.0, 2.0, 1.0, "reactivity gain: how hard the picture follows the music", 0.1),
    ControlSpec("hue", "continuous", 0.0, 1.0, 0.0, "hue shift, as a fraction of the colour wheel"),
    ControlSpec("feedback", "continuous", 0.0, 0.95, 0.0, "feedback / trails: how much of the last frame stays"),
    ControlSpec("zoom", "continuous", 0.0, 1.0, 0.0, "zoom into the centre (0 = 1x, 1 = 3x)"),
    ControlSpec("mirror", "choice", 0.0, 3.0, 0.0, "mirror mode: 0 off, 1 mirror, 2 quad mirror, 3 kaleidoscope", 1.0),
    ControlSpec("strobe", "continuous", 0.0, 1.0, 0.0, "strobe on beat: flash strength on each strong beat"),
    ControlSpec("freeze", "toggle", 0.0, 1.0, 0.0, "freeze the picture (the model keeps listening)", 1.0),
    ControlSpec("blackout", "toggle", 0.0, 1.0, 0.0, "fade to black", 1.0),
    ControlSpec("next_preset", "trigger", 0.0, 1.0, 0.0, "switch to the next preset", 1.0),
    ControlSpec("prev_preset", "trigger", 0.0, 1.0, 0.0, "switch to the previous preset", 1.0),
)
SPECS: dict[str, ControlSpec] = {s.name: s for s in CONTROL_SPECS}
# Controls that carry a value (triggers are actions the live loop performs).
VALUE_CONTROLS: tuple[str, ...] = tuple(s.name for s in CONTROL_SPECS if s.kind != "trigger")
# Toggles are smoothed too (a blackout fades rather than cuts), choices switch at once.
_SMOOTHED = tuple(s.name for s in CONTROL_SPECS if s.kind in ("continuous", "toggle"))


def spec(name: str) -> ControlSpec:
    if name not in SPECS:
        raise ValueError(f"unknown control {name!r}; controls are: {', '.join(SPECS)}")
    return SPECS[name]


def morph_weights(position: float, n_styles: int) -> np.ndarray:
    """Style weights for a crossfader position in [0, 1]: a triangle between neighbouring styles."""
    w = np.zeros(n_styles, dtype=np.float32)
    if n_styles == 1:
        w[0] = 1.0
        return w
    x = min(max(position, 0.0), 1.0) * (n_styles - 1)
    i = min(int(math.floor(x)), n_styles - 2)
    frac = x - i
    w[i] = 1.0 - frac
    w[i + 1] = frac
    return w


@dataclass(frozen=True)
class EffectParams:
    """The post-effect part of the controls, as the performer reads it for one frame."""

    hue: float = 0.0
    feedback: float = 0.0
    zoom: float = 0.0
    mirror: int = 0
    strobe: float = 0.0
    freeze: bool = False
    blackout: float = 0.0  # smoothed: 0 = picture, 1 = black


@dataclass
class _Glide:
    start: float | np.ndarray
    end: float | np.ndarray
    seconds: float
    elapsed: float = 0.0

    def advance(self, dt: float) -> tuple[float | np.ndarray, bool]:
        self.elapsed += dt
        p = min(self.elapsed / self.seconds, 1.0)
        p = p * p * (3.0 - 2.0 * p)  # smoothstep: no kink at either end
        return self.start + (self.end - self.start) * p, self.elapsed >= self.seconds


class ControlState:
    """Targets + smoothed values of every control, advanced once per model frame by `step(dt)`."""

    def __init__(self, n_styles: int, values: dict[str, float] | None = None,
                 style_weights: Iterable[float] | None = None, tau: float = SMOOTH_TAU) -> None:
        if n_styles < 1:
            raise ValueError(f"n_styles must be >= 1, got {n_styles}")
        self.n_styles = int(n_styles)
        self.tau = float(tau)
        self.target: dict[str, float] = {n: SPECS[n].default for n in VALUE_CONTROLS}
        self.value: dict[str, float] = dict(self.target)
        self.style_target = morph_weights(self.target["style"], self.n_styles)  # (n_styles,)
        self.style_weights = self.style_target.copy()  # (n_styles,)
        self._pinned: np.ndarray | None = None  # explicit preset blend, until `style` moves
        self._glides: dict[str, _Glide] = {}
        self.version = 0  # bumped on every input, so a HUD or pick-up logic can notice changes
        if values:
            for name, v in values.items():
                self.set(name, v)
        if style_weights is not None:
            self.pin_style_weights(style_weights)
        self.settle()

    # ---- inputs: set targets --------------------------------------------------------------
    def set(self, name: str, value: float) -> None:
        """Set a control's target (clamped to its range); a pending glide on it is cancelled."""
        s = spec(name)
        if s.kind == "trigger":
            raise ValueError(f"{name!r} is an action, not a value; the live loop performs it")
        value = float(value)
        if s.kind == "choice":
            value = float(int(round(value)) % (int(s.hi) + 1))
        elif s.kind == "toggle":
            value = 1.0 if value >= 0.5 else 0.0
        else:
            value = min(max(value, s.lo), s.hi)
        self.target[name] = value
        self._glides.pop(name, None)
        if s.kind == "choice":
            self.value[name] = value
        if name == "style":
            self._pinned = None
            self._glides.pop("__style__", None)
        self._refresh_style_target()
        self.version += 1

    def nudge(self, name: str, direction: float) -> None:
        """Move a control by `direction` keyboard steps (choices wrap around, hue wraps too)."""
        s = spec(name)
        if s.kind == "toggle":
            self.toggle(name)
            return
        value = self.target[name] + direction * s.step
        if name == "hue":
            value %= 1.0
        self.set(name, value)

    def toggle(self, name: str) -> None:
        s = spec(name)
        if s.kind != "toggle":
            raise ValueError(f"{name!r} is a {s.kind} control, not a toggle")
        self.set(name, 0.0 if self.target[name] >= 0.5 else 1.0)

    def pin_style_weights(self, weights: Iterable[float]) -> None:
        """Hold an explicit style blend (from a preset) until the style control is moved."""
        w = np.asarray(list(weights), dtype=np.float32)
        if w.shape != (self.n_styles,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"style weights must be {self.n_styles} non-negative numbers, not all zero; got {w.tolist()}")
        self._pinned = w / w.sum()
        self._glides.pop("__style__", None)
        self._refresh_style_target()
        self.version += 1

    def glide_to(self, values: dict[str, float], seconds: float,
                 style_weights: Iterable[float] | None = None) -> None:
        """Blend to a preset's values over `seconds` (0 = at once); choices switch immediately."""
        if seconds <= 0:
            for name, v in values.items():
                self.set(name, v)
            if style_weights is not None:
                self.pin_style_weights(style_weights)
            elif "style" in values:
                self._pinned = None
                self._refresh_style_target()
            self.settle()
            return
        for name, v in values.items():
            self.set(name, v)  # validates and clamps the target
            if spec(name).kind != "choice":
                self._glides[name] = _Glide(self.value[name], self.target[name], seconds)
        if style_weights is not None:
            self.pin_style_weights(style_weights)
        self._glides["__style__"] = _Glide(self.style_weights.copy(), self.style_target.copy(), seconds)

    def apply(self, event: dict) -> None:
        """Apply one logged control event: {"op": set|nudge|toggle|pin|glide|settle, ...}.

        The live loop logs exactly these dicts (with the model-frame index they were applied
        at), so a replay or an offline render can re-apply them at the same frames.
        """
        op = event.get("op")
        if op == "set":
            self.set(event["name"], event["value"])
        elif op == "nudge":
            self.nudge(event["name"], event["value"])
        elif op == "toggle":
            self.toggle(event["name"])
        elif op == "pin":
            self.pin_style_weights(event["weights"])
        elif op == "glide":
            self.glide_to(event["values"], event["seconds"], event.get("weights"))
        elif op == "settle":
            self.settle()
        else:
            raise ValueError(f"unknown control event op {op!r}; ops are set, nudge, toggle, pin, glide, settle")

    def _refresh_style_target(self) -> None:
        self.style_target = self._pinned if self._pinned is not None else morph_weights(self.target["style"], self.n_styles)

    # ---- time -----------------------------------------------------------------------------
    def step(self, dt: float) -> None:
        """Advance the smoothing by `dt` seconds (the performer calls this once per model frame)."""
        alpha = 1.0 - math.exp(-dt / self.tau) if self.tau > 0 else 1.0
        for name in _SMOOTHED:
            glide = self._glides.get(name)
            if glide is not None:
                value, done = glide.advance(dt)
                self.value[name] = float(value)
                if done:
                    del self._glides[name]
            else:
                self.value[name] += (self.target[name] - self.value[name]) * alpha
        glide = self._glides.get("__style__")
        if glide is not None:
            weights, done = glide.advance(dt)
            self.style_weights = np.asarray(weights, dtype=np.float32)
            if done:
                del self._glides["__style__"]
        else:
            self.style_weights = self.style_weights + (self.style_target - self.style_weights) * alpha

    def settle(self) -> None:
        """Jump every value to its target (start of a show, a hard cut)."""
        self._glides.clear()
        self.value.update(self.target)
        self.style_weights = self.style_target.copy()

    @property
    def gliding(self) -> bool:
        return bool(self._glides)

    # ---- outputs ---------------------------------------------------------------------------
    def model_controls(self) -> np.ndarray:
        """The model's control vector: style weights then reactivity. (n_styles + 1,) float32."""
        out = np.empty(self.n_styles + 1, dtype=np.float32)
        out[: self.n_styles] = self.style_weights
        out[self.n_styles] = self.value["reactivity"]
        return out

    def effects(self) -> EffectParams:
        v = self.value
        return EffectParams(hue=v["hue"], feedback=v["feedback"], zoom=v["zoom"], mirror=int(v["mirror"]),
                            strobe=v["strobe"], freeze=self.target["freeze"] >= 0.5, blackout=v["blackout"])

    def snapshot(self) -> dict[str, float]:
        """Current targets by name (what a preset would save)."""
        return dict(self.target)
