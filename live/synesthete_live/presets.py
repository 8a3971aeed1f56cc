"""Live presets: saving learned MIDI maps into preset files, and loading presets in the background.

The preset format and its checks live in the core (`synesthete.preset`), shared with
`synesthete-render --preset`. MIDI maps learned on stage are written back into the file's midi
table with tomlkit (the rest of a TOML file is kept as written, comments included), validated
with the same loader and replaced atomically. `Loader` loads presets and their checkpoints on a
background thread for the live loop.
"""

from __future__ import annotations

import gc
import os
import queue
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import tomlkit
import torch
import yaml

from synesthete.controls import SPECS
from synesthete.midi_source import MidiSource
from synesthete.performer import Performer
from synesthete.preset import Preset, PresetError, load_preset


def _with_midi_table(path: Path, midi: dict[str, str]) -> str:
    """The preset file's text with its `midi` table replaced by `midi`, everything else as written.

    TOML goes through tomlkit, which edits the document in place: the table keeps the shape it
    was written in (`[midi]`, `[ midi ]`, an inline `midi = {...}`, dotted `midi.hue = ...`), and
    every comment, blank line and indentation of the rest of the file stays. A file without the
    table gets a `[midi]` table at the end. YAML is re-dumped (PyYAML keeps no comments).
    """
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if path.suffix != ".toml":
        data = (yaml.safe_load(text) or {}) if text.strip() else {}
        if not isinstance(data, dict):
            raise PresetError(f"{path}: the top level must be a mapping; MIDI map not saved")
        data["midi"] = dict(sorted(midi.items()))
        return yaml.safe_dump(data, sort_keys=False)
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as e:
        raise PresetError(f"{path}: not valid TOML ({e}); MIDI map not saved") from None
    if "midi" in doc:
        table = doc["midi"]
        if not isinstance(table, dict):
            raise PresetError(f"{path}: midi: expected a table, got {table!r}; MIDI map not saved")
        for name in [k for k in table if k not in midi]:
            del table[name]
        for name, source in sorted(midi.items()):
            table[name] = source
    else:
        table = tomlkit.table()
        for name, source in sorted(midi.items()):
            table[name] = source
        doc["midi"] = table
    return tomlkit.dumps(doc)


def save_midi_map(path: str | Path, midi: dict[str, str]) -> None:
    """Write `midi` (control -> source text) into the preset file's midi table, atomically.

    The new text is written to a temporary file in the same folder, flushed to the disk (fsync),
    and checked with `load_preset`, the loader that will read it on stage; only a preset that
    loads replaces the original (`os.replace`, atomic on POSIX). On any failure (a file we
    cannot edit, a full disk, a result that would not load) the original stays byte for byte and
    `PresetError` or `OSError` says why.
    """
    path = Path(path)
    for name, source in midi.items():
        if name not in SPECS:
            raise PresetError(f"{path}: midi.{name}: unknown control")
        MidiSource.parse(source)
    text = _with_midi_table(path, midi)
    # Same folder (os.replace is atomic only within one filesystem) and same suffix (the loader
    # picks TOML or YAML by it); the leading dot keeps the temp out of the preset list.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".saving{path.suffix}",
                                    dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on the disk before the name points at them
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        try:
            load_preset(tmp)
        except PresetError as e:
            raise PresetError(f"the MIDI map would make {str(e).replace(str(tmp), str(path))}; "
                              f"{path} was left as it was") from None
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)  # the rename itself survives a power cut


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ==== background loading =========================================================================
# The render thread posts a job (`request(preset_path)`) and collects finished results with
# `poll()` between frames; it never blocks on either. The worker thread reads the preset file,
# loads its checkpoint when it differs from the running one (`load_model` + a warm-up step so the
# first live step does not pay torch's lazy initialisation) and hands back a `LoadResult` with a
# ready `Performer`, or an error line. A small cache keeps the last two models. Jobs and results
# cross through `queue.Queue`s; the cache is touched only by the worker (and once at start-up,
# before the worker has jobs). Saving a learned MIDI map into a preset file happens here too.
# Both queues are bounded (`LOADER_QUEUE`): when full, the oldest entry is dropped and counted
# (`dropped_jobs`, `dropped_results`): the newest request is the one the VJ wants.
MODEL_CACHE = 2
LOADER_QUEUE = 8  # pending jobs (and unread results): a VJ pressing N faster than models load needs the newest


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
        self._jobs: queue.Queue = queue.Queue(LOADER_QUEUE)
        self._results: queue.Queue = queue.Queue(LOADER_QUEUE)
        self.dropped_jobs = 0  # render thread only
        self.dropped_results = 0  # worker only
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
        self.dropped_jobs += _put_dropping_oldest(self._jobs, ("preset", path, None))

    def save_midi(self, path: Path, table: dict[str, str]) -> None:
        self.dropped_jobs += _put_dropping_oldest(self._jobs, ("save_midi", path, dict(table)))

    def poll(self) -> list[LoadResult]:
        out = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        self.dropped_jobs += _put_dropping_oldest(self._jobs, None)
        self._thread.join(timeout=5.0)

    def _result(self, result: LoadResult) -> None:
        self.dropped_results += _put_dropping_oldest(self._results, result)

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
                    self._result(LoadResult(path, None, None, warning=f"saved MIDI map into {path}"))
                except (PresetError, OSError) as e:
                    self._result(LoadResult(path, None, None, error=f"cannot save MIDI map: {e}"))
                continue
            try:
                preset = load_preset(path)
            except PresetError as e:
                self._result(LoadResult(path, None, None, error=str(e)))
                continue
            key = self.checkpoint_key(preset)
            if key == self.current_checkpoint:
                self._result(LoadResult(path, preset, None))
                continue
            try:
                performer, label, warning = self.new_performer(key)
            except Exception as e:  # any failure: the current preset keeps running
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                self._result(LoadResult(path, None, None, error=f"{path}: checkpoint: {first}"))
                continue
            gc.freeze()  # the new model lives long: keep it out of the render thread's collections
            self._result(LoadResult(path, preset, performer, label, warning=warning or ""))


def _put_dropping_oldest(q: queue.Queue, item: Any) -> int:
    """Put without blocking; when `q` is full drop its oldest entry first. Returns how many were dropped."""
    dropped = 0
    while True:
        try:
            q.put_nowait(item)
            return dropped
        except queue.Full:
            try:
                q.get_nowait()
                dropped += 1
            except queue.Empty:  # the consumer just made room
                pass
