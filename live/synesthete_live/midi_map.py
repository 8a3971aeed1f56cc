"""MIDI mapping and MIDI learn: which knob or pad drives which control, and how.

A binding ties one MIDI source (a CC number or a note, on one channel or any) to one control:

* a CC on a continuous control sets it across its range (0 -> low end, 127 -> high end), in
  *pick-up mode*: after a preset change or a key press moved the control, the knob does nothing
  until it reaches or crosses the control's current value, so the picture never jumps;
* a CC on a toggle flips it when the value rises through 64 (pads that send 127/0);
* a CC on a choice (mirror mode) picks a mode by knob position;
* a note on (velocity > 0) toggles a toggle, cycles a choice, fires a trigger (next/previous
  preset) or sets a continuous control to the velocity.

MIDI learn is a small state machine: `learn_toggle()` enters learn mode ("pick a control"),
`learn_select(control)` arms that control ("move a knob"), and the next CC or note on binds to it
(replacing any earlier binding of that source) and goes back to "pick a control"; leaving learn
mode reports whether the map changed so the live loop can save it into the preset file.

Sources are written as text in presets: "cc:21" (any channel), "cc:1:21" (channel 1..16),
"note:36", "note:10:36". The map returns control events (the dicts of `ControlState.apply`) and
never touches the controls from a MIDI thread: the live loop calls `handle` between frames.
"""

from __future__ import annotations

from typing import Any

from synesthete.controls import ControlState, SPECS, spec
from synesthete.midi_source import MidiMapError, MidiSource
from synesthete_live.knob import KnobRules


def _event_kind(event: Any) -> str | None:
    """'cc', 'note' (a note on with velocity > 0) or None (note off, anything else)."""
    kind = event.kind
    if kind in ("cc", "control_change"):
        return "cc"
    if kind in ("note_on", "note") and event.value > 0:
        return "note"
    return None


class MidiMap:
    """Bindings source -> control, pick-up state and the MIDI learn state machine."""

    def __init__(self, bindings: dict[str, str] | None = None, pickup: bool = True) -> None:
        """bindings: control name -> source text (the `[midi]` table of a preset)."""
        self.bindings: dict[MidiSource, str] = {}
        self.knobs = KnobRules(pickup, toggles="rising")  # CC knobs and pads: the rules OSC shares
        self.learn_state = "off"  # "off" | "pick" (choose a control) | "wait" (move a knob)
        self.armed: str | None = None
        self.changed = False
        self.last_activity: tuple[str, float] | None = None  # (source text, event time) for the HUD
        for control, source in (bindings or {}).items():
            self.bind(MidiSource.parse(source), control)
        self.changed = False

    # ---- bindings --------------------------------------------------------------------------
    def bind(self, source: MidiSource, control: str) -> None:
        spec(control)  # unknown control -> ValueError naming the known ones
        # One control per source: drop any binding the new source overlaps (same message on a
        # shared channel), and the control's old source.
        self.bindings = {s: c for s, c in self.bindings.items() if not source.overlaps(s) and c != control}
        self.bindings[source] = control
        self.knobs.release(control)
        self.changed = True

    def as_table(self) -> dict[str, str]:
        """control -> source text, as saved in a preset's [midi] table."""
        return {c: str(s) for s, c in sorted(self.bindings.items(), key=lambda kv: kv[1])}

    def release_all(self) -> None:
        """A preset changed every value: every knob must pick its control up again."""
        self.knobs.release()

    # ---- learn -----------------------------------------------------------------------------
    @property
    def learning(self) -> bool:
        return self.learn_state != "off"

    def learn_toggle(self) -> bool:
        """Enter or leave learn mode. Leaving returns True when bindings changed (save them)."""
        if self.learning:
            self.learn_state, self.armed = "off", None
            changed, self.changed = self.changed, False
            return changed
        self.learn_state, self.armed, self.changed = "pick", None, False
        return False

    def learn_select(self, control: str) -> None:
        if not self.learning:
            raise MidiMapError("not in MIDI learn mode")
        spec(control)
        self.learn_state, self.armed = "wait", control

    # ---- events ----------------------------------------------------------------------------
    def handle(self, event: Any, controls: ControlState) -> list[dict]:
        """One MidiEvent -> the control events to apply now (possibly none)."""
        kind = _event_kind(event)
        if kind is None and event.kind not in ("note_off",):
            return []
        channel, number = int(event.channel), int(event.number)
        if kind is not None:
            self.last_activity = (f"{kind}:{channel + 1}:{number}", float(event.time))
        if self.learn_state == "wait" and kind is not None and self.armed is not None:
            self.bind(MidiSource(kind, channel, number), self.armed)
            self.learn_state, self.armed = "pick", None
            return []
        if kind is None:
            return []
        out: list[dict] = []
        for source, control in self.bindings.items():
            if source.matches(kind, channel, number):
                ev = self._control_event(source, control, float(event.value), controls)
                if ev is not None:
                    out.append(ev)
        return out

    def _control_event(self, source: MidiSource, control: str, value: float, controls: ControlState) -> dict | None:
        s = SPECS[control]
        knob = min(max(value / 127.0, 0.0), 1.0)
        if source.kind == "note":
            if s.kind == "trigger":
                return {"op": "trigger", "name": control}
            if s.kind == "toggle":
                return {"op": "toggle", "name": control}
            if s.kind == "choice":
                return {"op": "nudge", "name": control, "value": 1}
            return {"op": "set", "name": control, "value": s.lo + knob * (s.hi - s.lo)}
        return self.knobs.event(source, control, knob, controls)

    def waiting_pickup(self) -> list[str]:
        """Bound continuous controls whose knob has not picked them up yet (for the HUD)."""
        return self.knobs.waiting(list(self.bindings.values()))

    @property
    def pickup(self) -> bool:
        return self.knobs.pickup
