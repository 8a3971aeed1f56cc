"""Live presets: a checkpoint, a style blend, control values and a MIDI map, in one TOML/YAML file.

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

Files are read with `synesthete.config.read_mapping` (tomllib / yaml.safe_load): a preset never
runs code. Every problem is one `PresetError` naming the file, the key and the reason. MIDI maps
learned on stage are written back into the file's [midi] table (the rest of a TOML file is kept
as written, comments included). `Loader` loads presets and their checkpoints on a background
thread for the live loop.
"""

from __future__ import annotations

import gc
import math
import queue
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import yaml

from synesthete.config import ConfigError, read_mapping
from synesthete.controls import SPECS, VALUE_CONTROLS
from synesthete.performer import Performer
from synesthete_live.midi_map import MidiMapError, MidiSource

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
            raise PresetError(f"{self.path or self.name}: styles.{unknown[0]}: unknown style "
                              f"(this model's styles: {', '.join(model_styles)})")
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
    return sorted(p for p in directory.iterdir()
                  if p.suffix in PRESET_SUFFIXES and p.is_file() and is_live_preset(p))


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


def _toml_midi_table(midi: dict[str, str]) -> str:
    lines = ["[midi]"] + [f'{name} = "{source}"' for name, source in sorted(midi.items())]
    return "\n".join(lines) + "\n"


def save_midi_map(path: str | Path, midi: dict[str, str]) -> None:
    """Write `midi` (control -> source text) into the preset file's [midi] table, atomically.

    TOML: the [midi] table is replaced in place (or appended), every other line is kept.
    YAML: the file is re-dumped with the new `midi` mapping (YAML comments are not kept).
    """
    path = Path(path)
    for name, source in midi.items():
        if name not in SPECS:
            raise PresetError(f"{path}: midi.{name}: unknown control")
        MidiSource.parse(source)
    if path.suffix == ".toml":
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        # The [midi] table runs from its header to the next table header or the end of the file.
        pattern = re.compile(r"^\[midi\][^\n]*\n(?:(?!\[)[^\n]*\n?)*", re.MULTILINE)
        table = _toml_midi_table(midi)
        if pattern.search(text):
            text = pattern.sub(lambda m: table + ("\n" if m.group(0).endswith("\n\n") else ""), text, count=1)
        else:
            text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + table
    else:
        data = read_mapping(path) if path.exists() else {}
        data["midi"] = dict(sorted(midi.items()))
        text = yaml.safe_dump(data, sort_keys=False)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    load_preset(path)  # what we wrote must read back


# ==== background loading =========================================================================
# The render thread posts a job (`request(preset_path)`) and collects finished results with
# `poll()` between frames; it never blocks on either. The worker thread reads the preset file,
# loads its checkpoint when it differs from the running one (`load_model` + a warm-up step so the
# first live step does not pay torch's lazy initialisation) and hands back a `LoadResult` with a
# ready `Performer`, or an error line. A small cache keeps the last two models. Jobs and results
# cross through `queue.Queue`s; the cache is touched only by the worker (and once at start-up,
# before the worker has jobs). Saving a learned MIDI map into a preset file happens here too.
MODEL_CACHE = 2


def load_live_hearing(checkpoint: str | None, device: torch.device) -> tuple[torch.nn.Module, str, str | None]:
    """(hearing model, label, warning): the checkpoint's hearing model, or for None the shipped one.

    A checkpoint that is not a hearing model (the old pixel network: it plays as the `neural` look)
    or cannot be loaded raises `CheckpointError` naming it.
    """
    from synesthete.performer import load_hearing

    model, label = load_hearing(checkpoint, device)
    return model, label, None


def warm_up(performer: Performer) -> None:
    """Run a few frames of silence through a fresh performer, then reset it (first-step costs paid here)."""
    controls = performer.new_controls()
    performer.process(np.zeros(performer.hop * 3, dtype=np.float32), controls)
    from synesthete.music_state import MusicState

    silence = MusicState.silence(1, performer.fps)
    features = torch.zeros(1, performer.features.n_features)
    for look in performer.mixer.looks:  # each look's first draw (grids, caches) is paid here
        look.draw(silence, *performer.render_size, 1.0, features)
    performer.reset()


@dataclass
class LoadResult:
    path: Path | None
    preset: Preset | None  # None when the preset itself failed to load
    performer: Performer | None  # a new performer when the preset needs a different checkpoint
    checkpoint_label: str = ""
    error: str = ""
    warning: str = ""


class Loader:
    """One worker thread that loads presets (+ their checkpoints) and saves MIDI maps."""

    def __init__(self, device: torch.device, default_checkpoint: str | None,
                 render_size: tuple[int, int] | None = None,
                 load_model_fn: Callable[[str | None, torch.device], tuple] = load_live_hearing) -> None:
        self.device = device
        self.default_checkpoint = default_checkpoint
        self.render_size = render_size
        self._load_model = load_model_fn
        self._jobs: queue.Queue = queue.Queue()
        self._results: queue.Queue = queue.Queue()
        self._cache: dict[str | None, tuple[torch.nn.Module, str, str | None]] = {}
        self.current_checkpoint: str | None = None  # checkpoint key of the running performer
        self._thread = threading.Thread(target=self._work, name="synesthete-loader", daemon=True)
        self._thread.start()

    def checkpoint_key(self, preset: Preset) -> str | None:
        return preset.checkpoint if preset.checkpoint is not None else self.default_checkpoint

    def model_for(self, key: str | None) -> tuple[torch.nn.Module, str, str | None]:
        """Load (or reuse) a model; called on the worker, or once at start-up before the loop runs."""
        if key not in self._cache:
            if len(self._cache) >= MODEL_CACHE:
                self._cache.pop(next(k for k in self._cache if k != self.current_checkpoint))
            self._cache[key] = self._load_model(key, self.device)
        return self._cache[key]

    def new_performer(self, key: str | None) -> tuple[Performer, str, str | None]:
        model, label, warning = self.model_for(key)
        performer = Performer(model, self.device, self.render_size)
        warm_up(performer)
        return performer, label, warning

    # ---- render thread side ----------------------------------------------------------------
    def request(self, path: Path) -> None:
        self._jobs.put(("preset", path, None))

    def save_midi(self, path: Path, table: dict[str, str]) -> None:
        self._jobs.put(("save_midi", path, dict(table)))

    def poll(self) -> list[LoadResult]:
        out = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=5.0)

    # ---- worker ------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            kind, path, payload = job
            if kind == "save_midi":
                try:
                    save_midi_map(path, payload)
                    self._results.put(LoadResult(path, None, None, warning=f"saved MIDI map into {path}"))
                except (PresetError, OSError) as e:
                    self._results.put(LoadResult(path, None, None, error=f"cannot save MIDI map: {e}"))
                continue
            try:
                preset = load_preset(path)
            except PresetError as e:
                self._results.put(LoadResult(path, None, None, error=str(e)))
                continue
            key = self.checkpoint_key(preset)
            if key == self.current_checkpoint:
                self._results.put(LoadResult(path, preset, None))
                continue
            try:
                performer, label, warning = self.new_performer(key)
            except Exception as e:  # any failure: the current preset keeps running
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                self._results.put(LoadResult(path, None, None, error=f"{path}: checkpoint: {first}"))
                continue
            gc.freeze()  # the new model lives long: keep it out of the render thread's collections
            self._results.put(LoadResult(path, preset, performer, label, warning=warning or ""))
