"""Video decoders (registry kind "decoder"): one latent + controls -> one frame, no memory.

Contract:

* builder `fn(latent_dim: int, cond_dim: int, height: int, width: int, cfg: DecoderConfig)
  -> nn.Module`, registered with `@register("decoder", "<name>")`; (height, width) is the native size;
* `forward(z (N, latent_dim), controls (N, cond_dim), size: tuple[int, int] | None = None)
  -> logits (N, 3, H, W)` with (H, W) = size or the native size. `AudioToVideo` applies the sigmoid.

Decoders see frames independently (N = batch * time), so streaming needs no decoder state.
Adding one: a new file here with the registered builder, plus one import line below.
"""

from synesthete.model.decoders import conv, implicit  # noqa: F401  (registers the decoders)
