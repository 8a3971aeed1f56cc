"""Training the hearing model: procedural clips in, every music state field's loss against the score.

One step: a batch of clips from `HearingClips` (data workers render the music, run MicAugment and
compute the causal features), `HearingModel.forward` over the whole clip, and one loss per head
against the score's exact `MusicState` (`hearing_losses`), weighted by the preset's `[loss]`:

| head | loss |
|---|---|
| onset | BCE on the exact frame, negatives within +-1 frame of a hit not penalised (the tolerance), positives weighted by loss.onset_pos_weight |
| env | MSE of sigmoid(head) against the envelope |
| beat, downbeat | BCE of the activation (a beat / a downbeat falls on this frame) against the score's beat / downbeat frames, with the onsets' +-1 frame tolerance, positives weighted by loss.beat_pos_weight (with loss.beat_late_frames = 1 met on the beat's frame or the next); with loss.beat_offbeat = w the frames around each midpoint between two beats are negatives of weight w (`offbeat_weights`; loss.downbeat_offbeat: the non-downbeat beats for the downbeat head); loss.beat_warmup_s leaves each crop's first seconds out of both. With model.downbeat_head = "next_beat" the downbeat head's is a plain BCE on every frame against whether the beat now due is the bar's first (`next_beat_is_first`) |
| tempo | MSE of the head against ln(bpm / 120) (an auxiliary: the tempo field is the tracker's) |
| chord_root, chord_quality | cross-entropy |
| energy, melody, bass | MSE of sigmoid(head) |
| confidence | BCE of each group's head against how right that group's heads are on this frame (detached); not beat and bar, whose confidence is the tracker's |
| phase | with model.phase_head: MSE of (sin, cos) of the beat phase and of the bar phase against the score's, on every frame (`phase_regression_loss`); clips that know no beat or bar leave theirs out; `phase_midi` weighs the MIDI crops' part |
| stem_share | with model.stem_share_bands > 0: KL divergence of the head's softmax over the stems from the dry stems' share of each band group's power (synesthete.data.stem_share), weighted by how loud the group is; MIDI pool crops weigh 0 |

No pixels are decoded, so a step is cheap: the budget goes to longer clips (the bar needs seconds
of memory) and more music. Checkpoints hold the hearing model (kind "hearing") and the training
state; `--resume` continues exactly, as in the pixel trainer (trainer.py), whose scheduler, tracker
and weight average this reuses.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterator, Literal

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from synesthete.config import load_config, require, to_dict
from synesthete.constants import FPS, STEMS, VALIDATION_SEED_BASE
from synesthete.data import HearingClips, HearingDataConfig
from synesthete.device import training_threads
from synesthete.features import FeatureExtractor
from synesthete.model import HearingConfig, build_hearing_model, outputs_to_fields
from synesthete.model.hearing import HEAD_CONFIDENCE_GROUPS, TEMPO_REF
from synesthete_train.config import OptimConfig, TrackingConfig, load_train_config, preset_task
from synesthete_train.tracking import Tracker
from synesthete_train.trainer import TrainerBase, phase_target, run_steps


@dataclass(frozen=True)
class HearingDataSettings:
    clip_seconds: float = 8.0  # rendered per item
    # Steps per rendered batch, each on a random `crop_seconds` window of it (0 = the whole clip).
    # Rendering, augmenting and the features of a clip cost ~5x the step that learns from it on
    # the CPU; a few crops of each keep the core that trains busy without the data worker.
    reuse: int = 1
    crop_seconds: float = 0.0
    seed: int = 0
    augment_prob: float = 0.8
    room_prob: float = 0.7
    # Of the augmented items, this share has crowd babble mixed in (MicAugment's own 0.25 by default:
    # the same stream as before the key). Babble alone costs the shipped model more beat and downbeat
    # F than any other augmentation (docs/evaluation.md).
    babble_prob: float = 0.25
    num_workers: int = 1
    # Leave the drum hits that the rest of the mix masks (best band onset_masked_db dB or more under
    # it in the 30 ms after the hit: ghost notes under the hats, a clap over a snare) out of the
    # onset loss: neither a hit to find nor a silence to keep (synesthete.audio.masking).
    onset_mask: bool = False
    onset_masked_db: float = -10.0
    # This share of each batch's clips are random crops of human-written MIDI pieces, pre-rendered
    # in the pool folder `midi_pool` (`synesthete-midi-pool` builds it; synesthete.data.midi_pool),
    # their chords, energy, melody and unnamed stems masked out of the losses (docs/training.md).
    # 0: procedural songs only (the shipped recipe: 0.15, an MMA pool).
    midi_share: float = 0.0
    midi_pool: str = "runs/midi_pool"
    # When > 0 and there is no pool at `midi_pool`, the trainer builds one before it starts: this
    # many drawn songs arranged by MMA's groove library (`synesthete-midi-pool --mma-songs N
    # --mma-only`: 240 take ~2.5 min on 2 cores; needs the mma and fluidsynth packages). 0: a
    # missing pool is one error line.
    midi_pool_mma_songs: int = 0
    # What that built pool is rendered with (synesthete_train.midi_pool.SOUNDS): "timgm6mb", every
    # song on TimGM6mb; "varied", each song on one of three GM soundfonts, half of them on an AVL
    # acoustic drum kit (`synesthete-midi-pool --sounds`). An existing pool is read as it is.
    midi_pool_sounds: str = "timgm6mb"
    # This share of the procedural songs play their drums on a recorded kit (one of the GM kits in
    # the bank file `drum_bank`, which `synesthete-drum-bank` renders from five soundfonts) instead of the
    # engine's synthesised drums (synesthete.audio.drum_kit; docs/training.md "Sampled drum kits").
    # 0: synthesised drums only.
    sampled_drums: float = 0.0
    drum_bank: str = "runs/drum_bank.npz"
    # This share of the procedural songs play free drum grooves (a kick on the bar's first beat, the
    # rest drawn from a wide space: composer._groove) instead of the engine's four drum styles
    # (docs/training.md "Free grooves"). 0: the four styles only.
    groove_share: float = 0.0

    def __post_init__(self) -> None:
        require(self.num_workers >= 0, "num_workers", ">= 0 (0 = make data in the training process)", self.num_workers)
        require(self.clip_seconds > 0, "clip_seconds", "> 0", self.clip_seconds)
        require(self.reuse >= 1, "reuse", ">= 1 (steps per rendered batch)", self.reuse)
        require(0 <= self.crop_seconds <= self.clip_seconds, "crop_seconds",
                f"in [0, clip_seconds = {self.clip_seconds}] (0 = the whole clip)", self.crop_seconds)
        require(0 <= self.augment_prob <= 1, "augment_prob", "in [0, 1]", self.augment_prob)
        require(0 <= self.room_prob <= 1, "room_prob", "in [0, 1]", self.room_prob)
        require(0 <= self.babble_prob <= 1, "babble_prob", "in [0, 1]", self.babble_prob)
        require(self.onset_masked_db < 0, "onset_masked_db", "< 0 (dB under the rest of the mix)", self.onset_masked_db)
        require(0 <= self.midi_share <= 1, "midi_share", "in [0, 1] (the share of each batch cropped from the MIDI pool)",
                self.midi_share)
        require(self.midi_pool_mma_songs >= 0, "midi_pool_mma_songs",
                ">= 0 (songs MMA arranges into a missing pool; 0 = a missing pool is an error)",
                self.midi_pool_mma_songs)
        from synesthete_train.midi_pool import SOUNDS

        require(self.midi_pool_sounds in SOUNDS, "midi_pool_sounds", " or ".join(SOUNDS), self.midi_pool_sounds)
        require(0 <= self.sampled_drums <= 1, "sampled_drums", "in [0, 1] (the share of songs on a recorded drum kit)",
                self.sampled_drums)
        require(0 <= self.groove_share <= 1, "groove_share", "in [0, 1] (the share of songs on free drum grooves)",
                self.groove_share)


@dataclass(frozen=True)
class HearingLossConfig:
    onset: float = 4.0
    onset_pos_weight: float = 4.0  # hits are ~5 % of frames: weigh a missed hit like a few false ones
    # Focal exponent gamma of the onset BCE (0 = plain BCE). The onset heads' false hits fall on
    # other stems' onsets (a kick head firing on hats and lead notes, docs/evaluation.md): the
    # silent frames are easy and outnumber them; (1 - p_t)^gamma turns the loss to the hard ones.
    onset_focal: float = 0.0
    # 1: a hit's positive is met when the head fires on its frame *or the next* (the larger logit
    # of the two takes the loss). Frame t's Hann-windowed STFT ends at t's instant and weighs its
    # newest samples least, so a hit late in the hop leaves little in its own frame and all in the
    # next; an exact-frame target then asks for a guess from faint evidence. 0 = the exact frame.
    onset_late_frames: int = 0
    # 1: the onset target itself moves one frame later (frame f + 1 for a hit in frame f; f and
    # f + 2 are then the tolerated neighbours). On its own frame a hit is hard to tell from other
    # stems' onsets (a classifier on two frames of features: kick vs other onsets AUC 0.74 clean,
    # snare 0.62), on the next one easy (0.98, 0.91): docs/training.md. Events then come 17-33 ms
    # after the hit, inside the +-50 ms window; 16.7 ms of latency traded for precision.
    onset_shift: int = 0
    env: float = 1.0
    beat: float = 1.0
    downbeat: float = 1.0
    beat_pos_weight: float = 4.0  # a beat is ~3 % of frames, a downbeat ~1 %
    # 1: the beat and (frame) downbeat heads' positive is met on the beat's frame *or the next*, as
    # onset_late_frames for the onsets: where the beat's hit is only told from the off-beat's one
    # frame later (a kick from a bass note: docs/training.md) the head may say so there; the
    # tracker's beat zone already spans the next frame at tempi under ~225 BPM. 0 = the exact frame.
    beat_late_frames: int = 0
    # w > 0: the frames within +-1 of each midpoint between two beats (the off-beat eighth) are
    # negatives of weight w in the beat loss (1 otherwise). The shipped head fires there at a
    # median 0.87 of its on-beat peak (an onset detector's answer: the eighths are loud too), so the
    # tracker cannot tell the tempo octave nor which phase is the beat (docs/evaluation.md). 0 = off.
    beat_offbeat: float = 0.0
    # w > 0: the same for the downbeat head (frame target): the beats that are not downbeats (+-1
    # frame) are negatives of weight w. 0 = off.
    downbeat_offbeat: float = 0.0
    # > 0: the beat and (frame) downbeat losses leave out each crop's first beat_warmup_s seconds.
    # Every crop starts the memory from nothing, and there no head can know where the beat is:
    # the loss that is optimal there is to fire on every loud onset, eighths included, the hedge
    # the shipped head shows on the songs it fails (docs/evaluation.md#why-the-slow-songs-double).
    # Tried at 2 s: validation beat F fell by 0.19, since a live stream has a start too and the
    # tracker locks there on what the head says (docs/training.md). 0 = every frame counts.
    beat_warmup_s: float = 0.0
    tempo: float = 0.2
    chord_root: float = 0.3
    chord_quality: float = 0.1
    energy: float = 0.5
    melody: float = 0.2
    bass: float = 0.2
    confidence: float = 0.05
    # The stem-share head's KL (model.stem_share_bands > 0; no head, no loss).
    stem_share: float = 1.0
    # The phase head's MSE (model.phase_head; no head, no loss).
    phase: float = 1.0
    # The phase MSE of a clip that does not know every field (a MIDI pool crop: human-written
    # grooves, no chords) counts this many times a procedural clip's, in a weighted mean (the loss's
    # scale stays; its share moves to the MIDI crops). The phase head is right on the engine's songs
    # and confidently wrong on the dev set's (docs/training.md); 1 = every clip alike.
    phase_midi: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            require(getattr(self, f.name) >= 0, f.name, ">= 0 (0 = off)", getattr(self, f.name))
        require(self.onset_late_frames in (0, 1), "onset_late_frames", "0 (the exact frame) or 1 (or the next)",
                self.onset_late_frames)
        require(self.beat_late_frames in (0, 1), "beat_late_frames", "0 (the exact frame) or 1 (or the next)",
                self.beat_late_frames)
        require(self.onset_shift in (0, 1), "onset_shift", "0 (the hit's frame) or 1 (the next frame)", self.onset_shift)


@dataclass(frozen=True)
class HearingEvalConfig:
    every: int = 0  # steps between evaluations (0 = only at the end)
    n_seeds: int = 4  # held-out procedural songs (0 = no evaluation)
    seed_base: int = VALIDATION_SEED_BASE  # apart from synesthete-eval's HELD_OUT_SEED_BASE songs
    clip_seconds: float = 12.0
    augment: bool = True  # room-mic augmented, as the live app hears them
    # At the end of training, each stem's onset threshold is chosen on this many validation songs
    # of 16 s (seeds seed_base + i, as above; never synesthete-eval's) by mir_eval onset F, and
    # stored in the checkpoint's model config (HearingConfig.onset_thresholds). 0 = off.
    calibrate_seeds: int = 16
    # > 0: ... and on a 16 s excerpt of each of this many MMA songs of a draw of their own
    # (synesthete_train.midi_pool.MMA_CALIBRATION_DRAW: never trained on), built into
    # calibrate_midi_pool first if it is not there (~2 s a song; needs `mma`, as data.midi_pool).
    # A threshold then moves only where it surely gains on both kinds of music: the engine's songs
    # alone move the kick and snare where human-written songs lose (choose_thresholds). 0 = the
    # procedural songs alone.
    calibrate_midi_songs: int = 0
    calibrate_midi_pool: str = "runs/mma_calibration"

    def __post_init__(self) -> None:
        require(self.n_seeds >= 0, "n_seeds", ">= 0 (0 = no evaluation)", self.n_seeds)
        require(self.calibrate_seeds >= 0, "calibrate_seeds", ">= 0 (0 = no calibration)", self.calibrate_seeds)
        require(self.calibrate_midi_songs >= 0, "calibrate_midi_songs", ">= 0 (0 = procedural songs only)",
                self.calibrate_midi_songs)
        require(self.every >= 0, "every", ">= 0 (0 = only at the end)", self.every)
        require(self.clip_seconds > 0, "clip_seconds", "> 0", self.clip_seconds)


@dataclass(frozen=True)
class HearingTrainConfig:
    task: Literal["hearing"] = "hearing"
    model: HearingConfig = field(default_factory=HearingConfig)
    data: HearingDataSettings = field(default_factory=HearingDataSettings)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(batch_size=8, lr=3e-3))
    loss: HearingLossConfig = field(default_factory=HearingLossConfig)
    eval: HearingEvalConfig = field(default_factory=HearingEvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    max_steps: int = 2000
    max_minutes: float = 0.0
    checkpoint_every: int = 250
    out: str = "runs/hearing"
    device: str = "auto"
    seed: int = 0
    threads: int = 0

    def __post_init__(self) -> None:
        require(self.max_steps >= 1, "max_steps", ">= 1", self.max_steps)
        require(self.max_minutes >= 0, "max_minutes", ">= 0 (0 = no time limit)", self.max_minutes)
        require(self.checkpoint_every >= 0, "checkpoint_every", ">= 0 (0 = only at the end)", self.checkpoint_every)
        require(self.threads >= 0, "threads", ">= 0 (0 = automatic)", self.threads)
        hearing_data_config(self)


def hearing_data_config(cfg: HearingTrainConfig) -> HearingDataConfig:
    m, d = cfg.model, cfg.data
    return HearingDataConfig(sample_rate=m.sample_rate, fps=m.fps, clip_seconds=d.clip_seconds, seed=d.seed,
                             augment_prob=d.augment_prob, room_prob=d.room_prob, babble_prob=d.babble_prob,
                             onset_mask=d.onset_mask, onset_masked_db=d.onset_masked_db, midi_share=d.midi_share,
                             midi_pool=d.midi_pool, sampled_drums=d.sampled_drums, drum_bank=d.drum_bank,
                             groove_share=d.groove_share, stem_share_bands=m.stem_share_bands)


def load_hearing_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> HearingTrainConfig:
    return load_config(HearingTrainConfig, path, overrides)


def load_any_train_config(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()):
    """The config of whichever task the preset names: a `HearingTrainConfig` or a `TrainConfig`.

    Here rather than in config.py: this module imports config.py, so the other way round would
    be an import cycle (tests/core/test_import_structure.py)."""
    if preset_task(path, overrides) == "pixel":
        return load_train_config(path, overrides)
    return load_hearing_config(path, overrides)


# ==== losses =====================================================================================
def _within_one_frame(marks: torch.Tensor) -> torch.Tensor:
    """(B, T, S) in {0, 1} -> 1 on each marked frame and its two neighbours (the +-1 frame tolerance)."""
    return F.max_pool1d(marks.transpose(1, 2), 3, stride=1, padding=1).transpose(1, 2)


def tolerant_onset_loss(logits: torch.Tensor, hits: torch.Tensor, pos_weight: float,
                        focal: float = 0.0, late: int = 0, ignore: torch.Tensor | None = None,
                        neg_weight: torch.Tensor | None = None) -> torch.Tensor:
    """BCE of onset logits (B, T, S) against hits (B, T, S) in {0, 1}, with a +-1 frame tolerance:
    a frame next to a hit (and not one) is no negative, so firing a frame late is not punished;
    the target stays on the exact frame, so the head learns to fire on the frame it hears the hit.
    `focal` > 0 scales each frame's weight by (1 - p_t)^focal (focal loss), p_t the probability
    the head gives the right answer (detached: it weighs frames, it is no target), and divides by
    the scaled weights' sum, so the loss keeps its scale and the hard frames take the gradient.
    (Divided by the unscaled sum instead, the onset loss fell ~20x against the other heads and
    the onset heads learned nothing in 800 steps: docs/training.md.)
    `late` = 1: a positive's logit is the larger of its frame's and the next frame's (the next is
    already no negative), so the head may fire where the hit's audio is, a frame late at most.
    `ignore` (B, T, S) in {0, 1}: frames of hits that cannot be heard (masked); they and their
    +-1 frames count neither as hits nor as negatives.
    `neg_weight` (B, T, S): each negative's weight in place of 1 (the hits and their tolerated
    neighbours keep theirs): the hard negatives that must be told apart (`offbeat_weights`)."""
    logits = logits.float()
    if ignore is not None:
        hits = hits * (1.0 - ignore)
    if late:  # (B, T, S): frame t's logit as the positive's, max(t, t + 1) (the clip's last frame: itself)
        later = torch.cat([logits[:, 1:], logits[:, -1:]], dim=1)
        logits = torch.where(hits > 0, torch.maximum(logits, later), logits)
    near = _within_one_frame(hits)  # (B, T, S)
    weight = torch.where(hits > 0, torch.full_like(hits, pos_weight),
                         (1.0 - near) * (neg_weight if neg_weight is not None else 1.0))
    if ignore is not None:
        weight = weight * (1.0 - _within_one_frame(ignore))
    if focal > 0:
        p = torch.sigmoid(logits.detach())
        weight = weight * (hits * (1.0 - p) + (1.0 - hits) * p).pow(focal)
    loss = F.binary_cross_entropy_with_logits(logits, hits, weight=weight, reduction="sum")
    return loss / weight.sum().clamp_min(1e-6 if focal > 0 else 1.0)


def beat_frames(target: dict[str, torch.Tensor], fps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The score's beat and downbeat frames, (B, T) in {0, 1}: frame t holds a beat when its phase
    is less than one frame's worth past it (frame t covers the beat's instant; works on any crop,
    no previous frame needed). A downbeat is a beat early in the bar (bar phase < 1/8: beats 2..
    of a 4/4 or 3/4 bar lie at >= 1/4)."""
    per_frame = target["tempo"] / (60.0 * fps)  # beats per frame
    beat = (target["beat_phase"] < per_frame).float()
    return beat, beat * (target["bar_phase"] < 0.125).float()


def offbeat_weights(target: dict[str, torch.Tensor], fps: float, w_beat: float,
                    w_downbeat: float) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The negatives' weights (B, T, 1) of the beat and downbeat losses (`tolerant_onset_loss`'s
    neg_weight), None where the key is 0. Beat: w_beat on the frames within +-1 of each midpoint
    between consecutive beats (the frame whose beat phase is less than one frame's worth past 0.5,
    as `beat_frames` finds a beat: any crop, no previous frame needed), 1 elsewhere. Downbeat:
    w_downbeat on the beats that are not downbeats, +-1 frame (a downbeat's own +-1 frames stay
    the tolerance), 1 elsewhere."""
    beat_w = down_w = None
    if w_beat > 0:
        per_frame = target["tempo"] / (60.0 * fps)
        past_half = target["beat_phase"] - 0.5
        mid = ((past_half >= 0) & (past_half < per_frame)).float()
        beat_w = 1.0 + (w_beat - 1.0) * _within_one_frame(mid[..., None])
    if w_downbeat > 0:
        beats, downbeats = beat_frames(target, fps)
        other = _within_one_frame((beats - downbeats)[..., None])
        down_w = 1.0 + (w_downbeat - 1.0) * other
    return beat_w, down_w


def correctness(raw: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> torch.Tensor:
    """(B, T, groups) in [0, 1]: how right each of the confidence head's groups
    (HEAD_CONFIDENCE_GROUPS: not beat and bar, the tracker's) is on each frame (what the
    confidence head learns to predict; detached)."""
    with torch.no_grad():
        stems = ((torch.sigmoid(raw["env"]) - target["env"]).abs() < 0.1).float().mean(-1)
        chord = (raw["chord_root"].argmax(-1) == target["chord_root"].long()).float()
        energy = ((torch.sigmoid(raw["energy"]) - target["energy"]).abs() < 0.1).float()
        pitch = 0.5 * (((torch.sigmoid(raw["melody"]) - target["melody"]).abs() < 0.05).float()
                       + ((torch.sigmoid(raw["bass"]) - target["bass"]).abs() < 0.05).float())
        by_group = {"stems": stems, "chord": chord, "energy": energy, "pitch": pitch}
        return torch.stack([by_group[g] for g in HEAD_CONFIDENCE_GROUPS], dim=-1)


def next_beat_is_first(target: dict[str, torch.Tensor], fps: float) -> torch.Tensor:
    """(B, T) in {0, 1}: the beat now due (this frame's, else the next) is the bar's first: the
    downbeat frames and every frame after the start of a bar's last beat. The last beat of an
    m-beat bar is where 1 - bar phase < (1 - beat phase) / m; the threshold (10 - 7 x beat phase) / 24
    lies halfway between that bound for a 3/4 bar and the beat before it in a 4/4 bar, so no meter
    is needed and a drifting tempo's phases may wobble."""
    beats, downbeats = beat_frames(target, fps)
    last = (1.0 - target["bar_phase"]) < (10.0 - 7.0 * target["beat_phase"]) / 24.0
    return torch.where(beats > 0, downbeats, last.float())


def _later(x: torch.Tensor, frames: int, fill: float = 0.0) -> torch.Tensor:
    """(B, T, ...) -> the same, `frames` later along T: the first frames `fill`, the last ones dropped."""
    return torch.cat([torch.full_like(x[:, :frames], fill), x[:, : x.shape[1] - frames]], dim=1)


def _masked_mean(loss: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Mean of an elementwise loss (B, T, ...) over the kept clips' elements; keep: (B,) or
    (B, columns) of {0, 1}, or of weights >= 0 for a weighted mean (None: every element),
    broadcast over time. Nothing kept: 0."""
    if keep is None:
        return loss.mean() if loss.numel() else loss.sum()  # an empty loss (a warm-up longer than the crop): 0, not NaN
    keep = keep.reshape(keep.shape[0], 1, *keep.shape[1:]).expand_as(loss)
    return (loss * keep).sum() / keep.sum().clamp_min(1.0)


def _unknown_frames(keep: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    """A (B,) or (B, S) label mask -> `tolerant_onset_loss`'s ignore (B, T, S) like `like`: every
    frame of an unknown field is left out, as a masked hit's are."""
    if keep is None:
        return None
    return (1.0 - keep.reshape(keep.shape[0], 1, -1)).expand_as(like).contiguous()


def _either(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    """Two `tolerant_onset_loss` ignore masks (None: none left out) -> the frames either leaves out."""
    if a is None or b is None:
        return b if a is None else a
    return torch.maximum(a, b)


def hearing_losses(raw: dict[str, torch.Tensor], target: dict[str, torch.Tensor],
                   w: HearingLossConfig, fps: float = FPS, downbeat_head: str = "frame",
                   onset_ignore: torch.Tensor | None = None,
                   label_mask: torch.Tensor | None = None, beat_lag: int = 0,
                   stem_share: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """One loss per head (the table in the module docstring) and their weighted "total".
    raw: `HearingModel.forward`'s outputs; target: field name -> (B, T, ...) from the score at `fps`;
    downbeat_head: what the downbeat head says (`HearingConfig.downbeat_head`);
    onset_ignore (B, T, stems): masked hits' frames, left out of the onset loss (`tolerant_onset_loss`);
    label_mask (B, len(LABEL_COLUMNS)): which fields each clip knows (synesthete.data.labels; a MIDI
    piece knows no chords): each head's loss is taken over the clips that know its field only, the
    confidence group's over the clips that know every field of its group. None: all known;
    beat_lag (`HearingConfig.beat_lag`): the beat and downbeat targets (and their off-beat weights)
    this many frames after the score's beat, where the tracker expects the heads to say it;
    stem_share: (share (B, T, G, stems), weight (B, T, G)) from the data (`HearingClips`), the target
    of raw["stem_share"] when the model has that head (`stem_share_loss`)."""
    from synesthete.data.labels import field_mask, group_mask

    raw = {k: v.float() for k, v in raw.items()}
    keep = (lambda name: field_mask(label_mask, name)) if label_mask is not None else (lambda name: None)  # noqa: E731
    hits = (target["onset"] > 0).float()
    onset_ignore = _either(onset_ignore, _unknown_frames(keep("onset"), hits))
    if w.onset_shift:  # (B, T, S): each hit's target one frame later (a hit on the crop's last frame falls out)
        hits = _later(hits, 1)
        onset_ignore = _later(onset_ignore, 1) if onset_ignore is not None else None
    beats, downbeats = beat_frames(target, fps)
    beat_neg, downbeat_neg = offbeat_weights(target, fps, w.beat_offbeat, w.downbeat_offbeat)
    beat_ignore = _unknown_frames(keep("beat_phase"), beats[..., None])
    bar_ignore = _unknown_frames(keep("bar_phase"), downbeats[..., None])
    warmup = min(int(round(w.beat_warmup_s * fps)), beats.shape[1])
    if warmup:  # (B, T, 1): the crop's first frames count neither as beats nor as negatives
        early = torch.zeros_like(beats[..., None])
        early[:, :warmup] = 1.0
        beat_ignore, bar_ignore = _either(beat_ignore, early), _either(bar_ignore, early)
    if beat_lag:  # a beat on the crop's last frames falls out; the first frames say no beat
        beats, downbeats = _later(beats, beat_lag), _later(downbeats, beat_lag)
        beat_neg = _later(beat_neg, beat_lag, fill=1.0) if beat_neg is not None else None
        downbeat_neg = _later(downbeat_neg, beat_lag, fill=1.0) if downbeat_neg is not None else None
    if downbeat_head == "next_beat":  # a dense target, on every frame: plain BCE (the warm-up's frames left out)
        dense = F.binary_cross_entropy_with_logits(raw["downbeat"], next_beat_is_first(target, fps), reduction="none")
        downbeat_loss = _masked_mean(dense[:, warmup:], keep("bar_phase"))
    else:
        downbeat_loss = tolerant_onset_loss(raw["downbeat"][..., None], downbeats[..., None], w.beat_pos_weight,
                                            late=w.beat_late_frames, ignore=bar_ignore, neg_weight=downbeat_neg)
    groups = None if label_mask is None else torch.stack([group_mask(label_mask, g) for g in HEAD_CONFIDENCE_GROUPS], 1)
    mse = lambda head, name: _masked_mean(  # noqa: E731
        F.mse_loss(torch.sigmoid(raw[head]), target[name], reduction="none"), keep(name))
    losses = {
        "onset": tolerant_onset_loss(raw["onset"], hits, w.onset_pos_weight, w.onset_focal, w.onset_late_frames,
                                     onset_ignore),
        "env": mse("env", "env"),
        "beat": tolerant_onset_loss(raw["beat"][..., None], beats[..., None], w.beat_pos_weight,
                                    late=w.beat_late_frames, ignore=beat_ignore, neg_weight=beat_neg),
        "downbeat": downbeat_loss,
        "tempo": _masked_mean(F.mse_loss(raw["tempo"], torch.log(target["tempo"].clamp_min(1.0) / TEMPO_REF),
                                         reduction="none"), keep("tempo")),
        "chord_root": _masked_mean(F.cross_entropy(raw["chord_root"].transpose(1, 2), target["chord_root"].long(),
                                                   reduction="none"), keep("chord_root")),
        "chord_quality": _masked_mean(F.cross_entropy(raw["chord_quality"].transpose(1, 2),
                                                      target["chord_quality"].long(), reduction="none"),
                                      keep("chord_quality")),
        "energy": mse("energy", "energy"),
        "melody": mse("melody", "melody"),
        "bass": mse("bass", "bass"),
        "confidence": _masked_mean(F.binary_cross_entropy_with_logits(raw["confidence"], correctness(raw, target),
                                                                      reduction="none"), groups),
    }
    if "stem_share" in raw:
        if stem_share is None:
            raise ValueError("the model has a stem-share head (model.stem_share_bands) but the batch no stem_share target")
        losses["stem_share"] = stem_share_loss(raw["stem_share"], *stem_share)
    if "phase" in raw:
        beat_keep, bar_keep = keep("beat_phase"), keep("bar_phase")
        if label_mask is not None and w.phase_midi != 1.0:  # (B,) weights: the MIDI crops' count phase_midi times
            clip = 1.0 + (w.phase_midi - 1.0) * (label_mask.min(dim=1).values < 1.0).float()
            beat_keep, bar_keep = beat_keep * clip, bar_keep * clip
        losses["phase"] = (phase_regression_loss(raw["phase"][..., :2], target["beat_phase"], beat_keep)
                           + phase_regression_loss(raw["phase"][..., 2:], target["bar_phase"], bar_keep))
    losses["total"] = sum(getattr(w, k) * v for k, v in losses.items())
    return losses


def phase_regression_loss(head: torch.Tensor, phase: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """MSE of a (B, T, 2) head against (sin, cos) of 2 pi phase (B, T, in cycles), over the clips
    `keep` (B,) says know the phase (None: all; weights for a weighted mean): 0 where the head
    names the phase exactly."""
    return _masked_mean((head.float() - phase_target(phase)).square().sum(-1), keep)


def stem_share_loss(logits: torch.Tensor, share: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """KL(share || softmax(logits)) over the stems, (B, T, G, S) each, weighted by weight (B, T, G)
    and averaged over the weights (0 when nothing weighs): 0 where the head names every share exactly."""
    kl = (torch.xlogy(share, share) - share * F.log_softmax(logits, dim=-1)).sum(-1)  # (B, T, G)
    return (kl * weight).sum() / weight.sum().clamp_min(1e-6)


# ==== held-out figures ===========================================================================
@dataclass
class HeldOutSong:
    features: torch.Tensor  # (1, T, F)
    state: Any  # the score's MusicState


def make_held_out(cfg: HearingTrainConfig) -> list[HeldOutSong]:
    """Held-out procedural songs (seeds eval.seed_base + i, never drawn by the training stream),
    room-mic augmented when eval.augment, at the model's rates."""
    e = cfg.eval
    data = HearingClips(replace(hearing_data_config(cfg), clip_seconds=e.clip_seconds,
                                augment_prob=1.0 if e.augment else 0.0, seed=e.seed_base, midi_share=0.0),
                        features=FeatureExtractor.for_model(cfg.model))
    songs = []
    for i in range(e.n_seeds):
        item = data.make_item(i)
        from synesthete.music_state import MusicState

        n = item["features"].shape[0]
        t = (np.arange(n) + 1.0) / cfg.model.fps
        state = MusicState.from_arrays({k[len("state."):]: v for k, v in item.items() if k.startswith("state.")}, time=t)
        songs.append(HeldOutSong(item["features"][None], state))
    return songs


def _onset_f(pred: np.ndarray, truth: np.ndarray, tol: int = 3) -> float:
    """F-measure of onset frames: each predicted onset matches at most one true one within `tol` frames."""
    p, t = np.flatnonzero(pred), np.flatnonzero(truth)
    if len(p) == 0 and len(t) == 0:
        return float("nan")
    used, hit = set(), 0
    for x in p:
        near = [y for y in t if abs(int(y) - int(x)) <= tol and int(y) not in used]
        if near:
            used.add(int(min(near, key=lambda y: abs(int(y) - int(x)))))
            hit += 1
    prec = hit / max(1, len(p))
    rec = hit / max(1, len(t))
    return 2 * prec * rec / max(1e-9, prec + rec)


def quick_figures(model: torch.nn.Module, songs: list[HeldOutSong], device: torch.device) -> dict[str, float]:
    """Frame-level figures for progress reports (the mir_eval figures are synesthete-eval's):
    beat / bar phase within 0.1 cycle, chord root accuracy, onset F per stem (+-3 frames, 50 ms)."""
    was = model.training
    model.eval()
    acc: dict[str, list[float]] = {}
    with torch.no_grad():
        for song in songs:
            fields = model.fields(song.features.to(device))
            f = {k: v[0].cpu().numpy() for k, v in fields.items()}
            s = song.state
            skip = min(len(s) - 1, 2 * model.cfg.fps)  # the first 2 s: the memory is still finding the beat
            circ = lambda a, b: np.abs((a - b + 0.5) % 1.0 - 0.5)  # noqa: E731
            acc.setdefault("beat_phase_ok", []).append(float((circ(f["beat_phase"], s.beat_phase)[skip:] < 0.1).mean()))
            acc.setdefault("bar_phase_ok", []).append(float((circ(f["bar_phase"], s.bar_phase)[skip:] < 0.1).mean()))
            acc.setdefault("chord_root_acc", []).append(float((f["chord_root"] == s.chord_root)[skip:].mean()))
            for j, stem in enumerate(STEMS):
                on = f["onset"][:, j]
                peaks = (on > 0.5) & (on >= np.concatenate([[0.0], on[:-1]]))
                peaks &= ~np.concatenate([[False], peaks[:-1]])  # a hit spread over two frames counts once
                val = _onset_f(peaks, s.onset[:, j] > 0)
                if not math.isnan(val):
                    acc.setdefault(f"onset_f_{stem}", []).append(val)
    model.train(was)
    return {f"eval/{k}": float(np.mean(v)) for k, v in acc.items()}


THRESHOLD_GRID = tuple(float(x) for x in np.round(np.arange(0.1, 0.91, 0.05), 2))
CALIBRATION_SECONDS = 16.0  # per validation song, as synesthete-eval's songs


def calibration_songs(model_cfg, seeds: int, seed_base: int, midi_pool: str | Path | None) -> list[list[Any]]:
    """The calibration's sets of songs (`calibrate_onset_thresholds`), each of CALIBRATION_SECONDS:
    `seeds` validation songs (seed_base + i, room mic), and with a `midi_pool` folder (built: see
    `ensure_midi_pool`) an excerpt of each of its songs from the first note."""
    from synesthete.hearing_evaluation import midi_pool_items, procedural_items

    sets = [procedural_items(model_cfg, [seed_base + i for i in range(seeds)], CALIBRATION_SECONDS)]
    if midi_pool is not None:
        sets.append(midi_pool_items(midi_pool, model_cfg.sample_rate, CALIBRATION_SECONDS))
    return sets


def calibrate_onset_thresholds(model: torch.nn.Module, item_sets: list[list[Any]], device: torch.device,
                               grid: tuple[float, ...] = THRESHOLD_GRID, progress: bool = False
                               ) -> tuple[tuple[float, ...], dict[str, float]]:
    """Each stem's onset threshold for the live `EventDetector`, chosen on `item_sets` (lists of
    songs of one kind each: validation songs as `synesthete.hearing_evaluation.procedural_items`
    makes them, room-mic audio and the score's exact hit times; MMA songs never trained on as
    `midi_pool_items` makes them) by mir_eval onset F (+-50 ms, after 4 s) of the detector's own hits
    (`onset_f_grid` of each set, then `choose_thresholds`; `progress`: a bar of songs on stderr).
    Returns (thresholds in STEMS order, {stem: its F, the sets' mean})."""
    from synesthete.music_events import DetectorConfig

    default = DetectorConfig().onset_threshold
    if default not in grid:
        grid = tuple(sorted({*grid, default}))
    return choose_thresholds([onset_f_grid(model, items, device, grid, progress) for items in item_sets], grid, default)


def onset_f_grid(model: torch.nn.Module, items: list[Any], device: torch.device,
                 grid: tuple[float, ...] = THRESHOLD_GRID, progress: bool = False) -> np.ndarray:
    """(songs, thresholds, stems): each song's mir_eval onset F (+-50 ms, after 4 s) of the live
    detector's hits at each threshold of `grid` (`onset_hits_over_thresholds`: the detector's rule
    for the whole grid in one pass), NaN where the song plays no hit of the stem."""
    from synesthete.features import FeatureExtractor
    from synesthete.hearing_evaluation import MIN_TIME_S
    from synesthete.metrics.hearing import onset_f
    from synesthete.model.hearing import to_music_state
    from synesthete.music_events import onset_hits_over_thresholds

    was = model.training
    model.eval()
    fps = model.cfg.fps
    features = FeatureExtractor.for_model(model.cfg, "cpu")
    per_song = []
    with torch.no_grad():
        for item in tqdm(items, disable=not progress, unit="song", desc="calibrating", file=sys.stderr, leave=False):
            feats = features.extract(torch.from_numpy(np.asarray(item.audio, np.float32))[None])
            fields = outputs_to_fields(model(feats.to(device)), model.tracker, model.progression)
            state = to_music_state({k: v.cpu() for k, v in fields.items()}, fps)
            hits = onset_hits_over_thresholds(state.onset, np.asarray(grid), fps)  # (grid, frames, stems)
            f = np.full((len(grid), len(STEMS)), np.nan)
            for j, stem in enumerate(STEMS):
                ref = item.truth.onsets[stem][0]
                if np.count_nonzero(ref >= MIN_TIME_S):
                    for g in range(len(grid)):
                        f[g, j] = onset_f(ref, state.time[hits[g, :, j]], min_time=MIN_TIME_S)
            per_song.append(f)
    model.train(was)
    return np.stack(per_song) if per_song else np.full((0, len(grid), len(STEMS)), np.nan)


def choose_thresholds(f_sets: list[np.ndarray], grid: tuple[float, ...], default: float
                      ) -> tuple[tuple[float, ...], dict[str, float]]:
    """Each stem's threshold from `onset_f_grid`'s (songs, grid, stems) F of one or more sets of
    songs (one kind of music each): the default, unless another threshold gains on *every* set that
    has a say by more than twice the standard error of that set's per-song differences; of those,
    the one with the best mean of the sets' mean F (each kind weighs alike). Both halves are
    measured (docs/training.md#onset-thresholds-calibrated-at-the-end-of-training): on a few dozen
    songs the F of an unsure head is flat across thresholds and the best one is mostly noise (the
    1600-step model's "best" snare threshold on 16 validation songs lost 0.08 F on the evaluation's
    songs); and a head hears other music less surely than the engine's, so a threshold the engine's
    songs alone choose overshoots on human-written music (the 2026-12-02 model's: kick 0.5 and
    snare 0.55, where three sets of human-written songs read best near 0.3). A set with fewer than
    two songs that play a stem has no say on it (the MMA songs on chords, lead and fx: their truth
    is unknown); a stem no set plays keeps the default. Returns (thresholds in STEMS order, {stem:
    the sets' mean F at the chosen threshold})."""
    d = grid.index(default)
    thresholds, mean_f = [], {}
    for j, stem in enumerate(STEMS):
        sets = [f[:, :, j] for f in f_sets]
        sets = [f[~np.isnan(f[:, d])] for f in sets]  # each set's songs that play this stem: (songs, grid)
        sets = [f for f in sets if len(f) >= 2]
        choice = d
        if sets:
            sure = np.ones(len(grid), bool)
            for f in sets:
                gain = f - f[:, d:d + 1]
                sure &= gain.mean(axis=0) > 2.0 * gain.std(axis=0, ddof=1) / np.sqrt(len(f))
            mean = np.mean([f.mean(axis=0) for f in sets], axis=0)
            if sure.any():
                choice = int(np.argmax(np.where(sure, mean, -np.inf)))
            mean_f[stem] = float(mean[choice])
        thresholds.append(grid[choice])
    return tuple(thresholds), mean_f


def ensure_midi_pool(path: Path, sample_rate: int, mma_songs: int, draw: str | None = None,
                     key: str = "data.midi_pool", instead: str = "train on procedural songs only: data.midi_share=0",
                     sounds: str = "timgm6mb") -> None:
    """Build an MMA-only pool of `mma_songs` songs of the MMA draw `draw` (None: the training
    pool's) at `path` if there is none and mma_songs > 0 (synesthete_train.midi_pool), then check
    that it loads; a failure is one ValueError line naming the config `key` and what to do
    `instead`. The index is written last, so a build stopped half-way is built again next time."""
    from synesthete.data.midi_pool import POOL_INDEX, MidiPool
    from synesthete_train.midi_pool import MMA_DRAW

    if mma_songs > 0 and not (path / POOL_INDEX).is_file():
        from synesthete_train.midi_pool import build

        print(f"no MIDI pool at {path} ({key}): building {mma_songs} MMA songs into it "
              "(synesthete-midi-pool --mma-only; ~1 s a song) ...", file=sys.stderr)
        try:
            build(path, sample_rate=sample_rate, mma_songs=mma_songs, mma_only=True, mma_draw=draw or MMA_DRAW,
                  sounds=sounds)
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            raise ValueError(f"{key}: {e}; or {instead}") from e
    MidiPool(path, sample_rate, key)


def ensure_drum_bank(path: Path, sample_rate: int) -> None:
    """Render the drum bank at `path` if it is not there (a few seconds: synesthete_train.drum_bank),
    then check that it loads; a failure is one ValueError line."""
    from synesthete.audio.drum_kit import DrumBank
    from synesthete_train.drum_bank import build

    if not path.exists():
        print(f"synesthete-train: no drum bank at {path}: rendering it (synesthete-drum-bank) ...", file=sys.stderr)
        try:
            build(path, sample_rate=sample_rate)
        except (RuntimeError, OSError) as e:
            raise ValueError(f"data.drum_bank: {e}") from e
    DrumBank(path, sample_rate)


# ==== the loop ===================================================================================
_TIMED = ("features", "onset_ignore", "stem_share", "stem_weight")  # batch keys with a time axis, cropped with the features


class HearingTrainer(TrainerBase):
    def __init__(self, cfg: HearingTrainConfig, resume: str | Path | None = None, progress: bool = True) -> None:
        cfg, self.resume_state = self._resumed_config(cfg, resume, HearingTrainConfig, "hearing")
        if cfg.data.midi_share > 0:  # a missing pool is built or one line now, not a worker's traceback later
            ensure_midi_pool(Path(cfg.data.midi_pool), cfg.model.sample_rate, cfg.data.midi_pool_mma_songs,
                             sounds=cfg.data.midi_pool_sounds)
        e = cfg.eval
        if e.calibrate_seeds and e.calibrate_midi_songs:
            from synesthete_train.midi_pool import MMA_CALIBRATION_DRAW

            ensure_midi_pool(Path(e.calibrate_midi_pool), cfg.model.sample_rate, e.calibrate_midi_songs,
                             MMA_CALIBRATION_DRAW, "eval.calibrate_midi_pool",
                             "calibrate on procedural songs only: eval.calibrate_midi_songs=0")
        if cfg.data.sampled_drums > 0:
            ensure_drum_bank(Path(cfg.data.drum_bank), cfg.model.sample_rate)
        self._begin(cfg, progress)
        self.model = build_hearing_model(cfg.model).to(self.device)
        self.features = FeatureExtractor.for_model(cfg.model, "cpu")
        self._setup(self.resume_state)

    def calibrate(self, log) -> None:
        """Store each stem's calibrated onset threshold in the shipped model's config (see
        `calibrate_onset_thresholds`), so the checkpoint carries the thresholds it was read with."""
        t0 = time.perf_counter()
        e = self.cfg.eval
        sets = calibration_songs(self.cfg.model, e.calibrate_seeds, e.seed_base,
                                 e.calibrate_midi_pool if e.calibrate_midi_songs else None)
        thresholds, best = calibrate_onset_thresholds(self.shipped_model, sets, self.device, progress=self.progress)
        for m in {id(self.model): self.model, id(self.shipped_model): self.shipped_model}.values():
            m.cfg = replace(m.cfg, onset_thresholds=thresholds)
        mma = f" and {len(sets[1])} MMA songs" if len(sets) > 1 else ""
        log(f"onset thresholds on {len(sets[0])} validation songs{mma} ({time.perf_counter() - t0:.1f} s): "
            + ", ".join(f"{s} {t:.2f} (F {best[s]:.3f})" for s, t in zip(STEMS, thresholds) if s in best))

    def describe_compute(self) -> str:
        threads, workers = torch.get_num_threads(), self.cfg.data.num_workers
        return f"fp32, {threads} thread{'s' * (threads != 1)} + {workers} data worker{'s' * (workers != 1)}"

    def loader(self) -> Iterator[dict[str, torch.Tensor]]:
        """Batches of clips, each used for `data.reuse` steps on random `data.crop_seconds` windows."""
        d = self.cfg.data
        done, skip = divmod(self.step, d.reuse)  # resuming mid-batch: the batch again, less its used crops
        data = self._loader(HearingClips(hearing_data_config(self.cfg), start_index=done * self.cfg.optim.batch_size,
                                         features=self.features))
        n_crop = round(d.crop_seconds * self.cfg.model.fps)
        for batch in data:
            for _ in range(d.reuse - skip):
                yield self._crop(batch, n_crop)
            skip = 0

    @staticmethod
    def _crop(batch: dict[str, torch.Tensor], n_crop: int) -> dict[str, torch.Tensor]:
        n = batch["features"].shape[1]
        if not 0 < n_crop < n:
            return batch
        t0 = int(torch.randint(0, n - n_crop + 1, ()))  # torch's RNG: saved with the checkpoint, so resumable
        return {k: v[:, t0: t0 + n_crop] if k in _TIMED or k.startswith("state.") else v
                for k, v in batch.items()}

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        feats = batch["features"].to(self.device, non_blocking=True)  # (B, T, F), float32 always
        target = {k[len("state."):]: v.to(self.device, non_blocking=True) for k, v in batch.items()
                  if k.startswith("state.")}
        # fp32 throughout: the target machine may lack bf16 (and AVX-512), and the figures must hold there.
        raw = self.model(feats)
        ignore = batch["onset_ignore"].to(self.device, non_blocking=True) if "onset_ignore" in batch else None
        mask = batch["label_mask"].to(self.device, non_blocking=True) if "label_mask" in batch else None
        shares = ((batch["stem_share"].to(self.device, non_blocking=True), batch["stem_weight"].to(self.device, non_blocking=True))
                  if "stem_share" in batch else None)
        return self.optimise(hearing_losses(raw, target, self.cfg.loss, self.cfg.model.fps,
                                            self.cfg.model.downbeat_head, ignore, mask, self.cfg.model.beat_lag, shares))

    def fit(self) -> dict[str, Any]:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        tracker = Tracker(cfg.tracking.mode, cfg.tracking.project, self.out, config=to_dict(cfg))
        history: list[dict[str, float]] = []
        metrics: dict[str, float] = {}
        t_start = time.perf_counter()
        start_step = self.step
        bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not self.progress, unit="step",
                   dynamic_ncols=True, desc="train", file=sys.stderr)
        self.model.train()
        train_seconds = 0.0

        def log(message: str) -> None:
            bar.write(message, file=sys.stderr)

        held_out: list[HeldOutSong] = []

        def run_eval() -> None:
            nonlocal metrics
            if not held_out:
                held_out.extend(make_held_out(cfg))
            metrics = quick_figures(self.shipped_model, held_out, self.device)
            tracker.log(metrics, self.step)
            log(f"step {self.step}: " + ", ".join(f"{k.split('/')[-1]}={v:.3f}" for k, v in metrics.items()))

        def between_steps() -> None:
            if cfg.eval.n_seeds and cfg.eval.every and self.step % cfg.eval.every == 0:
                run_eval()

        try:
            run_steps(self, bar, tracker, history, t_start, log, between_steps)
            train_seconds = time.perf_counter() - t_start
            torch.set_num_threads(training_threads(cfg.threads, 0))
            if cfg.eval.n_seeds:
                run_eval()
            if cfg.eval.calibrate_seeds:
                self.calibrate(log)
            self.save(self.out / "last.pt", extra={"train_seconds": train_seconds, **metrics})
        except KeyboardInterrupt:
            self.save(self.out / "last.pt")
            log(f"interrupted at step {self.step}; checkpoint written to {self.out / 'last.pt'}")
            raise
        finally:
            bar.close()
            tracker.finish()
        return self.summary(start_step, train_seconds, history, metrics)
