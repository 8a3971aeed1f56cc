"""The live performer's loop and its threads: audio in, frames on screen, recorder fed, never stalled.

Threads and who owns what:

* **render thread** (the caller of `LiveLoop.run`, the main thread: pygame wants it): once per
  display frame it applies pending inputs (window keys, MIDI events drained from the MIDI
  input's queue, finished background loads), reads every new audio sample from the source, runs
  the `Performer` (features -> model.step per hop -> post effects), draws the newest frame scaled
  to the window plus the HUD, flips, and hands every model frame and its audio to the recorder.
  It is paced by the audio: when no new hop is complete it sleeps until the next one should be,
  so a frame is shown as soon as its audio exists (that is what keeps latency low).
* **audio** (the source's callback or pacing thread) writes a ring buffer; `read()` never blocks.
* **MIDI** (rtmidi's callback) queues events; the render thread applies them between frames.
* **loader** (`presets.Loader`): preset files and checkpoints load here; the picture keeps running
  on the current preset meanwhile, and a preset that fails leaves it running with an error line.
* **recorder**: encodes on its own thread behind a bounded queue (drops and counts, never waits).
* **links** (`links.Links`): OSC out and NDI out send on their own threads behind bounded queues;
  OSC in receives on its own thread and is applied between frames like MIDI.

Preset switches blend softly over `blend_seconds` (control glide + picture crossfade when the
checkpoint changes) or cut hard on the next strong beat (the performer's kick detector on the
features). Esc, closing the window, Ctrl-C or `duration` end the loop; everything is stopped
in order and a one-line latency/fps summary is printed.
"""

from __future__ import annotations

import errno
import gc
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch

from synesthete.constants import BLOCK_SIZE, FPS, WINDOW_SIZE
from synesthete.controls import ControlState
from synesthete.device import pick_device
from synesthete.checkpoint import CheckpointError
from synesthete.music_state import MusicState
from synesthete.performer import DEFAULT_RENDER_SIZE, Frame, Performer, ScoreHearing
from synesthete.preset import Preset, PresetError, default_preset, find_preset, list_presets, load_preset, preset_event
from synesthete.mp4_writer import RecordingError
from synesthete.session_log import SessionHeader, SessionLogWriter, file_sha256, session_log_path
from synesthete_live.audio_input import open_source
from synesthete_live.devices import default_source_spec
from synesthete_live.hud import Hud, HudInfo
from synesthete_live.keys import action_for
from synesthete_live.latency import LatencyStats
from synesthete_live.links import Links
from synesthete_live.midi_map import MidiMap
from synesthete_live.presets import Loader, LoadResult, load_live_hearing
from synesthete_live.recorder import Recorder, claim_recording_path
from synesthete_live.render_size import RenderSizer
from synesthete_live.window import Window, cover_rect, pygame

# ==== the live loop ==============================================================================
SILENCE_AFTER_FRAMES = 3  # no audio for this many frame periods: feed silence, the show goes on
HUD_REFRESH_S = 0.25  # HUD figures (percentiles) are recomputed 4 times a second, the meter every frame
WARMUP_S = 1.0  # the statistics start after this: first-frame hitches are start-up, not the show
NO_FRAME_HINT_S = 5.0  # the show started but no frame was shown this long: say so (and why it may be)
BEAT_CUT_TIMEOUT_S = 4.0  # a "beat" transition cuts anyway if no strong beat comes in time


RECORDER_NICE = 4  # the encoder yields the CPU to the render thread: a late file frame is a
# counted drop in the recording, a late window frame is a stutter in the show. Not more: at +10 a
# machine busy with other work starved the encoder so far behind that a kill -9 lost 3-5 s.


def start_below_render(recorder: Recorder) -> Recorder:
    """Start the recorder from a helper thread running at a lower priority (nice +10).

    Threads inherit the niceness of the thread that creates them, so the recorder thread and the
    encoder's worker threads (created when the file opens) all run below the render thread.
    Raising one's own niceness needs no privilege; where it fails the recorder just starts at
    normal priority. Errors of `start()` (e.g. an unwritable path) are raised here.
    """
    failure: list[BaseException] = []

    def start() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, RECORDER_NICE)  # Linux: `who=0` is this thread
        except (AttributeError, OSError):
            pass
        try:
            recorder.start()
        except BaseException as e:  # handed to the caller's thread
            failure.append(e)

    thread = threading.Thread(target=start, name="recorder-start")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return recorder


@dataclass
class LiveOptions:
    device: str | None = None  # audio source spec; None: "mic" if an input exists, else "demo"
    midi: str | None = None  # MIDI input port (name substring or index)
    midi_virtual: str | None = None  # create a virtual MIDI input port with this name
    checkpoint: str | None = None  # model for presets that say "default"; None: the shipped one
    preset: str | None = None  # preset name or path; None: presets/default.toml if present
    presets_dir: Path = Path("presets")
    record: Path | None = None
    record_size: tuple[int, int] | None = None  # (w, h); None: the window size
    fps: int = FPS  # display frame rate target
    size: tuple[int, int] = WINDOW_SIZE
    fullscreen: bool = False
    vsync: bool = True  # tear-free output, at up to one refresh of added latency
    hud: bool = True
    headless: bool = False  # SDL dummy video driver (tests, benchmarks)
    duration: float | None = None  # stop after this many seconds
    torch_device: str = "auto"
    transition: str | None = None  # override every preset's transition ("blend" | "beat")
    blend_seconds: float | None = None  # override every preset's blend time
    auto_advance: float | None = None  # seconds per preset in playlist mode
    block_size: int = BLOCK_SIZE
    play_out: bool = True
    render_size: tuple[int, int] | None = None  # (h, w) look render size; None: chosen (render_size.py)
    hearing: str = "auto"  # "model", "score" (the demo's exact state) or "auto" (model, else score on the demo)
    torch_threads: int = 1  # per-frame steps are tiny: intra-op threads only add contention
    quiet: bool = False
    osc_out: list[tuple[str, int]] = field(default_factory=list)  # (ip, port) targets of the music state
    osc_in: int | None = None  # UDP port to listen for OSC control on
    osc_in_host: str = "127.0.0.1"
    ndi: str | None = None  # publish the frames as an NDI source of this name
    ndi_size: tuple[int, int] | None = None  # (w, h); None: the window size


class LiveLoop:
    """The performer's threads around one render loop on the calling (main) thread."""

    def __init__(self, opts: LiveOptions, source=None, midi_input=None) -> None:
        self.opts = opts
        self.device = pick_device(opts.torch_device)
        self._source = source
        self._midi_input = midi_input
        self.stop_requested = False
        self.summary: dict = {}
        # Called on the render thread after each flip with (frame, display_time): for screenshots,
        # extra outputs, and the tests that check what was shown and when. Keep them quick.
        self.on_frame: list[Callable[[Frame, float], None]] = []

    # ---- set-up ------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        if not self.opts.quiet:
            print(f"synesthete-live: {text}", file=sys.stderr, flush=True)

    def _setup(self) -> None:
        o = self.opts
        torch.set_num_threads(o.torch_threads)
        # OpenCV's pool would split the window's scale (~1 ms) across both cores and make the render
        # thread wait for a worker the encoder or the X server holds: one thread, as torch.
        cv2.setNumThreads(1)
        self.recorder = None
        self.session_log = None
        self.frames_made = 0  # model frames made since the show began (the session log's frame clock)
        self.playlist = list_presets(o.presets_dir)
        start_path: Path | None = None
        if o.preset is not None:
            start_path = find_preset(o.preset, o.presets_dir)
        elif self.playlist:
            named = [p for p in self.playlist if p.stem == "default"]
            start_path = named[0] if named else self.playlist[0]
        self.preset = load_preset(start_path) if start_path is not None else default_preset()
        if start_path is not None and start_path not in self.playlist:
            self.playlist.append(start_path)
        self.preset_index = self.playlist.index(start_path) if start_path is not None else 0

        if self._midi_input is None and (o.midi is not None or o.midi_virtual is not None):
            from synesthete_live.midi_input import MidiInput  # a wrong port fails here, before the model loads

            self._midi_input = MidiInput(o.midi, virtual_name=o.midi_virtual)
        spec = o.device or default_source_spec()
        self.loader = Loader(self.device, o.checkpoint, o.render_size or DEFAULT_RENDER_SIZE,
                             load_model_fn=self._hearing_loader(spec))
        key = self.loader.checkpoint_key(self.preset)
        self.performer, self.checkpoint_label, warning = self.loader.new_performer(key)  # raises on a bad checkpoint
        self.loader.current_checkpoint = key
        if warning:
            self._say(warning)
        self.controls = self.performer.new_controls()
        self._apply_preset_values(self.preset, 0.0, log=False)
        self.midi_map = MidiMap(self.preset.midi)
        self.fading: Performer | None = None
        self.fade_frames = 0
        self.fade_total = 0
        self.pending_cut: tuple[LoadResult, float] | None = None
        self.error_line = ""

        self.stats = LatencyStats(min(o.fps, self.performer.fps))  # no frame is shown faster than made
        self.hud = Hud()
        self.hud.visible = o.hud
        self.info = HudInfo(preset=self.preset.name)
        if o.headless:
            os.environ["SDL_VIDEODRIVER"] = "dummy"
        self.window = Window(o.size, o.fullscreen, vsync=o.vsync and not o.headless)

        if self._source is None:
            self._source = open_source(spec, self.performer.sample_rate, block_size=o.block_size,
                                       play_out=o.play_out)
        self.source = self._source
        self.render_sizer = RenderSizer(self.window.size, self.device, o.render_size, self.performer.fps)
        size, note = self.render_sizer.choose(self.performer)
        self._use_render_size(size)
        self._say(note)
        self.synth = None
        self.midi_input = self._midi_input
        if self.midi_input is not None:
            self.info.midi = getattr(self.midi_input, "port_name", None) or o.midi or o.midi_virtual or "midi"
            try:
                from synesthete_live.synth import Synth

                self.synth = Synth(self.performer.sample_rate, "lead")
                # Render every note once now (~0.4 s of start-up), so the first press costs nothing.
                # On this thread: the synth belongs to the render thread alone (it has no lock).
                self.synth.prewarm()
                self.source.attach_synth(self.synth)
            except (ImportError, ValueError) as e:
                self._say(f"MIDI notes will not play a synth ({e})")

        self.record_path: Path | None = None
        self.record_failure = ""  # why the recording ended early (disk full...); the show went on
        if o.record is not None:
            self._start_recording(o.record)
        self.links = Links(o.osc_out, o.osc_in, o.osc_in_host, o.ndi, o.ndi_size or self.window.size,
                           self.performer.fps, self.performer.sample_rate,
                           detector=self.performer.detector)
        self.source.start()
        self._say(f"input {self.source.name}, model {self.checkpoint_label}, window "
                  f"{self.window.size[0]}x{self.window.size[1]} at {o.fps} fps"
                  + (f", recording to {self.record_path} ({self.recorder.width}x{self.recorder.height})"
                     if self.record_path is not None else "")
                  + "".join(f", {text.split('  ')[0]}" for text, _ in self.links.hud_lines(0.0))
                  + ". Keys: H HUD, Esc quit (synesthete-live --help lists all)")
        if not o.headless and self.window.driver in ("dummy", "offscreen"):
            self._say(f"no display found (SDL video driver {self.window.driver!r}): nothing is shown; "
                      "set DISPLAY, or add --record set.mp4 to keep the visuals")
        # Everything loaded so far lives for the whole show: move it out of the garbage
        # collector's reach, so a full collection never scans torch/pygame/numpy internals on the
        # render thread (measured: a 190 ms pause without this).
        gc.collect()
        gc.freeze()

    def _hearing_loader(self, spec: str):
        """The loader's model function: the hearing model, or the demo's exact state (`--hearing`)."""
        mode = self.opts.hearing
        demo = spec == "demo"
        if mode == "score" and not demo:
            raise ValueError("--hearing score needs the demo source (--device demo): only it knows its score")

        def score(key, device):
            return ScoreHearing(self._score_state), "score (the demo's exact state)", None

        def model_or_score(key, device):
            try:
                return load_live_hearing(key, device)
            except CheckpointError as e:
                if mode == "auto" and demo and self.opts.checkpoint is None and key is None:
                    return ScoreHearing(self._score_state), "score (the demo's exact state)", \
                        f"no hearing model ({e}); the looks follow the demo's exact score"
                raise

        return score if mode == "score" else model_or_score

    def _score_state(self, t: int) -> MusicState:
        """The demo's exact state for performer frame t, found by the capture time of its newest
        sample (the demo's own clock: right through source stalls and silence fills)."""
        source, perf = self._source, getattr(self, "performer", None)
        capture = getattr(self, "_chunk_capture", None)
        state = None
        if perf is not None and capture is not None and hasattr(source, "music_state_at"):
            state = source.music_state_at(capture - (perf.samples_in - (t + 1) * perf.hop) / perf.sample_rate)
        return state if state is not None else MusicState.silence(1, FPS, t / FPS)

    def _use_render_size(self, size: tuple[int, int]) -> None:
        self.performer.set_render_size(size)
        self.loader.render_size = size  # performers loaded later (presets) draw at it too
        self.info.render_size = f"{size[1]}x{size[0]}"
        self._log("render", op="render_size", size=[int(size[0]), int(size[1])])  # a replay draws at it too

    # ---- recording ---------------------------------------------------------------------------
    def _start_recording(self, wanted: Path) -> None:
        """Open the recorder and its session log on a name that overwrites no earlier show."""
        o = self.opts
        path = claim_recording_path(wanted)  # creates an empty placeholder: ours to remove on failure
        if path != wanted:
            self._say(f"{wanted} (or its session log) exists already: recording to {path} instead")
        try:
            rw, rh = o.record_size or self.default_record_size()
            self.recorder = start_below_render(Recorder(path, rw, rh, self.performer.fps,
                                                        self.performer.sample_rate))
            self._record_aspect = (rw, rh)
            self.session_log = SessionLogWriter(session_log_path(path), self._session_header((rw, rh)))
        except BaseException:
            if self.recorder is not None:
                self.recorder.abort("the recording could not start")
                try:
                    self.recorder.stop(timeout=10.0)
                except RecordingError:
                    pass  # the original failure is the one to report
                self.recorder = None
            if path.exists() and path.stat().st_size == 0:
                path.unlink()  # our placeholder: nothing was recorded
            raise
        self.record_path = path

    def default_record_size(self) -> tuple[int, int]:
        """(w, h) of a recording without `--record-size`: the looks' own pixels, not the window's.

        The window scales the render size up; an upscale adds no information to a file, and a
        720p h264 stream costs about a core of a 2-core machine (the show needs the other one),
        while the render size (640x360 or 480x270 there) costs a fifth of that. The file keeps
        the part of the picture the window shows (the window's aspect, cover crop) at the render
        size it started at (a later step down is scaled up to it). `synesthete-render --replay`
        makes a full-size, full-detail file from the session log after the set; a GPU draws the
        full window, so there the recording is the window size.
        """
        (h, w), (ww, wh) = self.performer.render_size, self.window.size
        crop = cover_rect(w, h, ww, wh)
        if crop.w * crop.h >= ww * wh:
            return ww, wh
        return max(2, crop.w // 2 * 2), max(2, crop.h // 2 * 2)

    def _session_header(self, size: tuple[int, int]) -> SessionHeader:
        """What a replay needs (synesthete.session_log.SessionHeader): the hearing checkpoint by full
        path and checksum (None when the demo's exact score heard the set), the looks in control
        order, the sizes, and the event that made the starting controls (the start preset's glide,
        its look blend included). Set-up applies nothing else before the recording starts."""
        from synesthete.checkpoint import resolve_checkpoint

        checkpoint = sha = None
        if not isinstance(self.performer.hearing, ScoreHearing):
            path = resolve_checkpoint(self.loader.current_checkpoint, "hearing").resolve()
            checkpoint, sha = str(path), file_sha256(path)
        return SessionHeader(
            sample_rate=self.performer.sample_rate, fps=self.performer.fps, checkpoint=checkpoint,
            checkpoint_name=self.checkpoint_label, checkpoint_sha256=sha, looks=tuple(self.performer.styles),
            size=(int(size[0]), int(size[1])), render_size=tuple(self.performer.render_size),
            start=preset_event(self.preset, self.performer.styles, 0.0), preset=self.preset.name,
            preset_path=str(self.preset.path) if self.preset.path else None, source=self.source.name)

    def _end_recording(self, reason: str) -> None:
        """A recording that cannot go on (a full disk) ends here; the show goes on.

        Called on the render thread; never waits: the recorder closes its file on its own thread.
        The reason is shown on the HUD and said on stderr now, and the exit status reports it.
        """
        if self.record_failure:
            return
        self.record_failure = reason
        if self.recorder is not None:
            self.recorder.abort(reason)
        if self.session_log is not None:
            self.session_log.close()  # what was logged so far stays (each event was flushed)
            self.session_log = None
        self._error(f"{reason}; the show goes on without recording")

    def _check_recording(self) -> None:
        # The recorder fails on its own thread (its file's disk is full): end the log with it.
        if self.recorder is not None and not self.record_failure and self.recorder.error is not None:
            self._end_recording(self.recorder.error)

    # ---- events --------------------------------------------------------------------------------
    def _log(self, type_: str, **payload) -> None:
        if self.session_log is not None and self.recorder is not None:
            # Stamped with the model frame it is applied before (every frame so far was recorded,
            # so it is that frame of the recording too); t on the recording's audio clock.
            frame, t = self.frames_made, self.recorder.position()[1]
            try:
                self.session_log.log(type_, frame, t, **payload)
            except OSError as e:  # e.g. ENOSPC: the disk is full; the recording ends with the log
                what = "disk full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else f"cannot write ({e.strerror or e})"
                self._end_recording(f"{what} while writing {self.session_log.path}: recording and session "
                                    f"log stopped at {t:.1f} s")

    def apply(self, event: dict) -> None:
        """Apply one control event between frames (and log it for replay)."""
        if event.get("op") == "trigger":
            self._step_preset(+1 if event["name"] == "next_preset" else -1)
            return
        self.controls.apply(event)
        self._log("control", **event)

    def _key(self, key: int) -> None:
        action = action_for(key)
        if action is None:
            return
        if action.kind == "app":
            self._app(action.app)
            return
        if self.midi_map.learning:  # learn mode: a control key picks the control to map
            self.midi_map.learn_select(action.control)
            return
        if action.kind == "trigger":
            self.apply({"op": "trigger", "name": action.control})
        elif action.kind == "toggle":
            self.apply({"op": "toggle", "name": action.control})
        elif action.kind in ("nudge", "cycle"):
            self.apply({"op": "nudge", "name": action.control, "value": action.value})
        elif action.kind == "style_slot":
            n = len(self.performer.styles)
            if int(action.value) < n:
                self.apply({"op": "set", "name": "style", "value": action.value / max(n - 1, 1)})

    def _app(self, name: str, on: bool | None = None) -> None:
        """An app action from a key (flip) or OSC (`on`: set, None: flip)."""
        if name == "quit":
            self.stop_requested = True
        elif name == "fullscreen":
            if on is None or on != self.window.fullscreen:
                self.window.toggle_fullscreen()
        elif name == "hud":
            self.hud.visible = (not self.hud.visible) if on is None else on
        elif name == "learn":
            if self.midi_map.learn_toggle() and self.preset.path is not None:
                self.loader.save_midi(self.preset.path, self.midi_map.as_table())
        elif name == "reset":
            self._apply_preset_values(self.preset, 0.3)

    def _osc_events(self) -> None:
        for event in self.links.control_events(self.controls):
            if event["op"] == "app":
                self._app(event["name"], event["value"])
            elif event["op"] == "preset":
                self._preset_by_name(event["name"])
            else:
                self.apply(event)

    def _preset_by_name(self, name: str) -> None:
        try:
            path = find_preset(name, self.opts.presets_dir)
        except PresetError as e:
            self.links.reject(str(e))
            return
        if path not in self.playlist:
            self.playlist.append(path)
        self.preset_index = self.playlist.index(path)
        self.loader.request(path)

    def _window_events(self) -> None:
        for event in self.window.poll():
            if event.type == pygame.QUIT:
                self.stop_requested = True
            elif event.type == pygame.KEYDOWN:
                self._key(event.key)

    def _midi_events(self) -> None:
        if self.midi_input is None:
            return
        for ev in self.midi_input.poll():
            produced = self.midi_map.handle(ev, self.controls)
            for control_event in produced:
                self.apply(control_event)
            bound = any(s.matches("note", ev.channel, ev.number) for s in self.midi_map.bindings)
            if self.synth is not None and ev.kind in ("note_on", "note_off") and not bound and not self.midi_map.learning:
                if ev.kind == "note_on" and ev.value > 0:
                    self.synth.note_on(ev.number, ev.value)
                else:
                    self.synth.note_off(ev.number)
        if self.midi_map.last_activity is not None:
            self.info.midi_last, when = self.midi_map.last_activity
            self.info.midi_time = time.perf_counter() if when != self._last_midi_when else self.info.midi_time
            self._last_midi_when = when

    # ---- presets ------------------------------------------------------------------------------
    def _apply_preset_values(self, preset: Preset, seconds: float, log: bool = True) -> None:
        event = preset_event(preset, self.performer.styles, seconds)
        self.controls.apply(event)
        if log:
            self._log("control", **event)

    def _step_preset(self, direction: int) -> None:
        if not self.playlist:
            self._error("no presets to switch to (put .toml presets in " + str(self.opts.presets_dir) + ")")
            return
        self.preset_index = (self.preset_index + direction) % len(self.playlist)
        self.loader.request(self.playlist[self.preset_index])

    def _error(self, text: str) -> None:
        self.info.error, self.info.error_time = text, time.perf_counter()
        self._say(text)

    def _loader_results(self) -> None:
        for result in self.loader.poll():
            if result.error:
                self._error(result.error)  # the current preset keeps running
                continue
            if result.preset is None:
                if result.warning:
                    self._say(result.warning)
                continue
            try:
                perf = result.performer or self.performer
                result.preset.style_weights(perf.styles)
            except PresetError as e:
                self._error(str(e))
                continue
            transition = self.opts.transition or result.preset.transition
            if transition == "beat":
                self.pending_cut = (result, time.perf_counter() + BEAT_CUT_TIMEOUT_S)
            else:
                self._switch(result, hard=False)

    def _switch(self, result: LoadResult, hard: bool) -> None:
        preset = result.preset
        seconds = 0.0 if hard else (self.opts.blend_seconds if self.opts.blend_seconds is not None
                                    else preset.blend_seconds)
        if result.performer is not None:
            old = self.performer
            self.performer = result.performer
            self.links.set_detector(self.performer.detector)
            self.loader.current_checkpoint = self.loader.checkpoint_key(preset)
            self.checkpoint_label = result.checkpoint_label
            if len(self.performer.styles) != self.controls.n_styles:
                keep = {n: v for n, v in self.controls.snapshot().items() if n != "style"}
                self.controls = ControlState(len(self.performer.styles), keep)
            if not hard and seconds > 0:
                self.fading = old
                self.fade_total = max(1, int(round(seconds * self.performer.fps)))
                self.fade_frames = 0
            if result.warning:
                self._say(result.warning)
        self.preset = preset
        self._apply_preset_values(preset, seconds)
        self.midi_map = MidiMap(preset.midi, pickup=self.midi_map.pickup)
        self.links.release_knobs()
        self.info.preset = preset.name
        self._log("preset", name=preset.name, path=str(preset.path) if preset.path else None,
                  checkpoint=self.checkpoint_label, hard_cut=hard, seconds=seconds)

    # ---- the frame -----------------------------------------------------------------------------
    def _read_audio(self, now: float) -> tuple[np.ndarray, float | None]:
        audio, t = self.source.read()
        sr, hop = self.performer.sample_rate, self.performer.hop
        if audio.size:
            self._audio_clock, self._filling = now, False
            return audio, t
        gap = now - self._audio_clock
        if self._filling or gap > SILENCE_AFTER_FRAMES * hop / sr:  # the source gave nothing: silence keeps time
            self._filling = True
            n = int(gap * sr)
            self._audio_clock += n / sr
            return np.zeros(n, dtype=np.float32), now
        return audio, t

    def _record(self, frames: list, audio: np.ndarray) -> None:
        if self.recorder is None:
            return
        if not frames:
            if audio.size:
                self.recorder.submit_audio(audio)
            return
        rw, rh = self._record_aspect
        image = frames[-1].image  # only the newest frame of a batch is drawn; the others repeat it
        h, w = image.shape[:2]
        crop = cover_rect(w, h, rw, rh)  # record what the window shows: same crop
        shown = image[crop.top:crop.bottom, crop.left:crop.right]
        for i, frame in enumerate(frames):
            self.recorder.submit_frame(shown, audio if i == 0 and audio.size else None)

    def _frame_images(self, audio: np.ndarray, t: float | None) -> list:
        # Only the newest frame of a batch is drawn: a loop that fell behind catches up instead
        # of drawing frames nobody will see (the hearing still steps every frame).
        self._chunk_capture = t  # the demo's score hearing looks its state up by capture time
        frames = self.performer.process(audio, self.controls, t, draw="last")
        self.frames_made += len(frames)
        if self.fading is not None:
            old = self.fading.process(audio, self._fading_controls(), t, draw="last")
            if old and frames:
                self.fade_frames += len(frames)
                mix = min(self.fade_frames / self.fade_total, 1.0)
                f = frames[-1]
                other = old[-1].image
                if other.shape != f.image.shape:
                    other = cv2.resize(other, (f.image.shape[1], f.image.shape[0]), interpolation=cv2.INTER_LINEAR)
                f.image = cv2.addWeighted(other, 1.0 - mix, f.image, mix, 0.0)
            if self.fade_frames >= self.fade_total:
                self.fading = None
        return frames

    def _fading_controls(self) -> ControlState:
        # The outgoing model keeps the controls it had (styles may differ from the new model's).
        if getattr(self, "_fade_ctl", None) is None or self._fade_ctl.n_styles != len(self.fading.styles):
            self._fade_ctl = ControlState(len(self.fading.styles),
                                          {n: v for n, v in self.controls.snapshot().items() if n != "style"})
        return self._fade_ctl

    def _update_hud(self, now: float) -> None:
        i = self.info
        i.level = self.source.level  # every frame: a meter must not lag
        if now - self._hud_updated < HUD_REFRESH_S:
            return
        self._hud_updated = now
        s = self.stats.hud()
        i.fps, i.frame_ms, i.latency_p50, i.latency_p95 = s["fps"], s["frame_ms"], s["latency_p50"], s["latency_p95"]
        i.input_name, i.input_status = self.source.name, self.source.status
        w = self.controls.style_weights
        i.style = " + ".join(f"{self.performer.styles[k]} {w[k]:.2f}" for k in np.argsort(-w)[:2] if w[k] > 0.05)
        i.hearing = self.checkpoint_label
        if self.recorder is not None:
            i.recording = self.recorder.is_recording
            i.record_dropped = self.recorder.dropped_frames
            i.record_error = self.recorder.error or ""
            i.record_lag = self.recorder.lag_seconds
        if self.midi_map.learning:
            i.learn = (f"move a knob or hit a pad for '{self.midi_map.armed}'" if self.midi_map.armed
                       else "press a control's key to pick it (L to finish)")
        else:
            i.learn = ""
        i.pickup = (self.midi_map.waiting_pickup() if self.midi_input is not None else []) + self.links.waiting_pickup()
        i.links = self.links.hud_lines(now)
        i.frozen = self.controls.target["freeze"] >= 0.5
        i.blackout = self.controls.target["blackout"] >= 0.5

    def run(self) -> dict:
        """Run until Esc, window close, Ctrl-C or `duration`; returns the summary figures."""
        try:
            self._setup()
        except BaseException:
            self._teardown(report=False)
            raise
        fps_display = float(self.opts.fps)
        period = 1.0 / fps_display
        self._audio_clock = time.perf_counter()
        self._filling = False
        self._hud_updated = 0.0
        self._last_midi_when = None
        start = time.perf_counter()
        last_shown = 0.0
        next_advance = start + self.opts.auto_advance if self.opts.auto_advance else None
        newest_t = start
        warming = True
        self._frames_shown = 0
        watchdog = threading.Timer(NO_FRAME_HINT_S, self._no_frame_hint)
        watchdog.daemon = True
        watchdog.start()
        try:
            while not self.stop_requested:
                t0 = time.perf_counter()
                if warming and t0 - start >= WARMUP_S:
                    self.stats.reset()
                    warming = False
                if self.opts.duration is not None and t0 - start >= self.opts.duration:
                    break
                self._check_recording()
                self._window_events()
                self._midi_events()
                self._osc_events()
                self._loader_results()
                if next_advance is not None and t0 >= next_advance:
                    next_advance += self.opts.auto_advance
                    self._step_preset(+1)
                audio, t_capture = self._read_audio(t0)
                if t_capture is not None:
                    newest_t = t_capture
                frames = self._frame_images(audio, t_capture)
                due = fps_display >= self.performer.fps or t0 - last_shown >= period - 0.002
                # A frame for the screen is flipped first and handed to the recorder and the links
                # right after: their hand-off is not the audience's latency. (Not across a preset
                # cut: its log entry is stamped with the recording's clock, which must include
                # this chunk's audio.)
                after_flip = bool(frames) and due and self.pending_cut is None
                if not after_flip:
                    self._record(frames, audio)
                    self.links.publish(frames, audio, self.source)
                if self.pending_cut is not None and (any(f.beat for f in frames) or t0 >= self.pending_cut[1]):
                    self._switch(self.pending_cut[0], hard=True)
                    self.pending_cut = None
                if frames and due:
                    frame = frames[-1]
                    self.window.draw(frame.image)
                    self._update_hud(t0)
                    self.info.state = frame.state
                    self.info.hits = np.maximum.reduce([f.state.onset[0] for f in frames])
                    self.hud.draw(self.window.screen, self.info)
                    shown = self.window.flip()
                    if after_flip:
                        self._record(frames, audio)
                        self.links.publish(frames, audio, self.source)
                    # Frames meant for the screen that a newer one overtook (at a display rate
                    # below the model's, only every ratio-th frame is meant for it).
                    meant = len(frames) if fps_display >= self.performer.fps else \
                        round(len(frames) * fps_display / self.performer.fps)
                    self.stats.record(shown, frame.capture_time, shown - t0, skipped=max(0, meant - 1))
                    resized = self.render_sizer.observe(shown - t0, meant - 1, self.performer.render_size)
                    if resized is not None:
                        self._use_render_size(resized)
                        self._say(f"frames were late: drawing at {resized[1]}x{resized[0]} from now on")
                    self._frames_shown += 1
                    for observer in self.on_frame:
                        observer(frame, shown)
                    last_shown = shown
                    continue
                # Nothing new to show: sleep until the next hop of audio should be complete.
                perf = self.performer
                pending = perf.samples_in - perf.frames_done * perf.hop
                wait = (perf.hop - pending) / perf.sample_rate - (time.perf_counter() - newest_t)
                time.sleep(min(max(wait, 0.0005), 0.004))
        except KeyboardInterrupt:
            pass
        finally:
            watchdog.cancel()
            self._teardown()
        return self.summary

    def _no_frame_hint(self) -> None:
        # On a timer thread: a show that has not drawn one frame in seconds says why it may be.
        if self._frames_shown or self.stop_requested:
            return
        h, w = self.performer.render_size
        self._error(f"no frame yet after {NO_FRAME_HINT_S:g} s: drawing at {w}x{h} is too slow for this "
                    f"machine; try a smaller --render-size (or none: the loop then picks one that fits)")

    def _teardown(self, report: bool = True) -> None:
        summary = self.stats.summary() if hasattr(self, "stats") else {}
        for name in ("source", "midi_input"):
            thing = getattr(self, name, None)
            if thing is not None:
                try:
                    (thing.stop if hasattr(thing, "stop") else thing.close)()
                except Exception as e:  # shutting down: report, never hang
                    self._say(f"{name} did not stop cleanly: {e}")
        if getattr(self, "links", None) is not None:
            self.links.stop()
            summary.update(self.links.summary())
        if getattr(self, "recorder", None) is not None:
            try:
                rec = self.recorder.stop(timeout=30.0)
            except Exception as e:  # e.g. the encoder could not drain in time: say so, finish the rest
                rec = {"path": str(self.recorder.path), "frames": self.recorder.frames_written,
                       "dropped": self.recorder.dropped_frames, "error": str(e)}
            summary.update(recording=True, record_path=rec["path"], record_frames=rec["frames"],
                           record_size=f"{self.recorder.width}x{self.recorder.height}",
                           record_dropped=rec["dropped"], record_error=rec["error"] or self.record_failure or None)
            summary["session_log"] = str(session_log_path(rec["path"]))
            summary["record_refused"] = self.recorder.refused_entries  # submits after it stopped early
        else:
            summary["recording"] = False
        if getattr(self, "session_log", None) is not None:
            try:
                self.session_log.close()
            except OSError as e:  # the last flush met a full disk: the events before it are there
                summary["record_error"] = summary.get("record_error") or f"session log: {e}"
        if getattr(self, "loader", None) is not None:
            self.loader.stop()
            summary["loader_dropped"] = self.loader.dropped_jobs + self.loader.dropped_results
        if getattr(self, "window", None) is not None:
            summary["video_driver"] = self.window.driver
            summary["render_size"] = self.info.render_size
            self.window.close()
        self.summary = summary
        if report and hasattr(self, "stats"):
            line = self.stats.summary_line()
            if summary.get("recording"):
                line += f"; recorded {summary['record_frames']} frames to {summary['record_path']}" \
                        f" ({summary['record_dropped']} dropped)"
                if summary.get("record_error"):
                    line += f"; recording error: {summary['record_error']}"
            if "osc_out_frames" in summary:
                line += f"; osc out {summary['osc_out_frames']} frames ({summary['osc_out_dropped']} dropped)"
            if "osc_in_received" in summary:
                line += f"; osc in {summary['osc_in_accepted']} ok, {summary['osc_in_bad']} bad"
            if "ndi_sent" in summary:
                line += f"; ndi {summary['ndi_sent']} frames ({summary['ndi_dropped']} dropped)"
            print(f"synesthete-live: {line}", flush=True)
