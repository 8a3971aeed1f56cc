"""The one streaming path from audio to finished frames, shared by the live window, render and replay.

    performer = Performer(hearing, render_size=(360, 640))
    controls = performer.new_controls()
    for chunk, t_capture in source:                       # any chunk size, at hearing.cfg.sample_rate
        for frame in performer.process(chunk, controls, t_capture):
            show(frame.image)                             # (H, W, 3) uint8 after post effects
            frame.state                                   # the MusicState heard (the look draws it steadied)

Inside, once per hop: causal `StreamingFeatures` -> the hearing -> the frame's `MusicState` ->
the steadied state the looks draw (`SteadyState`: envelopes that jump on onsets and only decay between,
a steady beat and bar oscillator) -> the looks (`LookMixer`: the style morph crossfades looks, one is drawn at rest) at the render size
-> `PostEffects`. The hearing is the model (`synesthete.model.hearing`: `init_state(batch, device)`,
`step(feature_t (B, F), state) -> (fields, state)`, and `step_chunk` over the (1, k, F) rows of a
chunk that completed k > 1 hops: one network call for a render's 30 frames, the same fields), or
`ScoreHearing`, which replays a state known in advance (procedural music knows its score). The control state's smoothing advances by
one frame per step (never by the wall clock), so the frames depend only on the audio samples and
on the frame index at which each control event was applied: `render_clip` replays a clip with
such events and gives what the live window showed.

Each `Frame` knows the capture time of the newest audio sample that fed it (the live loop measures
audio->frame latency from it) and carries its music state (the HUD and OSC read it). A frame that
nobody will look at can skip the drawing (`draw=`): its music state, controls and effects state
still advance, so skipping never changes the frames that are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from synesthete.constants import FPS, SAMPLE_RATE
from synesthete.controls import ControlState
from synesthete.features import FAST_FFT, MEL_SCALE, StreamingFeatures, feature_width
from synesthete.looks import LookMixer, look_names
from synesthete.music_events import detector_config
from synesthete.music_state import FIELD_NAMES, SPEC, MusicState
from synesthete.post_effects import PostEffects, to_uint8
from synesthete.steady_state import SteadyState

DEFAULT_RENDER_SIZE = (360, 640)  # (h, w): what a small CPU holds at 60 fps; the live loop measures

# The strobe and the beat-cut fire on a kick found in the features themselves: the mean rise of the
# lowest mel bands (natural-log power units) against its own slow average. It needs no model, so
# it is as quick and sure on the first beat as on the hundredth, whatever the hearing model knows.
KICK_BANDS = 6
KICK_MIN = 1.5  # absolute floor (log-power units): a kick rises ~3-5, noise in these narrow bands ~1
KICK_RATIO = 2.0  # ... and a beat must stand this far above the recent average
REFRACTORY_S = 0.12  # at most ~8 beats per second (16th notes at 120 BPM pass, rolls do not)


@dataclass(frozen=True)
class FeatureConfig:
    """The audio front end a hearing was trained with (the fields `StreamingFeatures.for_model` reads)."""

    sample_rate: int = SAMPLE_RATE
    fps: int = FPS
    n_mels: int = 64
    n_fft: int = 1024
    n_chroma: int = 12
    chroma_fft: int = 4096
    band_flux: int = 0
    window_fall: int = 0
    fast_mels: int = 0
    fast_fft: int = FAST_FFT
    pcen: bool = False

    @property
    def n_features(self) -> int:
        return feature_width(self.n_mels, self.n_chroma, self.band_flux, self.fast_mels, self.pcen)


class ScoreHearing:
    """A hearing that already knows the answer: it replays a given music state, frame by frame.

    For music whose score is known (the procedural demo and songs): the looks then draw from the
    exact state. `state` is a whole `MusicState` (frames past its end are silence) or a function
    frame index -> one-frame state (an endless stream). The features are ignored.
    """

    def __init__(self, state: MusicState | Callable[[int], MusicState], cfg: FeatureConfig | None = None) -> None:
        self.cfg = cfg or FeatureConfig()
        self._state = state

    def init_state(self, batch: int, device: torch.device | str = "cpu") -> dict:
        return {"t": 0}

    def frame_state(self, t: int) -> MusicState:
        if callable(self._state):
            return self._state(t)
        if t < len(self._state):
            return self._state.frame(t)
        return MusicState.silence(1, self.cfg.fps, start_time=t / self.cfg.fps)

    def step(self, feature_t: torch.Tensor, state: dict) -> tuple[dict[str, np.ndarray], dict]:
        one = self.frame_state(state["t"])
        return {f: getattr(one, f) for f in FIELD_NAMES if f != "time"}, {"t": state["t"] + 1}


CHORD_HOLD_S = 0.1  # a new chord colours the looks once the hearing has named it this long


class ChordHold:
    """Holds the chord the looks colour by until a new one has been heard for `CHORD_HOLD_S`.

    An estimate that wavers between two chords frame by frame would flash the whole picture
    between two palettes (and read as motion); a held chord changes colour once, 0.1 s late at
    worst. The frame's own state (HUD, OSC) keeps the raw estimate.
    """

    def __init__(self, fps: float) -> None:
        self.frames = max(1, int(round(CHORD_HOLD_S * fps)))
        self.reset()

    def reset(self) -> None:
        self.held: tuple[float, float] | None = None
        self.candidate: tuple[float, float] | None = None
        self.count = 0

    def apply(self, state: MusicState) -> MusicState:
        chord = (float(np.rint(state.chord_root[0])), float(np.rint(state.chord_quality[0])))
        if self.held is None:
            self.held = chord
        elif chord != self.held:
            self.count = self.count + 1 if chord == self.candidate else 1
            self.candidate = chord
            if self.count >= self.frames:
                self.held, self.count = chord, 0
        else:
            self.count = 0
        if chord == self.held:
            return state
        held = MusicState(**state.__dict__)
        held.chord_root = np.full(1, self.held[0], np.float32)
        held.chord_quality = np.full(1, self.held[1], np.float32)
        return held


class BeatTracker:
    """Causal kick detector over feature rows; deterministic, a few numpy ops per frame."""

    def __init__(self, fps: float) -> None:
        self.refractory = max(1, int(round(REFRACTORY_S * fps)))
        self.decay = 0.5 ** (1.0 / (0.5 * fps))  # half-life of the running average: 0.5 s
        self.reset()

    def reset(self) -> None:
        self.previous: np.ndarray | None = None
        self.average = 0.0
        self.since = 10**9

    def update(self, low_mel: np.ndarray) -> tuple[bool, float]:
        """low_mel: the scaled log-mel of the lowest bands for one frame. Returns (beat, kick)."""
        raw = low_mel * MEL_SCALE  # back to natural-log units (the centre cancels in a difference)
        kick = 0.0 if self.previous is None else float(np.clip(raw - self.previous, 0.0, None).mean())
        self.previous = raw
        self.since += 1
        beat = kick >= KICK_MIN and kick >= KICK_RATIO * self.average and self.since >= self.refractory
        if beat:
            self.since = 0
        self.average = self.average * self.decay + kick * (1.0 - self.decay)
        return beat, kick


@dataclass
class Frame:
    image: np.ndarray | None  # (H, W, 3) uint8 after post effects; None when the frame was not drawn
    index: int  # frame index since the performer started (frame t stands for (t + 1) / fps)
    capture_time: float | None  # perf_counter time of the newest audio sample that fed it
    state: MusicState  # the music state of this frame (length 1)
    beat: bool  # a strong low-end onset (kick) landed on this frame: strobe and beat-cut fire on it
    level: float  # RMS feature of the newest hop (roughly 0 = quiet .. 1.5 = loud)

    @property
    def music_state(self) -> MusicState:
        """The frame's music state (the name the OSC sender reads)."""
        return self.state


def _as_numpy(v) -> np.ndarray:
    if hasattr(v, "detach"):
        v = v.detach().float().cpu().numpy()
    return np.asarray(v, dtype=np.float32)


def _fields_to_state(fields: dict, first: int, k: int, fps: float) -> MusicState:
    """The k-frame MusicState of frames first .. first + k - 1 from a hearing's fields for them
    (tensors or arrays, (k, ...) each); frame t stands for (t + 1) / fps."""
    arrays = {}
    for name, v in fields.items():
        cols = SPEC[name].columns if name in SPEC else None
        arrays[name] = _as_numpy(v).reshape((k,) if cols is None else (k, len(cols)))
    time = (np.arange(first + 1, first + k + 1, dtype=np.float64) / fps).astype(np.float32)
    return MusicState.from_arrays(arrays, time=time)


class Performer:
    """Audio chunks in, finished frames (and their music state) out, for one hearing on one device."""

    def __init__(self, hearing, device: str | torch.device = "cpu",
                 render_size: tuple[int, int] | None = None, looks: Sequence[str] | None = None,
                 mixer: LookMixer | None = None) -> None:
        cfg = hearing.cfg
        self.hearing = hearing.to(device).eval() if isinstance(hearing, torch.nn.Module) else hearing
        self.device = torch.device(device)
        self.cfg = cfg
        self.sample_rate = int(cfg.sample_rate)
        self.fps = int(cfg.fps)
        self.render_size: tuple[int, int] = tuple(render_size) if render_size is not None else DEFAULT_RENDER_SIZE
        self.features = StreamingFeatures.for_model(cfg, self.device)
        self.hop = self.features.hop
        self.n_mels = int(cfg.n_mels)
        self.mixer = mixer or LookMixer(looks or usable_looks(cfg), device=self.device)
        self.styles: tuple[str, ...] = self.mixer.names  # the morph's looks, in crossfader order
        self.effects = PostEffects(self.fps)
        self.beats = BeatTracker(self.fps)
        self.chord = ChordHold(self.fps)
        # The hits the looks move on and OSC sends: the checkpoint's calibrated thresholds.
        self.detector = detector_config(cfg)
        self.steady = SteadyState(self.fps, self.detector)
        self.reset()

    def new_controls(self, **values: float) -> ControlState:
        """A ControlState with one morph weight per look."""
        return ControlState(len(self.styles), values or None)

    def set_render_size(self, size: tuple[int, int]) -> None:
        """Draw the next frames at (h, w); trails and freeze restart at the new size."""
        self.render_size = (int(size[0]), int(size[1]))

    def reset(self) -> None:
        """Start a new stream: silence before it, fresh hearing, looks and effect state."""
        self.features.reset()
        self.effects.reset()
        self.beats.reset()
        self.chord.reset()
        self.steady.reset()
        self.mixer.reset()
        with torch.inference_mode():
            self.state = self.hearing.init_state(1, self.device)
        self.frames_done = 0
        self.samples_in = 0

    @torch.inference_mode()
    def process(self, audio_chunk: np.ndarray | Sequence[float], controls: ControlState,
                newest_capture_time: float | None = None,
                draw: bool | str | Callable[[int], bool] = True) -> list[Frame]:
        """Push audio (n,) at the hearing's rate; return the frames this chunk completed (0, 1 or more).

        Control smoothing advances one frame per returned frame. `newest_capture_time` is the
        capture time of the chunk's last sample; each frame gets the time of its own newest sample.
        `draw`: True draws every frame; "last" only the newest of the chunk (a live loop that fell
        behind shows only that one); a function frame index -> bool picks frames (a render at a
        lower frame rate). Undrawn frames have `image=None`.
        """
        chunk = np.asarray(audio_chunk, dtype=np.float32).reshape(-1)
        self.samples_in += chunk.size
        feats = self.features.push(torch.from_numpy(chunk))  # (k, F) on device
        k = feats.shape[0]
        if k == 0:
            return []
        rows = feats[:, : self.n_mels + 2].float().cpu().numpy()  # (k, n_mels + 2): low bands, flux, RMS
        heard = _fields_to_state(self._hear(feats), self.frames_done, k, self.fps)  # the chunk's k frames
        dt = 1.0 / self.fps
        h, w = self.render_size
        frames: list[Frame] = []
        for i in range(k):
            controls.step(dt)
            index = self.frames_done
            self.frames_done += 1
            state = heard.slice(i, i + 1)
            beat, _ = self.beats.update(rows[i, :KICK_BANDS])
            # Every frame, drawn or not: the chord hold and the steadied state keep time.
            drawn_state = self.steady.apply(self.chord.apply(state))
            if callable(draw):
                wanted = bool(draw(index))
            else:
                wanted = i == k - 1 if draw == "last" else bool(draw)
            image = None
            if wanted:
                picture = self.mixer.draw(drawn_state, controls.style_weights, h, w, controls.value["reactivity"],
                                          feats[i : i + 1])
                image = to_uint8(self.effects.apply(picture, controls.effects(), beat))
            else:
                self.effects.advance(controls.effects(), beat)
            capture = None
            if newest_capture_time is not None:
                after = self.samples_in - (index + 1) * self.hop  # samples newer than this frame's last
                capture = newest_capture_time - after / self.sample_rate
            frames.append(Frame(image, index, capture, state, bool(beat), float(rows[i, self.n_mels + 1])))
        return frames

    def _hear(self, feats: torch.Tensor) -> dict:
        """The hearing's fields for the chunk's k feature rows (k, F): {field: (k, ...)}. A model
        with `step_chunk` hears them in one forward with its state carried (a render's chunk of 30
        frames: one network call instead of 30, the same fields to float rounding); else `step`
        frame by frame."""
        k = feats.shape[0]
        if k > 1 and hasattr(self.hearing, "step_chunk"):
            fields, self.state = self.hearing.step_chunk(feats[None], self.state)
            return {name: v[0] for name, v in fields.items()}
        per_frame = []
        for i in range(k):
            fields, self.state = self.hearing.step(feats[i : i + 1], self.state)
            per_frame.append(fields)
        return {name: np.concatenate([_as_numpy(f[name]) for f in per_frame]) for name in per_frame[0]}


def usable_looks(cfg) -> tuple[str, ...]:
    """The looks a performer can morph across with this front end: every registered look, less the
    neural look when its pixel model is missing or was trained on other features."""
    from synesthete.looks.neural import NeuralLook, neural_checkpoint

    names = look_names()
    if "neural" in names:
        ok = neural_checkpoint().is_file()
        if ok:
            try:
                ok = NeuralLook.fits(neural_checkpoint(), cfg)
            except Exception:  # an unreadable checkpoint: the morph goes without it
                ok = False
        if not ok:
            names = tuple(n for n in names if n != "neural")
    return names


def load_hearing(checkpoint: str | None, device: str | torch.device = "cpu"):
    """(hearing model, label) from a checkpoint (None: the shipped default.pt). A checkpoint of
    another kind (the pixel network: it plays as the `neural` look) raises `CheckpointError`."""
    from synesthete.checkpoint import load_model, resolve_checkpoint

    path = resolve_checkpoint(checkpoint, "hearing")
    return load_model(path, device, kind="hearing"), path.name


def render_clip(performer: Performer, audio: np.ndarray, controls: ControlState,
                events: Iterable[tuple[int, dict]] = ()) -> np.ndarray:
    """Render a whole clip hop by hop, applying each (frame_index, control event) before that frame.

    Returns (T, H, W, 3) uint8 with T = len(audio) // hop: the frames the live window would
    have shown for this audio and these control events (as logged in a session log).
    """
    pending = sorted(events, key=lambda e: e[0])
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    hop = performer.hop
    out: list[np.ndarray] = []
    j = 0
    for start in range(0, (len(audio) // hop) * hop, hop):
        while j < len(pending) and pending[j][0] <= performer.frames_done:
            controls.apply(pending[j][1])
            j += 1
        out.extend(f.image for f in performer.process(audio[start : start + hop], controls))
    if not out:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8)
    return np.stack(out)
