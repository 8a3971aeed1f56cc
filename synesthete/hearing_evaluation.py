"""Hearing figures of a checkpoint, next to DSP baselines, on two kinds of music.

The library behind `synesthete-eval --hearing` (synesthete.eval_cli):

* procedural: held-out songs of the engine (seeds HELD_OUT_SEED_BASE and up, never drawn by
  training), played through `MicAugment` as from a room mic (each seed's own augmentation, so the
  same seed is the same test every time). The score is the truth, every field of it.
* dev set: excerpts of human-written MIDI music rendered by scripts/make_dev_set.py, with beats,
  downbeats and drum onsets read from the MIDI (docs/evaluation.md). No chord or energy truth.

The model is heard exactly as live (`synesthete.analysis.hear`: streaming features, one `step` per
frame) and its events come from the live `EventDetector`. Baselines (`synesthete.metrics.baselines`)
hear the same audio. Figures are mir_eval's (`synesthete.metrics.hearing`), on events after
`min_time` seconds (a causal tracker needs a few seconds to lock; so does aubio).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from synesthete.constants import HELD_OUT_SEED_BASE, STEMS
from synesthete.music_events import DetectorConfig, Events, detect_events, detector_config
from synesthete.music_state import MusicState
from synesthete.metrics.baselines import BANDS
from synesthete.metrics.hearing import hearing_scores, score_events

MIN_TIME_S = 4.0
# The columns of the hearing table, in order (a row lacks the ones it cannot estimate).
COLUMNS = ("beat_f", "downbeat_f", "onset_f/kick", "onset_f/snare", "onset_f/hat_closed", "onset_f/bass",
           "chord_root_acc", "energy_r")
MODEL_ROW = "model"


@dataclass
class HearingItem:
    source: str  # "seed 10000 (mic)" or the dev-set excerpt's name
    audio: np.ndarray  # (S,) mono float32 at the model's rate
    truth: Events
    truth_state: MusicState | None  # the score's state (procedural items only)


def procedural_items(cfg, seeds: list[int], duration: float, augment: bool = True) -> list[HearingItem]:
    """Held-out songs at the model's rate, as from a room mic (`augment`), with the score's truth."""
    from synesthete.audio.augment import MicAugment
    from synesthete.audio.engine import render_clip

    hop = cfg.sample_rate // cfg.fps
    n = max(2, int(round(duration * cfg.fps)))
    mic = MicAugment(cfg.sample_rate)
    items = []
    for seed in seeds:
        clip = render_clip(seed, n * hop / cfg.sample_rate, sample_rate=cfg.sample_rate)
        mono = clip.audio if clip.audio.ndim == 1 else clip.audio.mean(axis=0)
        audio = np.zeros(n * hop, np.float32)
        audio[: min(mono.shape[-1], n * hop)] = mono[: n * hop]
        if augment:
            audio = mic(audio, np.random.default_rng(seed))
        score = clip.score
        items.append(HearingItem(f"seed {seed}{' (mic)' if augment else ''}", audio,
                                 score_events(score.beat_times, score.downbeat_times, score.onsets),
                                 score.music_state(cfg.fps, n)))
    return items


def dev_set_items(folder: Path, sample_rate: int) -> list[HearingItem]:
    """The excerpts listed in FOLDER/index.json (scripts/make_dev_set.py), at the model's rate."""
    from synesthete.audio_file import read_model_audio

    index = Path(folder) / "index.json"
    if not index.is_file():
        raise ValueError(f"{folder}: no index.json; build the dev set with scripts/make_dev_set.py --out {folder}")
    items = []
    for entry in json.loads(index.read_text())["excerpts"]:
        meta = json.loads((Path(folder) / f"{entry['name']}.json").read_text())
        audio = read_model_audio(Path(folder) / meta["audio"], sample_rate)
        onsets = {s: (np.asarray(t, np.float64), np.ones(len(t))) for s, t in meta["onsets"].items() if s in STEMS}
        items.append(HearingItem(meta["name"], audio, score_events(meta["beats"], meta["downbeats"], onsets), None))
    return items


def midi_pool_items(folder: str | Path, sample_rate: int, duration: float) -> list[HearingItem]:
    """One excerpt of `duration` s per piece of a MIDI pool (synesthete.data.midi_pool), from its
    first note, at the pool's rate (the model's), with the piece's truth: the beats, bars and the
    stems its file names (a stem it does not name has no hits here, and so no F)."""
    from synesthete.data.midi_pool import MidiPool

    pool = MidiPool(folder, sample_rate)
    n = int(round(duration * sample_rate))
    items = []
    for piece in pool.pieces:
        audio = np.zeros(n, np.float32)
        clip = np.asarray(piece.audio[piece.first_sample: piece.first_sample + n], np.float32) / 32768.0
        audio[: clip.shape[0]] = clip
        t0, end = piece.first_sample / sample_rate, clip.shape[0] / sample_rate
        score = piece.score  # the piece's truth (synesthete.data.midi_pool.piece_score), in its own time

        def inside(times: np.ndarray, *more: np.ndarray) -> tuple[np.ndarray, ...]:
            """The excerpt's events: times moved to its start, with their companions (velocities)."""
            t = times - t0
            keep = (t >= 0) & (t < end)
            return (t[keep], *(m[keep] for m in more))

        onsets = {stem: inside(*score.onsets[stem]) for stem in STEMS}
        items.append(HearingItem(piece.name, audio, score_events(*inside(score.beat_times),
                                                                 *inside(score.downbeat_times), onsets), None))
    return items


def _model_scores(model, item: HearingItem, device, config: DetectorConfig | None, min_time: float) -> dict[str, float]:
    from synesthete.analysis import hear

    state = hear(model, item.audio, device)
    est = detect_events(state, model.cfg.fps, config or detector_config(model.cfg))
    truth_state = item.truth_state.slice(0, len(state)) if item.truth_state is not None else None
    return hearing_scores(item.truth, est, truth_state, state if truth_state is not None else None, min_time)


def evaluate_hearing(model, items: list[HearingItem], device: str | torch.device = "cpu",
                     baselines: bool = True, min_time: float = MIN_TIME_S, config: DetectorConfig | None = None,
                     log: Callable[[str], None] | None = None) -> dict[str, list[dict[str, float]]]:
    """Per-item figures for the model (and each baseline), {row: [figures per item]}."""
    rows: dict[str, list[dict[str, float]]] = {MODEL_ROW: []}
    extra = {}
    if baselines:
        from synesthete.metrics.baselines import BASELINES

        extra = BASELINES
        rows.update({name: [] for name in extra})
    for k, item in enumerate(items, start=1):
        if log is not None:
            log(f"[{k}/{len(items)}] {item.source}")
        rows[MODEL_ROW].append(_model_scores(model, item, device, config, min_time))
        for name, run in extra.items():
            rows[name].append(hearing_scores(item.truth, run(item.audio, model.cfg.sample_rate), min_time=min_time))
    return rows


def summarize(rows: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean over items of each column a row estimates (a baseline: beats and its band onsets), NaN-aware:
    an item without that truth is skipped."""
    table = {}
    for row, per_item in rows.items():
        figs = {}
        for c in COLUMNS:
            vals = [p[c] for p in per_item if c in p and not math.isnan(p[c])]
            if vals and (row == MODEL_ROW or c == "beat_f" or c.removeprefix("onset_f/") in BANDS):
                figs[c] = float(np.mean(vals))
        figs["items"] = float(len(per_item))
        table[row] = figs
    return table


def format_hearing_table(title: str, table: dict[str, dict[str, float]]) -> str:
    short = [c.replace("onset_f/", "") for c in COLUMNS]
    lines = [title, f"{'':<18}" + "".join(f"{c:>15}" for c in short)]
    for row, figs in table.items():
        cells = "".join(f"{f'{figs[c]:.3f}' if c in figs else '-':>15}" for c in COLUMNS)
        lines.append(f"{row:<18}{cells}")
    return "\n".join(lines)


def default_seeds(n: int) -> list[int]:
    return [HELD_OUT_SEED_BASE + i for i in range(n)]
