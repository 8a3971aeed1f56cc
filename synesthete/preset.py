"""Presets: a checkpoint, a style blend, control values and a MIDI map, in one TOML/YAML file.

    # presets/dark_techno.toml
    name = "Dark techno"
    checkpoint = "default"        # or a path (relative to this file, then to the working dir)
    transition = "beat"           # "blend" (soft, over blend_seconds) or "beat" (hard cut on a kick)
    blend_seconds = 2.0
    [styles]                      # optional explicit style blend (names from the model)
    tunnel = 0.7
    bars = 0.3
    [controls]                    # any control of synesthete.controls, within its range
    reactivity = 1.4
    feedback = 0.6
    [midi]                        # control = MIDI source ("cc:21", "cc:1:21", "note:10:36")
    hue = "cc:21"

The one schema both apps read presets with: `synesthete-live` (its playlist, switching, MIDI
learn) and `synesthete-render --preset` (the starting picture) accept and refuse the same files
with the same words, and start from the same controls (`preset_event`). Files are read with
`synesthete.config.read_mapping` (tomllib / yaml.safe_load): a preset never runs code. Every
problem is one `PresetError` naming the file, the key and the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synesthete.config import ConfigError, read_mapping
from synesthete.controls import SPECS, VALUE_CONTROLS, ControlState
from synesthete.midi_source import MidiMapError, MidiSource

PRESET_SUFFIXES = (".toml", ".yaml", ".yml")
MAX_BLEND_SECONDS = 60.0
TOP_KEYS = ("name", "description", "checkpoint", "transition", "blend_seconds", "styles", "controls", "midi")
TRANSITIONS = ("blend", "beat")


class PresetError(ValueError):
    """A preset file is missing or wrong; the message names the file, the key and the reason."""


@dataclass
class Preset:
    name: str
    path: Path | None = None
    checkpoint: str | None = None  # resolved path, or None for the default checkpoint
    transition: str = "blend"
    blend_seconds: float = 2.0
    styles: dict[str, float] | None = None
    controls: dict[str, float] = field(default_factory=dict)
    midi: dict[str, str] = field(default_factory=dict)  # control -> source text
    description: str = ""

    def style_weights(self, model_styles: tuple[str, ...]) -> np.ndarray | None:
        """The [styles] table as a weight vector in the model's style order (None if absent)."""
        if not self.styles:
            return None
        unknown = [s for s in self.styles if s not in model_styles]
        if unknown:
            raise PresetError(f"{self.path or self.name}: styles.{unknown[0]}: unknown look "
                              f"(the looks: {', '.join(model_styles)})")
        w = np.array([self.styles.get(s, 0.0) for s in model_styles], dtype=np.float32)
        if w.sum() <= 0:
            raise PresetError(f"{self.path or self.name}: styles: at least one weight must be > 0")
        return w / w.sum()


def default_preset() -> Preset:
    return Preset(name="default")


def _where(path: Path, key: str) -> str:
    return f"{path}: {key}"


def _number(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise PresetError(f"{_where(path, key)}: expected a number, got {value!r}")
    return float(value)


def _resolve_checkpoint(path: Path, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        raise PresetError(f"{_where(path, 'checkpoint')}: expected a path or \"default\", got {value!r}")
    if value.strip() == "default":
        return None
    candidate = Path(value).expanduser()
    if not candidate.is_absolute():
        beside = path.parent / candidate
        candidate = beside if beside.exists() else candidate
    return str(candidate)


def load_preset(path: str | Path) -> Preset:
    """Read and check one preset file. Raises PresetError."""
    path = Path(path)
    try:
        data = read_mapping(path)
    except ConfigError as e:
        raise PresetError(str(e)) from None
    for key in data:
        if key not in TOP_KEYS:
            raise PresetError(f"{_where(path, key)}: unknown key (allowed: {', '.join(TOP_KEYS)})")
    preset = Preset(name=str(data.get("name", path.stem)), path=path)
    preset.description = str(data.get("description", ""))
    if "checkpoint" in data:
        preset.checkpoint = _resolve_checkpoint(path, data["checkpoint"])
    if "transition" in data:
        if data["transition"] not in TRANSITIONS:
            raise PresetError(f"{_where(path, 'transition')}: expected one of {', '.join(TRANSITIONS)}, got {data['transition']!r}")
        preset.transition = data["transition"]
    if "blend_seconds" in data:
        preset.blend_seconds = _number(path, "blend_seconds", data["blend_seconds"])
        if not 0 <= preset.blend_seconds <= MAX_BLEND_SECONDS:
            raise PresetError(f"{_where(path, 'blend_seconds')}: must be between 0 and {MAX_BLEND_SECONDS:g}, "
                              f"got {preset.blend_seconds}")
    for table in ("styles", "controls", "midi"):
        if table in data and not isinstance(data[table], dict):
            raise PresetError(f"{_where(path, table)}: expected a table, got {data[table]!r}")
    if "styles" in data:
        preset.styles = {}
        for name, w in data["styles"].items():
            w = _number(path, f"styles.{name}", w)
            if w < 0:
                raise PresetError(f"{_where(path, f'styles.{name}')}: weights must be >= 0, got {w}")
            preset.styles[str(name)] = w
    for name, value in data.get("controls", {}).items():
        key = f"controls.{name}"
        if name not in VALUE_CONTROLS:
            raise PresetError(f"{_where(path, key)}: unknown control (controls: {', '.join(VALUE_CONTROLS)})")
        s = SPECS[name]
        value = _number(path, key, float(value) if isinstance(value, bool) else value)
        if not s.lo <= value <= s.hi:
            raise PresetError(f"{_where(path, key)}: {value} is outside {s.lo}..{s.hi}")
        preset.controls[name] = value
    for name, source in data.get("midi", {}).items():
        key = f"midi.{name}"
        if name not in SPECS:
            raise PresetError(f"{_where(path, key)}: unknown control (controls: {', '.join(SPECS)})")
        try:
            preset.midi[name] = str(MidiSource.parse(source))
        except MidiMapError as e:
            raise PresetError(f"{_where(path, key)}: {e}") from None
    return preset


def is_live_preset(path: Path) -> bool:
    """False for a config that shares the folder but is not a live preset (e.g. a training config).

    A file with none of the live preset keys is someone else's; a live preset with a typo still
    has some of them (or does not parse) and stays in the list, so its error is reported.
    """
    try:
        data = read_mapping(path)
    except ConfigError:
        return True
    return not data or bool(set(data) & set(TOP_KEYS))


def list_presets(directory: str | Path) -> list[Path]:
    """Live preset files in a folder, sorted by name (the order of next/previous preset)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()  # dot files: hidden, e.g. a MIDI map being saved
                  if p.suffix in PRESET_SUFFIXES and not p.name.startswith(".") and p.is_file()
                  and is_live_preset(p))


def find_preset(name_or_path: str, directory: str | Path) -> Path:
    """A preset path from a path or a bare name in `directory` ("dark_techno" -> presets/dark_techno.toml)."""
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p
    for candidate in list_presets(directory):
        if candidate.stem == name_or_path:
            return candidate
    known = ", ".join(c.stem for c in list_presets(directory)) or "none"
    raise PresetError(f"preset {name_or_path!r}: no such file, and no preset of that name in {directory} (known: {known})")


# A preset switch does not lift a freeze or blackout: the VJ set those on purpose, mid-song.
PRESERVED_ON_SWITCH = ("freeze", "blackout")


def preset_event(preset: Preset, model_styles: tuple[str, ...], seconds: float) -> dict:
    """The `ControlState.apply` event that takes the controls to `preset` over `seconds`.

    Every value control goes to the preset's value, or its default when the preset leaves it
    out (except PRESERVED_ON_SWITCH); the style blend goes to the preset's [styles] (None: the
    model's own style cycle). The live loop applies (and logs) it at start-up and on each switch;
    `synesthete-render --preset` applies it once with seconds = 0, so both start alike.
    """
    weights = preset.style_weights(tuple(model_styles))
    values = {n: SPECS[n].default for n in VALUE_CONTROLS if n not in PRESERVED_ON_SWITCH}
    values.update(preset.controls)
    return {"op": "glide", "values": values, "seconds": float(seconds),
            "weights": None if weights is None else [float(w) for w in weights]}


def preset_controls(preset: Preset, model_styles: tuple[str, ...]) -> ControlState:
    """A settled ControlState for a model's styles, at `preset` (what a show starting on it shows)."""
    controls = ControlState(len(tuple(model_styles)))
    controls.apply(preset_event(preset, model_styles, 0.0))
    controls.settle()
    return controls
