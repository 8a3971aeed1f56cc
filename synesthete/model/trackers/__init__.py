"""Beat trackers (registered kind "tracker"): the hearing model's beat and downbeat activations in,
beat phase, bar phase, tempo and their confidences out, one frame at a time and causally.

The contract every tracker keeps (synesthete.model.hearing calls nothing else):

* built as `build("tracker", cfg.name, fps=..., cfg=TrackerConfig, lag=frames)`: lag, the
  hearing model's `beat_lag`, says that the activations of frame t are about a beat at frame
  t - lag (the heads are trained to say so a few frames late, where the hit is plainly audible);
* `init_state(batch) -> tuple[torch.Tensor, ...]`: nothing heard yet (CPU tensors: the tracker is
  numpy, whatever device the network runs on);
* `step(beat, downbeat, onset, state, chord=None, drums=None, phase=None) -> (out, new_state)`: beat,
  downbeat: (B,) float64 numpy probabilities of a beat / a downbeat on this frame, onset: (B,) the
  frame's spectral flux feature (a plain DSP onset strength), chord: (B, 12) the chord head's root
  probabilities (chords change on bar lines), drums: (B,) the larger of the kick's and the
  snare's onset probability (they mark the beats), phase: (B, 4) the phase head's (sin, cos) of
  the beat and the bar phase, None for a model without one (a tracker may ignore chord, drums and
  phase); out: {"beat_phase", "bar_phase", "tempo",
  "beat_confidence", "bar_confidence"} -> (B,) float64 numpy. Deterministic, and the state it is
  given is not changed, so stepping a clip equals running it whole.

A new tracker is one file here and one import line below.
"""

from synesthete.model.trackers import bar_pointer  # noqa: F401  (registers "bar_pointer")
