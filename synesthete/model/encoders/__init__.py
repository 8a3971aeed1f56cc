"""Audio encoders (registry kind "encoder"): per-frame features -> per-frame audio embedding.

Contract every encoder keeps (tested for all of them in tests/core/model/test_streaming.py):

* builder `fn(in_dim: int, cfg: EncoderConfig, n_mels: int) -> nn.Module` registered with
  `@register("encoder", "<name>")`; the module has `out_dim: int`. The features are `n_mels`
  log-mel bins first, then `in_dim - n_mels` extras (flux, RMS, and chroma when the model has it);

* `forward(x (B, T, in_dim)) -> (B, T, out_dim)`, causal in time;
* `init_state(batch, device) -> tuple[Tensor, ...]` and
  `step(x_t (B, in_dim), state) -> ((B, out_dim), state)`, equal to `forward` frame by frame;
* `step_chunk(x (B, T, in_dim), state) -> ((B, T, out_dim), state)`: T steps in one call (an offline
  render hears 30 frames at a time: one forward instead of 30 small ones), equal to `step` T times.

Adding one: a new file here with the registered builder, plus one import line below.
"""

from synesthete.model.encoders import conv, spectral, tcn, transformer  # noqa: F401  (registers the encoders)
