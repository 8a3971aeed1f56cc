"""The hearing model: causal audio features in, an estimate of every music state field out.

    model = HearingModel(hearing_config())                 # or synesthete.checkpoint.load_model(path)
    raw = model(features)                                  # features (B, T, F) -> dict of raw head outputs
    fields = model.fields(features)                        # field name -> (B, T, ...) in the state's units
    state = to_music_state(fields, fps=model.cfg.fps)      # a MusicState (batch item 0)

    s = model.init_state(1, "cpu")                         # live: one frame at a time
    fields_t, s = model.step(feature_t, s)                 # feature_t (B, F) -> field name -> (B, ...)
    fields_k, s = model.step_chunk(features_k, s)          # (B, k, F): k steps in one forward (a render)

The network is the registered encoder (per-frame audio embedding) and bridge (the memory that
follows beat and bar), plus, with `harmony_hidden` > 0, a small GRU of its own over the chroma bins
(synesthete.model.side_path) that hears the chord beside the rhythm memory. One linear layer reads
every head from the latent, the encoder's output (`skip`: an onset's exact frame is in the last
few frames of audio, which the memory passes on late and blurred) and the harmony state: there is no style or control input, because
what the music does does not depend on the look.

Raw head outputs (what the losses in train/ see) and how they become fields (`outputs_to_fields`):

| raw key | width | field(s) | units |
|---|---|---|---|
| env | stems | env | sigmoid, 0..1 |
| onset | stems | onset | sigmoid: the probability of a hit heard within this frame |
| beat | 1 | beat_phase, beat_count, tempo (through the tracker) | logit: a beat falls on this frame |
| downbeat | 1 | bar_phase (through the tracker) | logit: a downbeat falls on this frame (`downbeat_head = "frame"`), or the beat now due is the bar's first (`"next_beat"`) |
| tempo | 1 | none: an auxiliary loss (the tempo field is the tracker's) | ln(bpm / 120) |
| chord_root | 12 | chord_root | logits -> argmax pitch class |
| chord_quality | len(CHORD_QUALITIES) | chord_quality | logits -> argmax index |
| energy, melody, bass | 1 each | same | sigmoid, 0..1 |
| flux | 1 | none: an onset strength passed through for the tracker (no weights, no loss): the spectral flux feature, or the fast block's mean rise (`tracker.onset_source`) | as the feature |
| downbeat_p | 1 | none: what the tracker reads as the downbeat activation (detached, no loss) | probability: sigmoid(downbeat), or with "next_beat" sigmoid(beat) x sigmoid(downbeat) |
| confidence | HEAD_CONFIDENCE_GROUPS | confidence | sigmoid: trained to predict whether that group's heads are right; the beat and bar groups are the tracker's |
| phase | 4, with `phase_head` only | none: an auxiliary from its own linear layer on the memory, (sin, cos) of the beat phase then of the bar phase; `forward` returns it, the step only where the tracker reads it (`tracker.phase_weight` / `bar_phase_weight` > 0) | regression |
| stem_share | (stem_share_bands, stems), with `stem_share_bands` > 0 only | none: a training-only auxiliary from its own linear layer, which stem holds each group of mel bands (synesthete.data.stem_share); `forward` alone returns it | logits over the stems per group |

The network hears whether a beat falls on a frame; where the music is (beat and bar phase, tempo)
is the registered tracker's (synesthete.model.trackers, `cfg.tracker`): a causal filter over
tempo x position in the bar that predicts the next beat, so the phase wraps on the frame the beat
is due rather than a frame after the evidence. Its belief rides in the step state.

At batch 1 on a CPU (the live app; float32, no gradient, eval mode) `step_chunk` runs the
shipped architecture's network through synesthete.model.cpu_step, the same layers on numpy vectors
(torch's per-call cost is most of a one-frame step), with the same state tensors.

beat_count is integrated causally from the beat phase, wrap by wrap: each time the phase falls by
more than half a beat from one frame to the next a beat has passed (and a rise by more than half
takes one back, so jitter across the wrap does not count twice); count = wraps + phase. The live
step carries (previous phase, wraps, seen) and the tracker's belief in its state, so stepping
equals `fields` on the whole clip (tests/core/model/test_hearing.py, every encoder x bridge).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from synesthete.constants import STEMS
from synesthete.features import fast_rise_columns
from synesthete.model.config import HearingConfig
from synesthete.model.cpu_step import CpuStep
from synesthete.model.progression import ProgressionMemory
from synesthete.model.side_path import SidePath
from synesthete.music_state import CHORD_QUALITIES, CONFIDENCE_GROUPS, SPEC, MusicState
from synesthete.registry import build

TEMPO_REF = 120.0  # the tempo head regresses ln(bpm / TEMPO_REF)
State = dict[str, tuple[torch.Tensor, ...]]

# The groups the confidence head answers; beat and bar are the tracker's (its belief's spread).
TRACKED_GROUPS = ("beat", "bar")
HEAD_CONFIDENCE_GROUPS = tuple(g for g in CONFIDENCE_GROUPS if g not in TRACKED_GROUPS)
# (raw key, width), in the order of the one head layer's outputs.
HEADS: tuple[tuple[str, int], ...] = (
    ("env", len(STEMS)), ("onset", len(STEMS)), ("beat", 1), ("downbeat", 1), ("tempo", 1),
    ("chord_root", 12), ("chord_quality", len(CHORD_QUALITIES)), ("energy", 1), ("melody", 1), ("bass", 1),
    ("confidence", len(HEAD_CONFIDENCE_GROUPS)),
)
_KICK, _SNARE = STEMS.index("kick"), STEMS.index("snare")  # the onset channels the tracker reads as beat evidence
_HEAD_WIDTHS = [w for _, w in HEADS]
_SCALAR_HEADS = ("beat", "downbeat", "tempo", "energy", "melody", "bass")  # width-1 heads: returned as (...,) not (..., 1)


class HearingModel(nn.Module):
    def __init__(self, cfg: HearingConfig) -> None:
        super().__init__()
        self.cfg = cfg
        f = cfg.n_features
        kind = "encoder"
        try:
            self.encoder = build("encoder", cfg.encoder.name, in_dim=f, cfg=cfg.encoder, n_mels=cfg.n_mels)
            kind = "bridge"
            self.bridge = build("bridge", cfg.bridge.name, in_dim=self.encoder.out_dim, out_dim=cfg.latent_dim,
                                cfg=cfg.bridge)
        except KeyError as e:  # bad config: a ValueError that lists the known names
            raise ValueError(f"model.{kind}.name: {e.args[0]}") from None
        rhythm = cfg.latent_dim + (self.encoder.out_dim if cfg.skip else 0)  # z's width before the harmony state
        self.harmony = (SidePath(cfg.n_chroma + (rhythm if cfg.harmony_context else 0), cfg.harmony_hidden, 0,
                                 head_name="chord", cell=cfg.harmony_cell) if cfg.harmony_hidden else None)
        width = rhythm + cfg.harmony_hidden + cfg.head_frames * f
        self.heads = nn.Linear(width, sum(w for _, w in HEADS))
        # training only (cfg.stem_share_bands): which stem holds each band group's power; forward
        # returns its logits as raw["stem_share"] (B, T, groups, stems), the live step never reads it
        self.stem_share = nn.Linear(width, cfg.stem_share_bands * len(STEMS)) if cfg.stem_share_bands else None
        # cfg.phase_head, a training target: (sin, cos) of the beat phase, then of the bar phase, read
        # from the memory alone (not the encoder's frame nor the chord state: it is the memory
        # that must know where the beat is); forward returns raw["phase"] (B, T, 4)
        self.phase = nn.Linear(cfg.latent_dim, 4) if cfg.phase_head else None
        # ... which the tracker may read as evidence (tracker.phase_weight / bar_phase_weight): then
        # the live step computes it too, its 4 values after the head layer's
        self.live_phase = self.phase is not None and (cfg.tracker.phase_weight > 0 or cfg.tracker.bar_phase_weight > 0)
        self._cpu_step_cache: tuple[list, CpuStep | None] | None = None  # (parameters as built on, the step)
        try:
            self.tracker = build("tracker", cfg.tracker.name, fps=cfg.fps, cfg=cfg.tracker, lag=cfg.beat_lag)
        except KeyError as e:
            raise ValueError(f"model.tracker.name: {e.args[0]}") from None
        self._fast_rise = (fast_rise_columns(cfg.n_mels, cfg.band_flux, cfg.fast_mels)
                           if cfg.tracker.onset_source == "fast" else None)
        self.progression = (ProgressionMemory(cfg.fps, cfg.tracker.progression_s, cfg.tracker.progression_agreement)
                            if cfg.tracker.progression_s > 0 else None)

    # -- checks --------------------------------------------------------------------------------
    def _check(self, features: torch.Tensor, lead: tuple[str, ...], what: str) -> None:
        f = self.cfg.n_features
        if features.dim() != len(lead) + 1 or features.shape[-1] != f:
            raise ValueError(f"{what}: features must be ({', '.join(lead)}, {f}), got {tuple(features.shape)}")

    def _split(self, y: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = y.split(_HEAD_WIDTHS, dim=-1)  # one call: per-head slicing cost ~30 us of a live step
        return {key: part[..., 0] if key in _SCALAR_HEADS else part for (key, _), part in zip(HEADS, parts)}

    # -- whole clips (training, offline) -------------------------------------------------------
    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """features (B, T, F) -> raw head outputs {key: (B, T, width) or (B, T)} (see the module docstring)."""
        self._check(features, ("B", "T"), "forward")
        e = self.encoder(features)  # (B, T, E)
        z = self.bridge(e)  # (B, T, latent)
        phase = self.phase(z) if self.phase is not None else None
        if self.cfg.skip:
            z = torch.cat([z, e], dim=-1)
        if self.harmony is not None:
            h, _ = self.harmony(self._harmony_input(features, z))  # (B, T, harmony_hidden)
            z = torch.cat([z, h], dim=-1)
        if self.cfg.head_frames:
            z = torch.cat([z, self._recent_frames(features, None)[0]], dim=-1)
        raw = self._tracker_inputs(self._split(self.heads(z)), features)
        if self.stem_share is not None:
            raw["stem_share"] = self.stem_share(z).unflatten(-1, (self.cfg.stem_share_bands, len(STEMS)))
        if phase is not None:
            raw["phase"] = phase
        return raw

    def _recent_frames(self, features: torch.Tensor, earlier: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, head_frames x F): each frame's features, then the frames before it, newest first
        (zeros before the stream began), and the last head_frames - 1 frames for the next chunk.
        earlier (B, head_frames - 1, F): the frames before this chunk (None: zeros)."""
        k = self.cfg.head_frames
        b, n, f = features.shape
        if earlier is None:
            earlier = features.new_zeros(b, k - 1, f)
        window = torch.cat([earlier, features], dim=1)  # (B, k - 1 + T, F)
        recent = torch.cat([window[:, k - 1 - j: k - 1 - j + n] for j in range(k)], dim=-1)
        return recent, window[:, window.shape[1] - (k - 1):]

    def _harmony_input(self, features: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """What the harmony GRU reads, (..., in_dim): the chroma bins (the last features), then with
        `harmony_context` the rhythm latent z, detached (the chord loss must not pull the rhythm memory)."""
        chroma = features[..., -self.cfg.n_chroma:]
        return torch.cat([chroma, z.detach()], dim=-1) if self.cfg.harmony_context else chroma

    def _tracker_inputs(self, raw: dict[str, torch.Tensor], features: torch.Tensor) -> dict[str, torch.Tensor]:
        """`raw` plus what the tracker reads beside the heads (detached; no loss reads them):
        "flux", a plain DSP onset strength (the main log-mel's spectral flux feature, or with
        `tracker.onset_source = "fast"` the fast block's mean rise), and "downbeat_p", the
        probability that a downbeat falls on the frame, from the downbeat head as
        `cfg.downbeat_head` defines it."""
        if self._fast_rise is not None:  # the fast block's mean rise: a hit on its own frame
            raw["flux"] = features[..., self._fast_rise].detach().mean(-1)
        else:
            raw["flux"] = features[..., self.cfg.n_mels].detach()
        onset = torch.sigmoid(raw["onset"].detach())
        raw["drums"] = torch.maximum(onset[..., _KICK], onset[..., _SNARE])
        down = torch.sigmoid(raw["downbeat"].detach())
        raw["downbeat_p"] = down * torch.sigmoid(raw["beat"].detach()) if self.cfg.downbeat_head == "next_beat" else down
        return raw

    def fields(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """features (B, T, F) -> every field but time, (B, T, ...) in the state's units."""
        return outputs_to_fields(self(features), self.tracker, self.progression)

    # -- one frame at a time (live) ------------------------------------------------------------
    def init_state(self, batch: int, device: torch.device | str = "cpu") -> State:
        network = {"encoder": self.encoder.init_state(batch, device), "bridge": self.bridge.init_state(batch, device)}
        if self.harmony is not None:
            network["harmony"] = self.harmony.init_state(batch, device)
        if self.cfg.head_frames:
            network["frames"] = (torch.zeros(batch, self.cfg.head_frames - 1, self.cfg.n_features, device=device),)
        # the components make float32 state; a model cast to another float type steps in that type
        dtype = self.heads.weight.dtype
        state = {k: tuple(t.to(dtype) if t.is_floating_point() else t for t in v) for k, v in network.items()}
        state = {**state, "beats": _init_counter(batch), "tracker": self.tracker.init_state(batch)}
        if self.progression is not None:
            state["chords"] = self.progression.init_state(batch)
        return state

    def step(self, feature_t: torch.Tensor, state: State) -> tuple[dict[str, torch.Tensor], State]:
        """feature_t (B, F), state -> ({field: (B, ...)} for every field but time, new state)."""
        self._check(feature_t, ("B",), "step")
        fields, new_state = self.step_chunk(feature_t[:, None], state)  # a chunk of one frame
        return {k: v[:, 0] for k, v in fields.items()}, new_state

    def step_chunk(self, features: torch.Tensor, state: State) -> tuple[dict[str, torch.Tensor], State]:
        """features (B, T, F), state -> ({field: (B, T, ...)}, new state): `step` T times in one call.

        The network runs once over the T frames with its state carried in (the conv encoder's
        buffered frames, the GRU hidden states, the chord GRU's), so an offline render pays one
        forward per chunk instead of T small ones; only the tracker still goes frame by frame."""
        self._check(features, ("B", "T"), "step_chunk")
        cpu_step = self._cpu_step(features)
        if cpu_step is not None:  # the live app's frame: the same layers in numpy, ~half the cost
            y, new_state = cpu_step(features[0, 0].numpy(), state)
            y = torch.from_numpy(y)[None, None]
        else:
            y, new_state = self._network_chunk(features, state)
        phase = None
        if self.live_phase:  # the phase head's (sin, cos) after the head layer's outputs
            y, phase = y[..., :-4], y[..., -4:]
        raw = self._tracker_inputs(self._split(y), features)
        if phase is not None:
            raw["phase"] = phase
        fields, new_state["beats"], new_state["tracker"], chords = _fields(
            raw, state["beats"], self.tracker, state["tracker"], self.progression, state.get("chords"))
        if chords is not None:
            new_state["chords"] = chords
        return fields, new_state

    def _network_chunk(self, features: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """features (B, T, F), state -> (the head layer's outputs (B, T, W), then with `live_phase`
        the phase head's 4, the network's new encoder / bridge / harmony state): the torch step
        before the heads are split."""
        e, enc_state = self.encoder.step_chunk(features, state["encoder"])  # (B, T, E)
        z, bridge_state = self.bridge.step_chunk(e, state["bridge"])  # (B, T, latent)
        phase = self.phase(z) if self.live_phase else None
        new_state = {"encoder": enc_state, "bridge": bridge_state}
        if self.cfg.skip:
            z = torch.cat([z, e], dim=-1)
        if self.harmony is not None:
            h, new_state["harmony"] = self.harmony.step_chunk(self._harmony_input(features, z), state["harmony"])
            z = torch.cat([z, h], dim=-1)
        if self.cfg.head_frames:
            recent, earlier = self._recent_frames(features, state["frames"][0])
            z = torch.cat([z, recent], dim=-1)
            new_state["frames"] = (earlier,)
        y = self.heads(z)
        return (torch.cat([y, phase], dim=-1) if phase is not None else y), new_state

    def _cpu_step(self, features: torch.Tensor) -> CpuStep | None:
        """The numpy step (synesthete.model.cpu_step) for one float32 frame at batch 1 on the CPU
        with no gradient wanted, or None: the torch step. It reads the parameters' memory, so
        in-place updates (a load, an optimiser step, a weight average) reach it as they are; it is
        rebuilt when a parameter is another tensor or on other memory (replaced, moved, cast). Keyed
        on identities and data pointers, not version counters: a model loaded under
        `torch.inference_mode` has none."""
        if (features.shape[:2] != (1, 1) or features.device.type != "cpu" or features.dtype != torch.float32
                or self.training or torch.is_grad_enabled()):
            return None
        cache = self._cpu_step_cache
        # each parameter still the same tensor on the same memory: a few us, where walking
        # self.parameters() every frame cost ~50 us
        if cache is None or not all(slots.get(name) is p and p.data_ptr() == ptr for slots, name, p, ptr in cache[0]):
            params = [(m._parameters, name, p, p.data_ptr()) for m in self.modules()
                      for name, p in m._parameters.items() if p is not None]
            cache = self._cpu_step_cache = (params, CpuStep.of(self))
        return cache[1]

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


Counter = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def _init_counter(batch: int) -> Counter:
    """(previous beat phase, whole beats counted, 1 once a frame was seen), (B,) each: nothing heard
    yet. On the CPU whatever the network's device, like the tracker whose phase it counts."""
    return torch.zeros(batch), torch.zeros(batch), torch.zeros(batch)


def count_beats(phase: np.ndarray, counter: Counter) -> tuple[np.ndarray, Counter]:
    """phase (B, T) numpy -> (beat_count (B, T) numpy in phase's dtype, counter after the last frame),
    causally, wrap by wrap. The stream's first frame has no previous phase: it counts no wrap.
    numpy, not torch: the phase comes from the tracker as numpy, and on one frame a handful of torch
    ops on (1, 1) tensors cost ~0.1 ms of a live step that must stay under 1 ms."""
    if phase.shape == (1, 1):
        return _count_one_beat(phase, counter)
    prev, wraps, seen = (c.numpy().astype(phase.dtype, copy=False) for c in counter)
    rise = np.diff(phase, axis=1, prepend=prev[:, None])  # (B, T): this frame's phase less the previous one's
    step = (rise < -0.5).astype(phase.dtype) - (rise > 0.5).astype(phase.dtype)  # a wrap forward / back
    step[:, 0] *= seen  # the stream's first frame has no previous phase
    total = wraps[:, None] + np.cumsum(step, axis=1, dtype=phase.dtype)
    # the counter in the phase's own float type, so a chunk boundary reads the same as the whole clip
    after = (torch.from_numpy(phase[:, -1].copy()), torch.from_numpy(total[:, -1].copy()), torch.ones(phase.shape[0]))
    # Never below 0 (the field's range): a phase that first runs back across the wrap is still beat 0.
    return np.maximum(total + phase, phase.dtype.type(0.0)), after


def _count_one_beat(phase: np.ndarray, counter: Counter) -> tuple[np.ndarray, Counter]:
    """`count_beats` on one frame of one stream (the live step): the same sums on numpy scalars of
    the phase's type, a fifth of the (1, 1) array calls' cost."""
    cast = phase.dtype.type
    x = phase[0, 0]
    prev, wraps, seen = (cast(c.numpy()[0]) for c in counter)
    rise = x - prev
    total = wraps + (cast(rise < -0.5) - cast(rise > 0.5)) * seen
    after = (torch.from_numpy(phase[:, 0].copy()), torch.from_numpy(np.array([total])), torch.ones(1))
    return np.array([[max(total + x, cast(0.0))]]), after


def tracker_inputs(raw: dict[str, torch.Tensor]) -> tuple[np.ndarray | None, ...]:
    """What the tracker reads from `HearingModel.forward`'s raw outputs, float64 numpy: the beat
    probability, the downbeat probability and the flux feature (B, T), the chord root
    probabilities (B, T, 12) (chord changes mark bar lines), the drums' onset probability
    (B, T): the larger of the kick's and the snare's (they mark the beats where the beat head
    also fires on the off-beat eighths), and the phase head's (sin, cos) of the beat and the bar
    phase (B, T, 4), None for a model without one."""
    phase = raw.get("phase")
    return (torch.sigmoid(raw["beat"].detach()).double().cpu().numpy(),
            raw["downbeat_p"].detach().double().cpu().numpy(),
            raw["flux"].detach().double().cpu().numpy(),
            torch.softmax(raw["chord_root"].detach().double(), dim=-1).cpu().numpy(),
            raw["drums"].detach().double().cpu().numpy(),
            phase.detach().double().cpu().numpy() if phase is not None else None)


def track(tracker, raw: dict[str, torch.Tensor], tracker_state: tuple[torch.Tensor, ...],
          ) -> tuple[dict[str, np.ndarray], tuple[torch.Tensor, ...]]:
    """The raw outputs' `tracker_inputs` through the tracker, frame by frame
    -> ({beat_phase, bar_phase, tempo, beat_confidence, bar_confidence}: (B, T) float64 numpy each,
    state after)."""
    b, d, o, c, drums, phase = tracker_inputs(raw)
    cols: dict[str, np.ndarray] = {}
    for t in range(b.shape[1]):
        out, tracker_state = tracker.step(b[:, t], d[:, t], o[:, t], tracker_state, chord=c[:, t], drums=drums[:, t],
                                          phase=phase[:, t] if phase is not None else None)
        for k, v in out.items():
            if k not in cols:
                cols[k] = np.empty(b.shape)
            cols[k][:, t] = v
    return cols, tracker_state


def _fields(raw: dict[str, torch.Tensor], counter: Counter, tracker, tracker_state: tuple[torch.Tensor, ...],
            progression: ProgressionMemory | None = None, chords: tuple[torch.Tensor, ...] | None = None,
            ) -> tuple[dict[str, torch.Tensor], Counter, tuple[torch.Tensor, ...], tuple[torch.Tensor, ...] | None]:
    beat = raw["beat"]
    # the tracker's outputs in the network's float type (numpy has no bfloat16: float32 then), one
    # conversion to torch each at the end
    like = np.float64 if beat.dtype == torch.float64 else np.float32
    cols, tracker_state = track(tracker, raw, tracker_state)
    cols = {k: v.astype(like) for k, v in cols.items()}
    cols["beat_count"], counter = count_beats(cols["beat_phase"], counter)
    tracked = {k: torch.from_numpy(v).to(device=beat.device, dtype=beat.dtype) for k, v in cols.items()}
    beat_phase = tracked["beat_phase"]
    beat_count = tracked["beat_count"]
    hi_tempo = SPEC["tempo"].hi
    # the tracker knows how sure it is of the phases: its belief's resultant lengths
    by_group = dict(zip(HEAD_CONFIDENCE_GROUPS, torch.sigmoid(raw["confidence"]).unbind(-1)))
    by_group.update(beat=tracked["beat_confidence"], bar=tracked["bar_confidence"])
    confidence = torch.stack([by_group[g] for g in CONFIDENCE_GROUPS], dim=-1)
    root = raw["chord_root"].argmax(-1)
    if progression is not None:  # the progression's repeat names a bar's root before the head hears it
        shown, chords = progression.run(root.cpu().numpy(), cols["bar_phase"], chords)
        root = torch.from_numpy(shown).to(root.device)
    fields = {
        "env": torch.sigmoid(raw["env"]),
        "onset": torch.sigmoid(raw["onset"]),
        "beat_phase": beat_phase,
        "bar_phase": tracked["bar_phase"],
        "beat_count": beat_count,
        "tempo": tracked["tempo"].clamp(0.0, hi_tempo),
        "chord_root": root.to(beat_phase.dtype),
        "chord_quality": raw["chord_quality"].argmax(-1).to(beat_phase.dtype),
        "energy": torch.sigmoid(raw["energy"]),
        "melody": torch.sigmoid(raw["melody"]),
        "bass": torch.sigmoid(raw["bass"]),
        "confidence": confidence,
    }
    return fields, counter, tracker_state, chords


def outputs_to_fields(raw: dict[str, torch.Tensor], tracker, progression: ProgressionMemory | None = None,
                      ) -> dict[str, torch.Tensor]:
    """`HearingModel.forward`'s raw outputs (B, T, ...) -> every field but time, (B, T, ...), in the
    state's units (the table in the module docstring); the beat fields from `tracker` (the model's
    own: `HearingModel.fields` passes it) and beat_count, counted from the clip's start."""
    b = raw["beat"].shape[0]
    chords = progression.init_state(b) if progression is not None else None
    return _fields(raw, _init_counter(b), tracker, tracker.init_state(b), progression, chords)[0]


def to_music_state(fields: dict[str, torch.Tensor], fps: float, start_time: float = 0.0, index: int = 0) -> MusicState:
    """Batch item `index` of `fields` ({field: (B, T, ...)}, from `outputs_to_fields`) as a MusicState;
    frame t stands for start_time + (t + 1) / fps."""
    n = fields["beat_phase"].shape[1]
    time = start_time + (np.arange(n, dtype=np.float64) + 1.0) / fps
    return MusicState.from_arrays({k: v[index] for k, v in fields.items()}, time=time)


def build_hearing_model(cfg: HearingConfig) -> HearingModel:
    """The hearing model for `cfg`, freshly initialised (load weights with `synesthete.checkpoint`)."""
    return HearingModel(cfg)
