"""Latent bridges (registry kind "bridge"): carry musical context through time.

Input is the encoded audio concatenated with the controls (style weights + reactivity), so a
style crossfade changes the latent itself, not only the picture drawn from it. Contract:

* builder `fn(in_dim: int, out_dim: int, cfg: BridgeConfig) -> nn.Module`, registered with
  `@register("bridge", "<name>")`;
* `forward(x (B, T, in_dim)) -> (B, T, out_dim)`, causal in time;
* `init_state(batch, device) -> tuple[Tensor, ...]` and
  `step(x_t (B, in_dim), state) -> ((B, out_dim), state)`, equal to `forward` frame by frame;
* `step_chunk(x (B, T, in_dim), state) -> ((B, T, out_dim), state)`: T steps in one call, equal to
  `step` T times (an offline render hears a chunk of frames in one forward).

Adding one: a new file here with the registered builder, plus one import line below.
"""

from synesthete.model.bridges import gru, lstm, mingru, none, transformer  # noqa: F401  (registers the bridges)
