"""The one streaming path from audio to finished frames, shared by the live window and offline render.

    performer = Performer(model, device="cpu")
    controls = ControlState(len(model.cfg.styles))
    for chunk, t_capture in source:                       # any chunk size, at model.cfg.sample_rate
        for frame in performer.process(chunk, controls, t_capture):
            show(frame.image)                             # (H, W, 3) uint8 after post effects

Inside: causal `StreamingFeatures` -> `model.step` once per hop -> beat tracking on the features ->
`PostEffects`. The control state's smoothing advances by one model frame per step (never by the
wall clock), so the frames depend only on the audio samples and on the model-frame index at which
each control event was applied: `render_clip` replays a clip with such events and gives what the
live window showed (to float tolerance).

Each `Frame` knows the capture time of the newest audio sample that fed it, so the live loop can
measure audio->frame latency instead of guessing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

from synesthete.controls import ControlState
from synesthete.features import MEL_SCALE, StreamingFeatures
from synesthete.post_effects import PostEffects, to_uint8

# Beat tracking on the features: the kick strength is the mean rise of the lowest mel bands
# (natural-log power units), compared with its own slow average.
KICK_BANDS = 6
KICK_MIN = 1.5  # absolute floor (log-power units): a kick rises ~3-5, noise in these narrow bands ~1
KICK_RATIO = 2.0  # ... and a beat must stand this far above the recent average
REFRACTORY_S = 0.12  # at most ~8 beats per second (16th notes at 120 BPM pass, rolls do not)


@dataclass
class Frame:
    image: np.ndarray  # (H, W, 3) uint8, after post effects
    index: int  # model frame index since the performer started (frame t stands for (t + 1) / fps)
    capture_time: float | None  # perf_counter time of the newest audio sample that fed it
    beat: bool  # a strong low-end onset (kick) landed on this frame
    kick: float  # kick strength (mean positive low-band log-mel rise)
    onset: float  # full-band spectral flux feature (onset strength)
    level: float  # RMS feature of the newest hop (roughly 0 = quiet .. 1.5 = loud)


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


class Performer:
    """Audio chunks in, finished frames out, for one model on one device."""

    def __init__(self, model: torch.nn.Module, device: str | torch.device = "cpu",
                 render_size: tuple[int, int] | None = None) -> None:
        cfg = model.cfg
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.cfg = cfg
        self.sample_rate = int(cfg.sample_rate)
        self.fps = int(cfg.fps)
        self.styles: tuple[str, ...] = tuple(cfg.styles)
        self.render_size = tuple(render_size) if render_size is not None else None
        self.features = StreamingFeatures.for_model(cfg, self.device)
        self.hop = self.features.hop
        self.n_mels = int(cfg.n_mels)
        self.effects = PostEffects(self.fps)
        self.beats = BeatTracker(self.fps)
        n_controls = len(self.styles) + int(getattr(cfg, "n_controls", 1))
        self._control = torch.zeros(1, n_controls, device=self.device)  # (1, C), refilled per frame
        self.reset()

    def new_controls(self, **values: float) -> ControlState:
        """A ControlState sized for this model's styles."""
        return ControlState(len(self.styles), values or None)

    def reset(self) -> None:
        """Start a new stream: silence before it, fresh model state and effect state."""
        self.features.reset()
        self.effects.reset()
        self.beats.reset()
        with torch.inference_mode():
            self.state = self.model.init_state(1, self.device)
        self.frames_done = 0
        self.samples_in = 0

    @torch.inference_mode()
    def process(self, audio_chunk: np.ndarray | Sequence[float], controls: ControlState,
                newest_capture_time: float | None = None) -> list[Frame]:
        """Push audio (n,) at the model's rate; return the frames this chunk completed (0, 1 or more).

        Control smoothing advances one model frame per returned frame. `newest_capture_time` is
        the capture time of the chunk's last sample; each frame gets the time of its own newest
        sample (earlier by the samples that came after it).
        """
        chunk = np.asarray(audio_chunk, dtype=np.float32).reshape(-1)
        self.samples_in += chunk.size
        feats = self.features.push(torch.from_numpy(chunk))  # (k, F) on device
        k = feats.shape[0]
        if k == 0:
            return []
        rows = feats[:, : self.n_mels + 2].float().cpu().numpy()  # (k, F) for beat tracking and meters
        dt = 1.0 / self.fps
        frames: list[Frame] = []
        for i in range(k):
            controls.step(dt)
            self._control.copy_(torch.from_numpy(controls.model_controls()).unsqueeze(0))
            image, self.state = self.model.step(feats[i : i + 1], self._control, self.state, size=self.render_size)
            beat, kick = self.beats.update(rows[i, :KICK_BANDS])
            out = self.effects.apply(image[0].float(), controls.effects(), beat)
            index = self.frames_done
            self.frames_done += 1
            capture = None
            if newest_capture_time is not None:
                after = self.samples_in - (index + 1) * self.hop  # samples newer than this frame's last
                capture = newest_capture_time - after / self.sample_rate
            frames.append(Frame(to_uint8(out), index, capture, beat, kick,
                                float(rows[i, self.n_mels]), float(rows[i, self.n_mels + 1])))
        return frames


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
