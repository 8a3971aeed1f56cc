"""Absolute knobs and faders (a MIDI CC, an OSC float) on the controls, with pick-up.

A knob sends a position in [0, 1], not a change. Mapped to a control it means:

* continuous: the control's range, low end to high end, in *pick-up mode*: after a preset change
  or a key press moved the control, the knob does nothing until it reaches or crosses the
  control's current value, so the picture never jumps;
* choice (mirror mode): a mode by position (four equal slices for four modes);
* toggle and trigger: see `KnobRules.toggles` (MIDI pads flip on the rise through the middle, an
  OSC toggle button carries its state).

MIDI (`midi_map.MidiMap`) and OSC (`osc_in.OscControlMap`) share these rules through one
`KnobRules` each, so a fader in TouchDesigner behaves like a knob on a Launch Control.
Render thread only, like `ControlState`.
"""

from __future__ import annotations

from typing import Hashable

from synesthete.controls import SPECS, ControlState

# Within this many knob steps of the current value, a knob picks the control up immediately.
PICKUP_TOLERANCE = 2.0 / 127.0


class KnobRules:
    """Knob position -> control event, remembering per control whether the knob has picked it up.

    `toggles="rising"`: a toggle or trigger fires when the knob rises through 0.5 (pads that send
    127 on press and 0 on release). `toggles="absolute"`: a toggle is set on at >= 0.5 and off
    below (buttons that send their state); a trigger fires on the rise, as with "rising".
    """

    def __init__(self, pickup: bool = True, toggles: str = "rising") -> None:
        if toggles not in ("rising", "absolute"):
            raise ValueError(f"toggles must be 'rising' or 'absolute', got {toggles!r}")
        self.pickup = pickup
        self.toggles = toggles
        self._picked: dict[str, bool] = {}
        self._last_sent: dict[str, float] = {}
        self._last_knob: dict[Hashable, float] = {}

    def release(self, control: str | None = None) -> None:
        """The knob(s) must pick the control up again (a new binding; None: every control)."""
        if control is None:
            self._picked.clear()
        else:
            self._picked[control] = False

    def event(self, source: Hashable, control: str, knob: float, controls: ControlState) -> dict | None:
        """The control event for `source` (a knob identity) now at `knob` in [0, 1], or None."""
        s = SPECS[control]
        knob = min(max(float(knob), 0.0), 1.0)
        previous = self._last_knob.get(source)
        self._last_knob[source] = knob
        rising = knob >= 0.5 and (previous is None or previous < 0.5)
        if s.kind == "trigger":
            return {"op": "trigger", "name": control} if rising else None
        if s.kind == "toggle":
            if self.toggles == "absolute":
                return {"op": "set", "name": control, "value": 1.0 if knob >= 0.5 else 0.0}
            return {"op": "toggle", "name": control} if rising else None
        if s.kind == "choice":
            return {"op": "set", "name": control, "value": min(int(knob * (s.hi + 1)), int(s.hi))}
        current = (controls.target[control] - s.lo) / (s.hi - s.lo)
        if self.pickup:
            if self._picked.get(control) and abs(controls.target[control] - self._last_sent.get(control, 1e9)) > 1e-9:
                self._picked[control] = False  # something else moved it since: pick up again
            if not self._picked.get(control):
                crossed = previous is not None and (previous - current) * (knob - current) <= 0
                if not (crossed or abs(knob - current) <= PICKUP_TOLERANCE):
                    return None
                self._picked[control] = True
        target = s.lo + knob * (s.hi - s.lo)
        self._last_sent[control] = min(max(target, s.lo), s.hi)
        return {"op": "set", "name": control, "value": target}

    def waiting(self, controls: set[str] | list[str]) -> list[str]:
        """Those of `controls` (the bound ones) that are continuous and not picked up yet (for the HUD)."""
        return [c for c in set(controls)
                if SPECS[c].kind == "continuous" and self.pickup and not self._picked.get(c)]
