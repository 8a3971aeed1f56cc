"""The infinite procedural dataset: music from the engine, frames from the teacher, nothing on disk.

Every item is a clip: the audio the model will hear (optionally run through microphone-in-a-club
augmentations), the teacher's target frames drawn from the clean score, the style weights and
reactivity that conditioned the teacher, and score-derived tensors that training uses as auxiliary
targets (beat phase, per-stem onsets, energy).

Seeding: item `i` of base seed `s` is made from `SeedSequence([s, i])`, and worker `w` of `W`
takes items `w, w + W, w + 2W, ...` after `start_index`. So a base seed always gives the same
stream (a DataLoader interleaves its workers in order), two workers never make the same clip, and
resuming training at item `n` continues the exact stream (`start_index=n`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from synesthete.constants import FPS, SAMPLE_RATE, STEMS, TRAIN_SIZE


class ClipTiming:
    """hop and frame count of a clip config (sample_rate, fps, clip_seconds)."""

    sample_rate: int
    fps: int
    clip_seconds: float

    @property
    def hop(self) -> int:
        return self.sample_rate // self.fps

    @property
    def n_frames(self) -> int:
        return max(1, round(self.clip_seconds * self.fps))


@dataclass(frozen=True)
class DataConfig(ClipTiming):
    sample_rate: int = SAMPLE_RATE
    fps: int = FPS
    clip_seconds: float = 2.0
    height: int = TRAIN_SIZE
    width: int = TRAIN_SIZE
    seed: int = 0
    # Probability that an item's audio goes through the microphone augmentations.
    augment_prob: float = 0.7
    reactivity_min: float = 0.5
    reactivity_max: float = 1.5
    # Restrict the teacher to these styles (empty: every registered style).
    styles: tuple[str, ...] = ()
    # Draw target frames only for this many random pairs of consecutive frames per clip (0 = every
    # frame). Pairs keep the temporal loss; fewer targets make data and decoding much cheaper.
    frame_pairs: int = 0
    # Of those pairs, this many straddle an onset (frame t - 1 and the onset frame t) where the clip
    # has enough: the teacher moves most on onsets, and a random pair ends on one only 1 time in 9
    # (11 % of frames, 40 songs), so the temporal loss rarely sees the motion sync is scored on.
    onset_pairs: int = 0

    def __post_init__(self) -> None:
        if self.clip_seconds <= 0:
            raise ValueError(f"data.clip_seconds must be > 0, got {self.clip_seconds}")
        if self.fps <= 0 or self.sample_rate % self.fps:
            raise ValueError(f"data.fps={self.fps} must be positive and divide the sample rate {self.sample_rate}")
        if self.height < 8 or self.width < 8:
            raise ValueError(f"data.height/width must be >= 8, got {self.height}x{self.width}")
        if not 0.0 <= self.augment_prob <= 1.0:
            raise ValueError(f"data.augment_prob must be in [0, 1], got {self.augment_prob}")
        if not 0.0 < self.reactivity_min <= self.reactivity_max:
            raise ValueError("data.reactivity_min must be > 0 and <= data.reactivity_max")
        if self.frame_pairs < 0:
            raise ValueError(f"data.frame_pairs must be >= 0 (0 = every frame), got {self.frame_pairs}")
        if not 0 <= self.onset_pairs <= self.frame_pairs:
            raise ValueError(f"data.onset_pairs must be in [0, data.frame_pairs = {self.frame_pairs}], "
                             f"got {self.onset_pairs}")



def item_seed(base_seed: int, index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(base_seed) & 0xFFFFFFFF, int(index)])


class IndexedStream(IterableDataset):
    """An endless stream of items `make_item(start_index + i)`, split across DataLoader workers by
    index (see the module docstring); subclasses define `_make_item(index)`."""

    start_index: int

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        if info is not None:
            torch.set_num_threads(1)  # one core per worker; the main process keeps the rest
        index = self.start_index + worker
        while True:
            yield self.make_item(index)
            index += n_workers

    def make_item(self, index: int) -> dict[str, torch.Tensor]:
        """Build item `index` of this stream (pure function of the config seed and the index).

        Made with one torch thread wherever it runs: multi-threaded FFTs round differently, and
        the same index must give the same bytes in a worker and in the main process.
        """
        threads = torch.get_num_threads()
        if threads == 1:
            return self._make_item(index)
        torch.set_num_threads(1)
        try:
            return self._make_item(index)
        finally:
            torch.set_num_threads(threads)

    def _make_item(self, index: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class ProceduralClips(IndexedStream):
    """Endless stream of training clips; see the module docstring for the seeding rules."""

    def __init__(self, cfg: DataConfig = DataConfig(), start_index: int = 0, features=None) -> None:
        """features: a CPU `FeatureExtractor`; items then carry the model's input features of their
        audio ("features", (T, F) float32), made in the worker instead of the training step."""
        super().__init__()
        from synesthete.audio.augment import MicAugment
        from synesthete.visual.teacher import STYLE_NAMES

        unknown = [s for s in cfg.styles if s not in STYLE_NAMES]
        if unknown:
            raise ValueError(f"data.styles: unknown style(s) {unknown}; known styles: {', '.join(STYLE_NAMES)}")
        self.cfg = cfg
        self.start_index = int(start_index)
        self.style_names: tuple[str, ...] = tuple(STYLE_NAMES)
        self._augment = MicAugment(cfg.sample_rate)
        self.features = features


    def _style_weights(self, rng: np.random.Generator) -> np.ndarray:
        from synesthete.visual.teacher import random_style_weights

        if not self.cfg.styles:
            return random_style_weights(rng).astype(np.float32)
        # Draw among the allowed styles only, then scatter into the full style vector.
        allowed = [self.style_names.index(s) for s in self.cfg.styles]
        w = np.zeros(len(self.style_names), np.float32)
        a = rng.choice(allowed)
        if len(allowed) > 1 and rng.random() < 0.3:
            b = rng.choice([i for i in allowed if i != a])
            mix = rng.uniform(0.2, 0.8)
            w[a], w[b] = 1.0 - mix, mix
        else:
            w[a] = 1.0
        return w

    def _make_item(self, index: int) -> dict[str, torch.Tensor]:
        from synesthete.audio.engine import render_clip
        from synesthete.visual.teacher import render_teacher

        cfg = self.cfg
        seq = item_seed(cfg.seed, index)
        music_seed, rng_seed, index_seed = seq.generate_state(3)
        rng = np.random.default_rng(rng_seed)
        n_frames = cfg.n_frames
        n_samples = n_frames * cfg.hop
        clip = render_clip(int(music_seed), n_samples / cfg.sample_rate, sample_rate=cfg.sample_rate)
        audio = np.zeros(n_samples, np.float32)
        audio[: min(n_samples, clip.audio.shape[-1])] = clip.audio[:n_samples]  # (S,)
        ctrl = clip.score.music_state(cfg.fps, n_frames)

        weights = self._style_weights(rng)
        reactivity = float(rng.uniform(cfg.reactivity_min, cfg.reactivity_max))
        frame_index = self._frame_index(n_frames, np.random.default_rng(index_seed), ctrl.onset)  # (K,)
        # Teacher styles are per-frame functions of the controls, so drawing a subset of frames
        # gives exactly those frames of the whole clip.
        drawn = ctrl if frame_index is None else ctrl.take(frame_index)
        frames = render_teacher(drawn, weights, cfg.height, cfg.width, reactivity=reactivity)  # (K, 3, H, W)
        # render_teacher returns [0, 1] already; in place, this is half the cost of a fresh
        # clamp/scale/offset (5 ms of an 80 ms item at 128x128, 30 fps, 4 s).
        frames_u8 = frames.mul_(255.0).add_(0.5).to(torch.uint8)

        if rng.random() < cfg.augment_prob:
            audio = self._augment(audio, rng)

        onset = (ctrl.onset > 0).astype(np.float32)  # (T, n_stems)
        audio_t = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))  # (S,)
        item = {
            "audio": audio_t,
            "frames": frames_u8,  # (T, 3, H, W) uint8
            "style": torch.from_numpy(weights),  # (n_styles,)
            "reactivity": torch.tensor([reactivity], dtype=torch.float32),  # (1,)
            "beat_phase": torch.from_numpy(ctrl.beat_phase.astype(np.float32)),  # (T,)
            "bar_phase": torch.from_numpy(ctrl.bar_phase.astype(np.float32)),  # (T,)
            "onset": torch.from_numpy(onset),  # (T, n_stems)
            "energy": torch.from_numpy(ctrl.energy.astype(np.float32)),  # (T,)
            "chord_root": torch.from_numpy(ctrl.chord_root.astype(np.int64)),  # (T,) pitch class 0..11
            "index": torch.tensor(index, dtype=torch.int64),
            "frame_index": torch.from_numpy(frame_index if frame_index is not None else np.arange(n_frames)),  # (K,)
        }
        if self.features is not None:
            item["features"] = self.features.extract(audio_t)[0, :n_frames]  # (T, F)
        return item

    def _frame_index(self, n_frames: int, rng: np.random.Generator, onset: np.ndarray) -> np.ndarray | None:
        """Sorted pairs [t0, t0 + 1, t1, t1 + 1, ...] of distinct random starts, or None for all.
        onset (T, n_stems): with `onset_pairs`, that many pairs end on an onset frame if there are
        enough of them (the others are drawn from the rest, as without)."""
        pairs = self.cfg.frame_pairs
        if pairs == 0 or 2 * pairs >= n_frames:
            return None
        if self.cfg.onset_pairs == 0:  # the draw of every run before onset_pairs existed
            starts = rng.choice(n_frames - 1, size=pairs, replace=False)
        else:
            hits = np.flatnonzero((onset[1:n_frames] > 0).any(axis=-1))  # starts t0 whose t0 + 1 is an onset
            first = rng.choice(hits, size=min(self.cfg.onset_pairs, hits.size), replace=False)
            rest = np.setdiff1d(np.arange(n_frames - 1), first)
            starts = np.concatenate([first, rng.choice(rest, size=pairs - first.size, replace=False)])
        starts = np.sort(starts)
        return np.stack([starts, starts + 1], axis=1).reshape(-1).astype(np.int64)



@dataclass(frozen=True)
class HearingDataConfig(ClipTiming):
    """The hearing model's data: procedural clips and their exact music state, no pictures."""

    sample_rate: int = SAMPLE_RATE
    fps: int = FPS
    clip_seconds: float = 8.0  # the bar needs seconds of memory: a clip holds a few bars
    seed: int = 0
    augment_prob: float = 0.8  # probability that an item's audio goes through MicAugment
    # Probability that MicAugment's room (reverb) is on, when an item is augmented: a room is
    # what most separates a mic in a club from the engine's clean mix.
    room_prob: float = 0.7
    # Probability of MicAugment's crowd babble, when an item is augmented (its own default: 0.25).
    babble_prob: float = 0.25
    # With onset_mask, an item also carries "onset_ignore" (T, stems): 1 on the frames of drum hits
    # that the rest of the mix masks (best band more than -onset_masked_db dB under it,
    # synesthete.audio.masking), which the onset loss leaves out. Off: every score hit is a target.
    onset_mask: bool = False
    onset_masked_db: float = -10.0
    # This share of the items are crops of human-written MIDI pieces from the pool at `midi_pool`
    # (synesthete.data.midi_pool): item i is one when floor((i + 1) x share) > floor(i x share), so
    # every run of items holds the share exactly (2 of each 8 at 0.25). With a share > 0 every item
    # carries "label_mask" (synesthete.data.labels). 0: procedural clips only, as before.
    midi_share: float = 0.0
    midi_pool: str = "runs/midi_pool"
    # This share of the procedural songs play their drums on a recorded kit drawn from the bank at
    # `drum_bank` (synesthete.audio.drum_kit; built by `synesthete-drum-bank`) instead of the
    # engine's synthesis; the composition and the score are the song's either way. Drawn from a
    # generator of its own, so at 0 the stream is the same bytes as before the key existed.
    sampled_drums: float = 0.0
    drum_bank: str = "runs/drum_bank.npz"
    # This share of the procedural songs play free drum grooves (render_clip's groove; composer._groove)
    # instead of their seed's style; drawn from a generator of its own, as the kit is.
    groove_share: float = 0.0
    # > 0: each item also carries "stem_share" (T, groups, stems) and "stem_weight" (T, groups), which
    # stem holds each group of this many adjacent mel bands' power on each frame, from the dry stems
    # (synesthete.data.stem_share; the model's stem_share_bands). A MIDI pool crop has no stems:
    # weight 0. Needs the feature extractor. 0: no such keys.
    stem_share_bands: int = 0

    def __post_init__(self) -> None:
        if self.stem_share_bands < 0:
            raise ValueError(f"data.stem_share_bands must be >= 0, got {self.stem_share_bands}")
        if not self.clip_seconds > 0:
            raise ValueError(f"data.clip_seconds must be > 0, got {self.clip_seconds}")
        if self.fps <= 0 or self.sample_rate % self.fps:
            raise ValueError(f"data.fps={self.fps} must be positive and divide the sample rate {self.sample_rate}")
        for name in ("augment_prob", "room_prob", "babble_prob", "midi_share", "sampled_drums", "groove_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"data.{name} must be in [0, 1], got {getattr(self, name)}")
        if not self.onset_masked_db < 0:
            raise ValueError(f"data.onset_masked_db must be < 0 (dB under the rest of the mix), got {self.onset_masked_db}")



class HearingClips(IndexedStream):
    """Endless stream of (audio, features, music state) clips; seeded like `ProceduralClips`.

    Item keys: "audio" (S,), "features" (T, F) when a feature extractor is given, "index", one
    "state.<field>" tensor per MusicState field but time ((T,) or (T, columns), float32), and with
    `onset_mask` "onset_ignore" (T, stems): the frames of masked hits (HearingDataConfig).
    """

    def __init__(self, cfg: HearingDataConfig = HearingDataConfig(), start_index: int = 0, features=None) -> None:
        super().__init__()
        from synesthete.audio.augment import MicAugment

        self.cfg = cfg
        self.start_index = int(start_index)
        self._augment = MicAugment(cfg.sample_rate, {"room": cfg.room_prob, "babble": cfg.babble_prob})
        self.features = features
        if cfg.stem_share_bands and features is None:
            raise ValueError("stem_share_bands > 0 needs the feature extractor the model hears with (features=)")
        self._pool = None
        if cfg.midi_share > 0:  # checked now (one clear line), loaded where the items are made (a worker)
            from synesthete.data.midi_pool import MidiPool

            self._pool = MidiPool(cfg.midi_pool, cfg.sample_rate)
        self._drums = None
        if cfg.sampled_drums > 0:
            from synesthete.audio.drum_kit import DrumBank

            self._drums = DrumBank(cfg.drum_bank, cfg.sample_rate)

    def is_midi(self, index: int) -> bool:
        """Whether item `index` is a MIDI pool crop (HearingDataConfig.midi_share)."""
        share = self.cfg.midi_share
        return share > 0 and np.floor((index + 1) * share) > np.floor(index * share)

    def _make_item(self, index: int) -> dict[str, torch.Tensor]:
        from synesthete.audio.engine import render_clip
        from synesthete.data.labels import LABEL_COLUMNS

        cfg = self.cfg
        music_seed, rng_seed, _ = item_seed(cfg.seed, index).generate_state(3)
        rng = np.random.default_rng(rng_seed)
        n_frames, n_samples = cfg.n_frames, cfg.n_frames * cfg.hop
        if self.is_midi(index):
            # the same rng draws the crop, then (as for a procedural clip) the augmentation
            audio, state, mask, _, _ = self._pool.crop(rng, n_frames, cfg.fps)
            ignore = np.zeros((n_frames, len(STEMS)), np.float32)  # no stems to hear, so none masked by the mix
            g = cfg.stem_share_bands
            shares = (np.zeros((n_frames, g, len(STEMS)), np.float32), np.zeros((n_frames, g), np.float32)) if g else None
            return self._item(index, audio, state, rng, ignore, mask, shares)
        # the drums' sound and groove: each from a generator of its own, so the rest of the item is unchanged
        song = {}
        if self._drums is not None:
            krng = np.random.default_rng([int(music_seed), 7])
            if krng.random() < cfg.sampled_drums:
                song["drum_kit"] = self._drums.kit(krng)
        if cfg.groove_share > 0 and np.random.default_rng([int(music_seed), 8]).random() < cfg.groove_share:
            song["groove"] = True
        clip = render_clip(int(music_seed), n_samples / cfg.sample_rate, sample_rate=cfg.sample_rate, **song)
        audio = np.zeros(n_samples, np.float32)
        audio[: min(n_samples, clip.audio.shape[-1])] = clip.audio[:n_samples]
        state = clip.score.music_state(cfg.fps, n_frames)
        ignore = self._masked_frames(clip, n_frames) if cfg.onset_mask else None
        shares = None
        if cfg.stem_share_bands:
            from synesthete.data.stem_share import stem_shares

            shares = stem_shares(clip.stems, self.features, n_frames, cfg.stem_share_bands)
        return self._item(index, audio, state, rng, ignore, np.ones(len(LABEL_COLUMNS), np.float32), shares)

    def _item(self, index: int, audio: np.ndarray, state, rng: np.random.Generator, ignore: np.ndarray | None,
              mask: np.ndarray, shares: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, torch.Tensor]:
        """The item of a clip's audio and exact state: MicAugment (augment_prob), the state's fields,
        "onset_ignore" with onset_mask, "label_mask" with a MIDI share, "stem_share" and "stem_weight"
        with stem_share_bands (the dry stems': the augmentation does not change which stem played),
        the features."""
        from synesthete.music_state import FIELDS

        cfg = self.cfg
        if rng.random() < cfg.augment_prob:
            audio = self._augment(audio, rng)
        audio_t = torch.from_numpy(np.ascontiguousarray(audio))
        item = {"audio": audio_t, "index": torch.tensor(index, dtype=torch.int64)}
        for f in FIELDS[1:]:
            item[f"state.{f.name}"] = torch.from_numpy(np.ascontiguousarray(getattr(state, f.name), np.float32))
        if cfg.onset_mask:
            item["onset_ignore"] = torch.from_numpy(ignore)
        if cfg.midi_share > 0:
            item["label_mask"] = torch.from_numpy(mask)
        if shares is not None:
            item["stem_share"], item["stem_weight"] = (torch.from_numpy(x) for x in shares)
        if self.features is not None:
            item["features"] = self.features.extract(audio_t)[0, :cfg.n_frames]  # (T, F)
        return item

    def _masked_frames(self, clip, n_frames: int) -> np.ndarray:
        """(T, stems) float32: 1 on each frame that holds a masked hit of that stem (the frame of
        the score's onset field: frame t covers (t / fps, (t + 1) / fps])."""
        from synesthete.audio.masking import masked_hits

        out = np.zeros((n_frames, len(STEMS)), np.float32)
        for stem, times in masked_hits(clip.stems, clip.score.onsets, self.cfg.sample_rate,
                                       self.cfg.onset_masked_db).items():
            f = np.ceil(times * self.cfg.fps - 1e-9).astype(np.int64) - 1
            out[f[(f >= 0) & (f < n_frames)], STEMS.index(stem)] = 1.0
        return out
