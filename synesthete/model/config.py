"""`ModelConfig`: the whole model as one nested frozen dataclass, plus named sizes.

A checkpoint stores this config (as a plain dict), TOML presets fill it (`[model]`,
`[model.bridge]`, ...), and dotted overrides reach any field (`model.bridge.hidden=96`). Two
levels of builders, as torchtune does: the component builders take every dimension, and
`model_config("tiny" | "small" | "base", **overrides)` only fills in numbers. The dataclass
defaults are the shipped default model ("small": conv encoder, GRU bridge, conv decoder).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from synesthete.config import require
from synesthete.constants import FPS, SAMPLE_RATE, STEMS, TRAIN_SIZE
from synesthete.features import CHROMA_CHOICES, CHROMA_LAYOUTS, CHROMA_SIZES, FAST_FFT, feature_width


@dataclass(frozen=True)
class EncoderConfig:
    """Audio encoder: features (B, T, F) -> (B, T, hidden)."""

    name: str = "conv"  # registered kind "encoder": conv | spectral | tcn | transformer
    hidden: int = 96
    kernel: int = 4  # conv, spectral, tcn: causal temporal kernel in frames (1 = per-frame MLP)
    # tcn: one causal residual block per entry, a 3-tap convolution over frames t - 2d, t - d, t
    # (the receptive field grows to 1 + 2 x sum(dilations) frames: 31 frames = 0.5 s for 1, 2, 4, 8)
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    channels: int = 16  # spectral: maps of its first frequency convolution (the second has twice as many)
    layers: int = 2  # transformer: attention layers over band tokens
    heads: int = 2  # transformer: attention heads
    band_size: int = 8  # transformer: mel bands per token

    def __post_init__(self) -> None:
        _at_least_one(self, "hidden", "kernel", "channels", "layers", "heads", "band_size")
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))
        require(min(self.dilations, default=1) >= 1, "dilations", "a list of frame dilations >= 1 (may be empty)",
                list(self.dilations))


@dataclass(frozen=True)
class BridgeConfig:
    """Latent bridge: [encoded audio, controls] (B, T, .) -> latent (B, T, latent_dim), causal in time."""

    name: str = "gru"  # registered kind "bridge": gru | lstm | transformer | none
    hidden: int = 128
    layers: int = 1
    heads: int = 2  # transformer only
    context: int = 64  # transformer only: frames of attention window (rolling KV cache)

    def __post_init__(self) -> None:
        _at_least_one(self, "hidden", "layers", "heads", "context")


@dataclass(frozen=True)
class DecoderConfig:
    """Video decoder: latent + controls (N, .) -> frame logits (N, 3, H, W), no memory."""

    name: str = "conv"  # registered kind "decoder": conv | implicit
    # conv: channels per stage, from the 4x4 (for 64x64) seed up to the native size; each stage
    # doubles the resolution, so native size = seed * 2**len(channels).
    channels: tuple[int, ...] = (64, 48, 32, 16)
    # conv: 0 = a fixed 3x3 conv makes RGB. K > 0 = the last stage makes K scalar maps and a
    # linear layer picks K colours per frame from [latent, controls]; RGB = sum of map * colour.
    # The teacher shades its fields with per-frame chord colours the same way.
    palette: int = 0
    # implicit: per-pixel MLP width, depth and Fourier frequencies of the coordinates.
    hidden: int = 32
    layers: int = 2
    n_freqs: int = 6

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        require(len(self.channels) > 0 and min(self.channels) >= 1, "channels",
                "a non-empty list of stage widths >= 1", list(self.channels))
        require(self.palette >= 0, "palette", ">= 0 (0 = a fixed RGB conv)", self.palette)
        require(self.n_freqs >= 0, "n_freqs", ">= 0", self.n_freqs)
        _at_least_one(self, "hidden", "layers")


ONSET_SOURCES = ("mel", "fast")  # what TrackerConfig.onset_source may name


@dataclass(frozen=True)
class TrackerConfig:
    """Beat tracker: the beat / downbeat activations (B, T) -> beat and bar phase, tempo and their
    confidences, causally (synesthete.model.trackers; registered kind "tracker")."""

    name: str = "bar_pointer"  # registered kind "tracker": bar_pointer
    min_bpm: float = 55.0  # the tempo range the state space covers
    max_bpm: float = 215.0
    meters: tuple[int, ...] = (3, 4)  # beats per bar the state space knows (the engine makes 3/4 and 4/4)
    # A beat period is split in this many parts: the first holds the beat, the others expect none
    # (madmom's observation_lambda).
    observation_lambda: float = 16.0
    # The activation at which a frame is evidence neither for nor against a beat there: a beat
    # zone's state is weighted b (b the beat activation) against every other state's
    # (1 - b) x threshold / (1 - threshold). 0: madmom's 1 / observation_lambda (1/16), under which
    # an off-beat eighth the head gives 0.28 counts 5.8 : 1 *for* a beat there (a slow song's
    # double tempo). Raising it lost beat F on the validation songs at every value tried, 0.1-0.5:
    # the weak songs' beats fall under it too (docs/evaluation.md#why-the-slow-songs-double).
    observation_threshold: float = 0.0
    # Tempo change at a beat boundary: p(tau_j | tau_i) ~ exp(-lambda |tau_j / tau_i - 1|) (madmom's).
    transition_lambda: float = 100.0
    # Per frame, this share of the belief is spread back over every state, so that a lock lost
    # (a wrong phase after a break, a fill) can be found again. The shipped network's beat head
    # fires on the off-beat eighth notes nearly as much as on the beats, so on a weak song 1e-4
    # kept feeding the off-beat and double-tempo hypotheses and the read tempo jumped between them;
    # 1e-5 (chosen on the validation songs 30000-30063: beat F 0.696 -> 0.708; the dev set 0.860 ->
    # 0.883) costs ~0.5 s more to re-lock after a tempo change (~3.8 s instead of ~3.3 s).
    reset: float = 1e-5
    # > 0: the beat observation is max(the network's beat activation, onset_weight x a plain DSP
    # onset strength: the spectral flux feature, z-scored over a running onset_window_s and
    # squashed to 0..1). On music unlike the training songs the network's activation is weak
    # where the flux still marks every hit.
    onset_weight: float = 0.0
    onset_window_s: float = 2.0
    # > 0: the beat observation is first mixed with that onset strength, (1 - onset_mix) x beat +
    # onset_mix x strength (after the drums' blend below, before onset_weight's max), and the
    # downbeat probability scaled alike. A max lets a loud off-beat hat in the flux outvote the
    # beat head; a mix only leans the evidence toward where the hits are, which on the procedural
    # validation songs keeps the tracker off the off-beat and out of double tempo more often
    # (docs/training.md#the-flux-mixed-into-the-beat-evidence-the-trackers-onset_mix).
    onset_mix: float = 0.0
    # > 0: the beat observation is first the geometric blend beat^(1 - w) x drums^w of the beat
    # activation and the drums' onset probability (the larger of the kick's and the snare's). On
    # recorded music the beat head often fires on the off-beat eighth notes as much as on the
    # beats (the hats), and the tracker locked to the off-beat; the kick and snare heads fire on
    # the beats. On by default (the tracker has no weights: every checkpoint hears with it).
    # The downbeat probability is scaled by the same factor (the drums say whether a beat is
    # here, not which beat of the bar). Chosen on the dev set over four seeds of the recipe: 0.3
    # keeps each seed's dev beat F over 0.80 (0.725-0.840 -> 0.809-0.873); on the procedural
    # songs it is about level (32 evaluation songs +0.025, 64 validation songs -0.031, mean of
    # the seeds) (docs/training.md#the-drums-as-beat-evidence-the-trackers-drum_weight).
    drum_weight: float = 0.3
    # The downbeat zones see at least this share of the beat activation: a downbeat is a beat, so
    # where the network is unsure which beat is the first, the beat evidence still places the beat.
    min_downbeat_share: float = 0.25
    # > 0: a chord change is downbeat evidence. The change is 1 - the cosine of the chord head's
    # root probabilities and their running mean over harmony_memory_s; the chord head hears a
    # change late, so each frame the states harmony_lag_s (+- harmony_window_s) into a bar are
    # raised by a factor 1 + harmony_weight x change. 0: the downbeat head alone. On by default
    # (the tracker has no weights: every checkpoint hears with it); chosen on the validation songs
    # 30000-30015 with the shipped checkpoint's chord head, the weight kept where the dev set's beat
    # F stays over 0.80 (docs/training.md). A chord head that hears changes sooner wants a shorter lag.
    harmony_weight: float = 2.0
    harmony_lag_s: float = 0.3
    harmony_window_s: float = 0.07
    harmony_memory_s: float = 0.17
    # > 0: for this many seconds after each bar line the tracker shows the chord root that the
    # progression's repeat predicts: the root heard one period of 2, 4 or 8 bars back, where the
    # recent bars' roots repeat with that period at progression_agreement or more
    # (synesthete.model.progression). The chord head hears a new chord 10-25 frames late; the
    # bar line is the tracker's. 0 (off) keeps the meaning of checkpoints stored without the key.
    progression_s: float = 0.0
    progression_agreement: float = 0.6
    # The DSP onset strength that onset_weight and onset_mix read: "mel", the main log-mel's mean
    # rise (its Hann window hears a hit a frame late; checkpoints stored without the key), or
    # "fast", the fast block's mean rise (HearingConfig.fast_mels > 0), which hears it on its own
    # frame, in step with the beat head.
    onset_source: str = "mel"
    # > 0 (with a model whose `phase_head` is trained): the phase head's (sin, cos) of the beat
    # phase is evidence on every frame, not only on the beats. Each state is weighted
    # exp(phase_weight x (sin x sin(2 pi phi) + cos x cos(2 pi phi))), phi its beat phase: a von
    # Mises factor whose sharpness is the head's own vector length (MSE pulls it toward 0 where the
    # head is unsure). The beat head fires on the off-beat eighth nearly as much as on the beat;
    # the phase head's eighth reads the opposite phase. bar_phase_weight: the same for the bar
    # phase (the state's beat in the bar and position). 0: checkpoints stored without the keys.
    phase_weight: float = 0.0
    bar_phase_weight: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "meters", tuple(int(m) for m in self.meters))
        require(0 <= self.phase_weight <= 8, "phase_weight", "in [0, 8] (0 = off)", self.phase_weight)
        require(0 <= self.bar_phase_weight <= 8, "bar_phase_weight", "in [0, 8] (0 = off)", self.bar_phase_weight)
        require(self.onset_source in ONSET_SOURCES, "onset_source", f"one of {', '.join(ONSET_SOURCES)}",
                self.onset_source)
        require(0.0 <= self.progression_s <= 4.0, "progression_s", "0 (off) .. 4 seconds", self.progression_s)
        require(0.0 < self.progression_agreement <= 1.0, "progression_agreement", "in (0, 1]",
                self.progression_agreement)
        require(0 <= self.onset_weight <= 1, "onset_weight", "in [0, 1] (0 = the network's activation alone)",
                self.onset_weight)
        require(0 <= self.onset_mix <= 1, "onset_mix", "in [0, 1] (0 = no mix)", self.onset_mix)
        require(0 <= self.observation_threshold < 1, "observation_threshold",
                "in [0, 1) (0 = 1 / observation_lambda, madmom's)", self.observation_threshold)
        require(0 <= self.drum_weight <= 1, "drum_weight", "in [0, 1] (0 = the beat head alone)", self.drum_weight)
        require(self.onset_window_s > 0, "onset_window_s", "> 0", self.onset_window_s)
        require(0 <= self.min_downbeat_share <= 1, "min_downbeat_share", "in [0, 1]", self.min_downbeat_share)
        require(self.harmony_weight >= 0, "harmony_weight", ">= 0 (0 = off)", self.harmony_weight)
        require(self.harmony_lag_s >= 0, "harmony_lag_s", ">= 0", self.harmony_lag_s)
        require(self.harmony_window_s >= 0, "harmony_window_s", ">= 0", self.harmony_window_s)
        require(self.harmony_memory_s > 0, "harmony_memory_s", "> 0", self.harmony_memory_s)
        require(0 < self.min_bpm < self.max_bpm, "min_bpm", f"> 0 and < max_bpm = {self.max_bpm}", self.min_bpm)
        require(len(self.meters) > 0 and min(self.meters) >= 1, "meters", "a non-empty list of beats per bar >= 1",
                list(self.meters))
        require(self.observation_lambda > 1, "observation_lambda", "> 1", self.observation_lambda)
        require(self.transition_lambda >= 0, "transition_lambda", ">= 0", self.transition_lambda)
        require(0 <= self.reset < 1, "reset", "in [0, 1)", self.reset)


def _at_least_one(cfg: Any, *names: str) -> None:
    for name in names:
        require(getattr(cfg, name) >= 1, name, ">= 1", getattr(cfg, name))


def default_styles() -> tuple[str, ...]:
    """The teacher's style names, in order (read lazily: the visual package is optional here)."""
    try:
        from synesthete.visual.teacher import STYLE_NAMES
    except ImportError as e:
        raise ValueError(f"ModelConfig.styles is empty and synesthete.visual is not importable ({e}); "
                         "give styles explicitly, e.g. styles=('a', 'b')") from None
    return tuple(STYLE_NAMES)


@dataclass(frozen=True)
class ModelConfig:
    sample_rate: int = SAMPLE_RATE
    fps: int = FPS
    n_mels: int = 64
    n_fft: int = 1024
    n_chroma: int = 0  # 12 or 24: add pitch-class features (synesthete.features) so chords can set colours
    chroma_fft: int = 4096
    height: int = TRAIN_SIZE  # native output size; forward/step can render other sizes
    width: int = TRAIN_SIZE
    styles: tuple[str, ...] = ()  # empty -> synesthete.visual.teacher.STYLE_NAMES
    n_controls: int = 1  # controls after the style weights (reactivity)
    latent_dim: int = 64
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    bridge: BridgeConfig = field(default_factory=BridgeConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    aux_heads: bool = True
    chord_head: bool = False  # an aux head naming the chord root (12 classes); trained with loss.chord
    bar_head: bool = False  # an aux head reading the bar phase (sin, cos); trained with loss.bar
    # > 0: a separate GRU of this width hears the chord in the chroma bins and colours the latent
    # the decoder reads (synesthete.model.harmony); the chord head then reads it. Needs n_chroma.
    harmony_hidden: int = 0
    # Where the harmony path's state goes: "latent" (added to the latent every decoder stage reads)
    # or "palette" (only into the conv decoder's per-frame colours: it recolours, it cannot move
    # shapes; needs decoder.palette > 0).
    harmony_into: str = "latent"
    # > 0: a separate GRU of this width hears where the bar starts (all features and the rhythm
    # latent, detached) and adds to the decoder's latent (synesthete.model.bar_path); the bar head
    # then reads it instead of the rhythm latent.
    bar_hidden: int = 0

    def __post_init__(self) -> None:
        if not self.styles:
            object.__setattr__(self, "styles", default_styles())
        object.__setattr__(self, "styles", tuple(self.styles))
        _at_least_one(self, "sample_rate", "fps", "n_mels", "n_fft", "height", "width", "latent_dim")
        require(not self.n_chroma or self.n_chroma in CHROMA_LAYOUTS, "n_chroma",
                CHROMA_CHOICES, self.n_chroma)
        if self.harmony_hidden < 0 or (self.harmony_hidden and not self.n_chroma):
            raise ValueError(f"harmony_hidden = {self.harmony_hidden} needs chroma features to hear the chord: "
                             f"set n_chroma = {CHROMA_SIZES} (or harmony_hidden = 0)")
        require(self.bar_hidden >= 0, "bar_hidden", ">= 0 (0 = no bar path)", self.bar_hidden)
        require(self.harmony_into in ("latent", "palette"), "harmony_into", '"latent" or "palette"',
                self.harmony_into)
        if self.harmony_into == "palette" and self.harmony_hidden and not (
                self.decoder.name == "conv" and self.decoder.palette > 0):
            raise ValueError('harmony_into = "palette" needs the conv decoder with decoder.palette > 0 '
                             f"(got decoder {self.decoder.name!r}, palette {self.decoder.palette})")
        require(self.n_controls >= 0, "n_controls", ">= 0", self.n_controls)

    @property
    def n_features(self) -> int:
        """Feature width F from `synesthete.features`: n_mels log-mel + flux + RMS (+ chroma)."""
        return feature_width(self.n_mels, self.n_chroma)

    @property
    def n_control_inputs(self) -> int:
        """Control width C: one weight per style, then `n_controls` (reactivity)."""
        return len(self.styles) + self.n_controls

    @property
    def n_stems(self) -> int:
        return len(STEMS)


# Named sizes: only numbers. "small" is the default (the dataclass defaults).
SIZES: dict[str, dict[str, Any]] = {
    "tiny": dict(latent_dim=16, encoder=dict(hidden=16, kernel=3, channels=4, layers=1, heads=2, band_size=16),
                 bridge=dict(hidden=16, layers=1, heads=2, context=4),
                 decoder=dict(channels=(16, 8), hidden=8, layers=1, n_freqs=2)),
    "small": {},
    "base": dict(latent_dim=128, encoder=dict(hidden=192, layers=3, heads=4),
                 bridge=dict(hidden=256, layers=2, heads=4, context=128),
                 decoder=dict(channels=(128, 96, 64, 32), hidden=64, layers=3, n_freqs=8)),
}
DEFAULT_SIZE = "small"


def _merge(base: Any, override: Any) -> Any:
    """Replace fields of a sub-config with a dict of values (or take a whole config object)."""
    if isinstance(override, dict):
        return dataclasses.replace(base, **override)
    return override


def model_config(size: str = DEFAULT_SIZE, **overrides: Any) -> ModelConfig:
    """A named size with overrides: `model_config("tiny", styles=("a", "b"), bridge={"name": "lstm"})`.

    Sub-configs (encoder, bridge, decoder) accept a dict of fields to change or a whole config.
    """
    if size not in SIZES:
        raise ValueError(f"unknown model size {size!r}; known sizes: {', '.join(SIZES)}")
    fields = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown ModelConfig field(s) {sorted(unknown)}; known: {', '.join(sorted(fields))}")
    values = {**SIZES[size]}
    subs = {"encoder": EncoderConfig(), "bridge": BridgeConfig(), "decoder": DecoderConfig()}
    for key, default in subs.items():
        values[key] = _merge(_merge(default, values.get(key, {})), overrides.pop(key, {}))
    values.update(overrides)
    return ModelConfig(**values)


DOWNBEAT_HEADS = ("frame", "next_beat")  # what HearingConfig.downbeat_head may say


@dataclass(frozen=True)
class HearingConfig:
    """The hearing model (synesthete.model.hearing): features -> every field of the music state.

    No style or control inputs: what the music does does not depend on the look. The features are
    the same causal log-mel + flux + RMS (+ chroma) as the pixel model's (`FeatureExtractor.for_model`).
    """

    sample_rate: int = SAMPLE_RATE
    fps: int = FPS
    n_mels: int = 64
    n_fft: int = 1024
    n_chroma: int = 24  # bass and harmony pitch classes: the chord and the bass pitch are heard here
    chroma_fft: int = 8192
    # > 0: the features also carry the positive log-mel rise per band, in this many groups of
    # adjacent mel bands (synesthete.features; must divide n_mels): where in the spectrum an onset
    # rose is what tells a kick from a hat or a bass note. 0 keeps the features of checkpoints
    # stored without the key.
    band_flux: int = 0
    # > 0: the log-mel STFT's window rises over n_fft - window_fall samples and falls over the
    # last window_fall (synesthete.features.mel_window), so the newest hop is heard at full weight
    # on its own frame; 0 = the symmetric Hann (checkpoints stored without the key).
    window_fall: int = 0
    # > 0: the features also carry a fast block, this many log-mel bands of the newest fast_fft
    # samples (a window weighing the newest most) and their rise against the previous frame
    # (synesthete.features): a hit is heard on the frame that holds it, where the main window's
    # falling tail hears it a frame late. 0 keeps the features of checkpoints stored without it.
    fast_mels: int = 0
    fast_fft: int = FAST_FFT
    # True: the features also carry the n_mels bands through PCEN, each band's power against its own
    # running mean (synesthete.features): a room's tail, a steady noise floor or a gain change cancel
    # out. False keeps the features of checkpoints stored without the key.
    pcen: bool = False
    latent_dim: int = 64
    encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(hidden=64, kernel=4))
    bridge: BridgeConfig = field(default_factory=lambda: BridgeConfig(hidden=96))
    # > 0: a GRU of this width hears the chord in the chroma bins beside the rhythm memory (the
    # chord changes once a bar, the beat every few frames: in one memory they compete); the chord
    # heads read [latent, its state]. 0: the chord heads read the latent alone.
    harmony_hidden: int = 32
    # True: the harmony GRU also reads the rhythm memory's latent (and, with `skip`, the encoder's
    # output), detached so that the chord loss cannot pull the rhythm memory: chords change on bars,
    # and the latent knows where the bar is and when a note just started, which the chroma alone
    # says only after its 341 ms window has filled with the new chord. False keeps the meaning of
    # checkpoints stored without the key.
    harmony_context: bool = False
    # The harmony path's memory: "gru" (nn.GRU, checkpoints stored without the key) or "mingru"
    # (synesthete.model.min_gru: gates that read the input alone, so a training clip is one
    # parallel scan, not a frame-by-frame loop; it heard the chord 0.7-1.4 points worse in the
    # recipe: docs/training.md).
    harmony_cell: str = "gru"
    # > 0: the heads also read this many of the newest frames of the raw features (this frame's
    # and the k - 1 before it), beside the memory and the encoder's output: a linear reader of
    # three raw frames beside the shipped memory read the kick +0.04 better than one of the memory
    # alone (docs/evaluation.md); trained with the memory in the recipe it lost the beat a tenth and
    # gained no kick (docs/training.md). 0 keeps the meaning of checkpoints stored without the key.
    head_frames: int = 0
    # The heads also read the encoder's output, not only the memory's: an onset is in the last few
    # frames of audio, and through the recurrent memory alone its timing reaches the heads late
    # and blurred (the onset heads learned nothing in 400 steps without it). Off by default so
    # that a checkpoint stored without the key keeps its meaning; the shipped recipe turns it on.
    skip: bool = False
    # Reads the beat and downbeat activation heads into beat / bar phase, tempo and their
    # confidences: the phase is the tracker's, so a beat is predicted, not a frame after the evidence.
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    # What the downbeat head says. "frame": a downbeat falls on this frame (a target on ~1 % of the
    # frames). "next_beat": on every frame, whether the beat now due (this frame's or the next) is
    # the bar's first; the tracker reads beat x it as the downbeat activation. The dense target
    # asks the memory to count the beats of the bar on every frame, not once a bar. "frame" by
    # default so that a checkpoint stored without the key keeps its meaning.
    downbeat_head: str = "frame"
    # The beat and downbeat heads say that a beat fell this many frames ago (the trainer shifts
    # their targets, the tracker expects their evidence that late). On the beat's own frame its
    # hit is barely in the audio (the Hann window's falling tail): a kick on the beat is hard to
    # tell from the off-beat's open hat and bass there, and the heads fired on the eighth nearly
    # as much as on the beat; a frame later it is plain. The tracker predicts the beat from its
    # tempo, so the phase still wraps on the beat's own frame: a steady beat costs no latency,
    # only a tempo change is followed a frame later. 0 = the beat's own frame (checkpoints
    # stored without the key).
    beat_lag: int = 0
    # The onset threshold of each stem (STEMS order) that the event detector reads hits with,
    # calibrated by the trainer on its validation songs at the end of training
    # (synesthete.music_events.detector_config). Not a weight: empty (an older checkpoint, or
    # calibration off) keeps the detector's one default threshold.
    onset_thresholds: tuple[float, ...] = ()
    # > 0: a training-only head says, for each of this many groups of adjacent mel bands, which
    # stem holds the band's power on each frame (the dry stems' shares, `synesthete.data.stem_share`;
    # loss.stem_share). The onset heads' false hits are other stems' onsets: the kick fires on bass
    # and chord notes in its own band (docs/evaluation.md). A share target on every frame and band
    # teaches the memory which instrument the energy is, where an onset target says it once a hit.
    # The live step never computes it. 0 = no such head (checkpoints stored without the key).
    stem_share_bands: int = 0
    # True: a training-only head regresses (sin, cos) of the score's beat phase and bar phase from
    # the rhythm memory on every frame (loss.phase). The beat head's target says "a beat" once a
    # beat, and the shipped head fires on the off-beat eighth nearly as much (docs/evaluation.md#
    # why-the-slow-songs-double); a phase target on every frame tells the memory where in the beat
    # and the bar it is, the eighth's phase the opposite of the beat's. The live step never
    # computes it. False = no such head (checkpoints stored without the key).
    phase_head: bool = False

    def __post_init__(self) -> None:
        _at_least_one(self, "sample_rate", "fps", "n_mels", "n_fft", "latent_dim")
        require(self.stem_share_bands >= 0 and (not self.stem_share_bands or self.n_mels % self.stem_share_bands == 0),
                "stem_share_bands", f"0 (off) or a divisor of n_mels = {self.n_mels}", self.stem_share_bands)
        require(self.harmony_cell in ("gru", "mingru"), "harmony_cell", '"gru" or "mingru"', self.harmony_cell)
        require(0 <= self.head_frames <= 8, "head_frames", "0..8 (0 = off)", self.head_frames)
        t = self.onset_thresholds
        require(not t or (len(t) == len(STEMS) and all(0.0 < v < 1.0 for v in t)), "onset_thresholds",
                f"empty or {len(STEMS)} values in (0, 1), one per stem ({', '.join(STEMS)})", t)
        require(not self.n_chroma or self.n_chroma in CHROMA_LAYOUTS, "n_chroma",
                CHROMA_CHOICES, self.n_chroma)
        require(self.downbeat_head in DOWNBEAT_HEADS, "downbeat_head", f"one of {', '.join(DOWNBEAT_HEADS)}",
                self.downbeat_head)
        require(0 <= self.beat_lag <= 3, "beat_lag", "0 (the beat's own frame) .. 3 frames later", self.beat_lag)
        require(not (self.beat_lag and self.downbeat_head == "next_beat"), "beat_lag",
                '0 with downbeat_head = "next_beat" (a dense target has no frame to move)', self.beat_lag)
        require(self.harmony_hidden >= 0, "harmony_hidden", ">= 0 (0 = chord heads on the latent)",
                self.harmony_hidden)
        require(self.band_flux >= 0 and (not self.band_flux or self.n_mels % self.band_flux == 0), "band_flux",
                f"0 (off) or a divisor of n_mels = {self.n_mels}", self.band_flux)
        require(0 <= self.window_fall < self.n_fft // 2, "window_fall", f"0 (Hann) or in [1, n_fft / 2 = {self.n_fft // 2})",
                self.window_fall)
        require(self.fast_mels >= 0, "fast_mels", ">= 0 (0 = off)", self.fast_mels)
        require(self.fast_fft >= 64, "fast_fft", ">= 64 samples", self.fast_fft)
        require(self.fast_mels > 0 or self.tracker.onset_source != "fast", "tracker.onset_source",
                '"mel" without a fast block (fast_mels = 0)', self.tracker.onset_source)
        read = {"phase_weight": self.tracker.phase_weight, "bar_phase_weight": self.tracker.bar_phase_weight}
        for key, value in read.items():  # the tracker would read a head the model does not have
            require(self.phase_head or value == 0, f"tracker.{key}", "0 without a phase head (phase_head = false)", value)
        if self.harmony_hidden and not self.n_chroma:
            raise ValueError(f"harmony_hidden = {self.harmony_hidden} needs chroma features to hear the chord: "
                             f"set n_chroma = {CHROMA_SIZES} (or harmony_hidden = 0)")

    @property
    def n_features(self) -> int:
        """Feature width F from `synesthete.features`: n_mels log-mel + flux + RMS (+ band flux)
        (+ the fast block) (+ PCEN) (+ chroma)."""
        return feature_width(self.n_mels, self.n_chroma, self.band_flux, self.fast_mels, self.pcen)

    @property
    def n_stems(self) -> int:
        return len(STEMS)


def hearing_config(size: str = "small", **overrides: Any) -> HearingConfig:
    """A hearing model config: "tiny" (unit tests) or "small" (the shipped one), with field overrides.

    `encoder` / `bridge` accept a dict of fields to change or a whole config, as in `model_config`.
    """
    sizes: dict[str, dict[str, Any]] = {
        "tiny": dict(latent_dim=16, harmony_hidden=8, skip=True,
                     encoder=dict(hidden=16, kernel=3, channels=4, layers=1, heads=2, band_size=16),
                     bridge=dict(hidden=16, layers=1, heads=2, context=4)),
        "small": dict(skip=True),  # the shipped architecture (presets/train_default.toml)
    }
    if size not in sizes:
        raise ValueError(f"unknown hearing model size {size!r}; known sizes: {', '.join(sizes)}")
    fields = {f.name for f in dataclasses.fields(HearingConfig)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown HearingConfig field(s) {sorted(unknown)}; known: {', '.join(sorted(fields))}")
    base = HearingConfig()
    values = {**sizes[size]}
    for key in ("encoder", "bridge", "tracker"):
        values[key] = _merge(_merge(getattr(base, key), values.get(key, {})), overrides.pop(key, {}))
    values.update(overrides)
    return HearingConfig(**values)
