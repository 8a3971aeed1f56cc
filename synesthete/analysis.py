"""What the hearing model heard in an audio file: its music state frame by frame, and the events.

The library behind `synesthete-analyze` (synesthete.analyze_cli) and the hearing evaluation. The
file is decoded in windows and resampled to the model's rate (`synesthete.audio_file`), pushed
through the streaming feature extractor, and the model steps once per frame, exactly as in a live
show: `hear_stream` is the live path, run faster than real time. Events come from the same
`EventDetector` a live show runs (`synesthete.music_events`), so every time in the export is the
instant the model first knew, never a look-back.

`analysis_report` is the JSON `synesthete-analyze` writes:

    {"fps", "duration_s", "tempo_bpm", "beats", "downbeats", "onsets": {stem: [...] for every stem},
     "chords": [{"start", "end", "root", "quality"}], "frames": {field: per-frame values},
     + "checkpoint", "beat_numbers", "hits": {stem: velocities}, "tempo_changes"}
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import torch

from synesthete.constants import STEMS
from synesthete.music_events import DetectorConfig, Events, detect_events, detector_config
from synesthete.music_state import FIELD_NAMES, MusicState


def _frames_of(model, chunks: Iterable[np.ndarray], device: torch.device | str) -> Iterator[dict[str, torch.Tensor]]:
    """Mono chunks at the model rate -> the model's fields, one frame at a time (batch 1)."""
    from synesthete.features import StreamingFeatures

    features = StreamingFeatures.for_model(model.cfg, device)
    state = model.init_state(1, device)
    for chunk in chunks:
        feats = features.push(torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.float32)))  # (k, F)
        for t in range(feats.shape[0]):
            fields, state = model.step(feats[t : t + 1], state)
            yield fields


@torch.inference_mode()
def hear_stream(model, chunks: Iterable[np.ndarray], device: torch.device | str = "cpu",
                total_frames: int | None = None, progress: bool = False) -> MusicState:
    """The model's music state for audio given as mono float32 chunks at the model's rate, stepped
    frame by frame (the live path). Only whole frames count: a last partial hop is not heard.
    `progress` draws a tqdm bar on stderr (frames)."""
    was_training = model.training
    model.eval()
    columns: dict[str, list[np.ndarray]] = {f: [] for f in FIELD_NAMES if f != "time"}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total_frames, unit="frame", file=sys.stderr, desc="hearing", leave=False,
                   mininterval=0.5)
    try:
        for fields in _frames_of(model, chunks, device):
            for name, v in fields.items():
                columns[name].append(v[0].float().cpu().numpy())
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        model.train(was_training)
    n = len(columns["beat_phase"])
    fps = model.cfg.fps
    if n == 0:
        return MusicState.silence(0, fps)
    time = (np.arange(n, dtype=np.float64) + 1.0) / fps
    return MusicState.from_arrays({k: np.stack(v) for k, v in columns.items()}, time=time)


def hear(model, audio: np.ndarray, device: torch.device | str = "cpu", progress: bool = False) -> MusicState:
    """`hear_stream` on a mono clip (S,) already at the model's rate, fed in one-second blocks."""
    rate = model.cfg.sample_rate
    audio = np.asarray(audio, np.float32)
    blocks = (audio[i : i + rate] for i in range(0, audio.shape[0], rate))
    return hear_stream(model, blocks, device, total_frames=audio.shape[0] // (rate // model.cfg.fps), progress=progress)


def hear_file(model, path: str | Path, device: torch.device | str = "cpu", progress: bool = False) -> MusicState:
    """Decode `path` (anything FFmpeg reads) in windows and hear it. AudioFileError (a ValueError
    naming the file) for a missing, unreadable or empty file."""
    from synesthete.audio_file import AudioFile, AudioFileError, model_audio

    file = AudioFile(path)
    total = int(file.duration_s * model.cfg.fps) if file.duration_s else None
    state = hear_stream(model, model_audio(file.chunks(), file.sample_rate, model.cfg.sample_rate), device,
                        total_frames=total, progress=progress)
    if len(state) == 0:
        raise AudioFileError(f"{path}: the audio is shorter than one frame (1/{model.cfg.fps} s): nothing to hear")
    return state


def _rounded(x: Iterable[float], nd: int = 4) -> list[float]:
    return [round(float(v), nd) for v in x]


def analysis_report(state: MusicState, events: Events, fps: float, checkpoint: str = "") -> dict[str, Any]:
    """The export: the keys the issue names (fps, duration_s, tempo_bpm, beats, downbeats, onsets
    for every stem, chords, frames) plus beat_numbers, hits (velocities), tempo_changes, checkpoint."""
    return {
        "fps": fps,
        "duration_s": round(len(state) / fps, 4),
        "tempo_bpm": events.tempo_bpm,
        "beats": _rounded(events.beats),
        "downbeats": _rounded(events.downbeats),
        "onsets": {s: _rounded(events.onsets[s][0]) for s in STEMS},
        "chords": events.chord_dicts(),
        "frames": state.to_dict(),
        "beat_numbers": [int(n) for n in events.beat_numbers],
        "hits": {s: _rounded(events.onsets[s][1], 3) for s in STEMS},
        "tempo_changes": [[round(t, 4), b] for t, b in events.tempo_changes],
        "checkpoint": checkpoint,
    }


def analyze_file(path: str | Path, checkpoint: str | Path | None = None, device: str | torch.device = "cpu",
                 progress: bool = False, config: DetectorConfig | None = None) -> dict[str, Any]:
    """Run the shipped (or named) hearing model over a file; return `analysis_report`'s dict."""
    from synesthete.checkpoint import load_model, resolve_checkpoint

    ckpt = resolve_checkpoint(checkpoint, "hearing")
    model = load_model(ckpt, device=device, kind="hearing")
    state = hear_file(model, path, device, progress)
    fps = model.cfg.fps
    return analysis_report(state, detect_events(state, fps, config or detector_config(model.cfg)), fps, str(ckpt))
