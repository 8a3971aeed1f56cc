"""Keyboard bindings: every control of the performer has a key, and this table is the one place
they are defined (docs/live.md and `synesthete-live --help` print it).

Paired keys nudge a continuous control down/up one step (held keys repeat), single keys toggle or
cycle. In MIDI learn mode a control key does not change the control: it picks it as the target
of the next knob or pad moved (see `midi_map.MidiMap`).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
with warnings.catch_warnings():  # pygame's own pkg_resources deprecation warning: not ours to fix
    warnings.simplefilter("ignore")
    import pygame  # noqa: E402


@dataclass(frozen=True)
class KeyAction:
    kind: str  # "nudge" | "toggle" | "cycle" | "style_slot" | "trigger" | "app"
    control: str | None  # the control it changes (None for app actions)
    value: float = 0.0  # nudge direction, or style slot index
    app: str | None = None  # app actions: quit, fullscreen, hud, learn, reset


@dataclass(frozen=True)
class Binding:
    keys: tuple[str, ...]  # pygame key names (pygame.key.key_code understands them)
    action: KeyAction
    help: str


BINDINGS: tuple[Binding, ...] = (
    Binding(("left",), KeyAction("nudge", "style", -1), "style morph toward the first style"),
    Binding(("right",), KeyAction("nudge", "style", +1), "style morph toward the last style"),
    Binding(("1", "2", "3", "4", "5", "6", "7", "8", "9"), KeyAction("style_slot", "style"), "jump the style morph to style N"),
    Binding(("up",), KeyAction("nudge", "reactivity", +1), "reactivity gain up"),
    Binding(("down",), KeyAction("nudge", "reactivity", -1), "reactivity gain down"),
    Binding(("q",), KeyAction("nudge", "hue", +1), "hue shift forward (wraps)"),
    Binding(("a",), KeyAction("nudge", "hue", -1), "hue shift back (wraps)"),
    Binding(("w",), KeyAction("nudge", "feedback", +1), "more feedback / trails"),
    Binding(("s",), KeyAction("nudge", "feedback", -1), "less feedback / trails"),
    Binding(("e",), KeyAction("nudge", "zoom", +1), "zoom in"),
    Binding(("d",), KeyAction("nudge", "zoom", -1), "zoom out"),
    Binding(("m",), KeyAction("cycle", "mirror", +1), "mirror mode: off, mirror, quad, kaleidoscope"),
    Binding(("t",), KeyAction("nudge", "strobe", +1), "stronger strobe on beat"),
    Binding(("g",), KeyAction("nudge", "strobe", -1), "weaker strobe on beat"),
    Binding(("space",), KeyAction("toggle", "freeze"), "freeze / unfreeze the picture"),
    Binding(("b",), KeyAction("toggle", "blackout"), "blackout (fades to black and back)"),
    Binding(("n", "page down"), KeyAction("trigger", "next_preset"), "next preset"),
    Binding(("p", "page up"), KeyAction("trigger", "prev_preset"), "previous preset"),
    Binding(("0",), KeyAction("app", None, app="reset"), "reset the controls to the preset's values"),
    Binding(("l",), KeyAction("app", None, app="learn"), "MIDI learn mode on/off (then: a control key, then a knob)"),
    Binding(("f", "f11"), KeyAction("app", None, app="fullscreen"), "fullscreen on/off"),
    Binding(("h",), KeyAction("app", None, app="hud"), "HUD on/off"),
    Binding(("escape",), KeyAction("app", None, app="quit"), "quit (prints the latency summary)"),
)


def key_constant(name: str) -> int:
    """pygame's K_ constant for a key name: "q" -> K_q, "page down" -> K_PAGEDOWN, "f11" -> K_F11."""
    attr = "K_" + (name if len(name) == 1 else name.replace(" ", "").upper())
    if not hasattr(pygame, attr):
        raise ValueError(f"unknown key name {name!r}")
    return getattr(pygame, attr)


def _keymap() -> dict[int, KeyAction]:
    table: dict[int, KeyAction] = {}
    for b in BINDINGS:
        for i, name in enumerate(b.keys):
            action = b.action
            if action.kind == "style_slot":
                action = KeyAction("style_slot", "style", float(i))
            table[key_constant(name)] = action
    return table


KEYMAP: dict[int, KeyAction] = _keymap()


def action_for(key: int) -> KeyAction | None:
    """The action of a pygame key code, or None for an unbound key."""
    return KEYMAP.get(key)


def key_for(control: str) -> str:
    """The first key bound to a control (for HUD hints in learn mode)."""
    for b in BINDINGS:
        if b.action.control == control:
            return b.keys[0]
    raise ValueError(f"no key is bound to control {control!r}")


def help_table() -> str:
    """The bindings as aligned text lines, for --help and the docs."""
    rows = [(" / ".join(k.upper() if len(k) == 1 else k for k in b.keys), b.help) for b in BINDINGS]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {h}" for k, h in rows)
