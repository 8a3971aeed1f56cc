"""The "conv" decoder: a FiLM-conditioned convolutional upsampler, the default.

A linear layer lays the latent out on a small seed grid (4x4 for 64x64), then each stage doubles
the resolution (nearest upsample + 3x3 conv) and is modulated by FiLM from [latent, controls], so
the style crossfader steers every scale. Channel counts shrink as the grid grows: the last stages
dominate the cost. Other output sizes are a bilinear resize of the native frame, which keeps the
per-step cost of a 256x256 or 1080p window almost that of the native size.

With `palette = K` the last conv makes K scalar maps instead of RGB, and the frame's colours come
from the conditioning: logits = sum_k map_k * colour_k + bias, with (colour_k, bias) a fixed part
plus a per-frame part read linearly from [latent, controls]. Shapes and colours then have separate
paths, as in the teacher (fields times per-frame chord colours), and a chord change can recolour
the whole frame by moving 3K + 3 numbers rather than every pixel. `colour_dim` > 0 adds a
per-frame input that only the colours read (the harmony path with `harmony_into = "palette"`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from synesthete.model.config import DecoderConfig
from synesthete.registry import register


class ConvDecoder(nn.Module):
    def __init__(self, latent_dim: int, cond_dim: int, height: int, width: int, channels: tuple[int, ...],
                 palette: int = 0, colour_dim: int = 0) -> None:
        super().__init__()
        n = len(channels)
        if n < 1:
            raise ValueError("decoder.channels needs at least one stage")
        if height % 2**n or width % 2**n:
            raise ValueError(f"conv decoder: height and width ({height}x{width}) must be divisible by "
                             f"2**len(decoder.channels) = {2**n}")
        self.native = (height, width)
        self.seed_hw = (height >> n, width >> n)
        self.channels = tuple(channels)
        cond = latent_dim + cond_dim
        self.seed = nn.Linear(cond, channels[0] * self.seed_hw[0] * self.seed_hw[1])
        ins = (channels[0],) + self.channels[:-1]
        self.convs = nn.ModuleList(nn.Conv2d(i, o, 3, padding=1) for i, o in zip(ins, self.channels))
        # One linear gives every stage's FiLM (scale, shift) at once: fewer small ops per step.
        self.film = nn.Linear(cond, 2 * sum(self.channels))
        if palette < 0:
            raise ValueError(f"decoder.palette must be >= 0 (0 = plain RGB), got {palette}")
        if colour_dim and not palette:
            raise ValueError("a colour input (colour_dim > 0) needs decoder.palette > 0")
        self.palette, self.colour_dim = palette, colour_dim
        self.to_rgb = nn.Conv2d(self.channels[-1], palette or 3, 3, padding=1)
        # Channels-last weights: the CPU's oneDNN convolutions then keep the activations channels-last
        # from stage to stage, where NCHW weights cost a layout copy around every upsample. Measured on
        # the 2-core CPU (scripts/decoder_layout_bench.py): training forward+backward 2.3x faster, a
        # live frame at 256^2 1.11 -> 0.96 ms. Same numbers to float rounding; state dicts load either way.
        self.convs.to(memory_format=torch.channels_last)
        self.to_rgb.to(memory_format=torch.channels_last)
        if palette:
            self.colour_base = nn.Parameter(torch.randn(3, palette) / palette**0.5)  # (3, K)
            self.colours = nn.Linear(cond + colour_dim, 3 * palette + 3)  # per-frame (3, K) colours + (3,) bias
            nn.init.zeros_(self.colours.weight)  # starts as a fixed palette; the latent learns to move it
            nn.init.zeros_(self.colours.bias)

    def forward(self, z: torch.Tensor, controls: torch.Tensor, size: tuple[int, int] | None = None,
                colour: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, latent), controls (N, C), colour (N, colour_dim) if built with one -> logits (N, 3, H, W)."""
        if (colour is None) != (self.colour_dim == 0):
            raise ValueError(f"conv decoder built with colour_dim = {self.colour_dim}: "
                             f"{'pass' if self.colour_dim else 'do not pass'} a colour input")
        cond = torch.cat([z, controls], dim=-1)  # (N, latent + C)
        n = cond.shape[0]
        h = F.gelu(self.seed(cond)).view(n, self.channels[0], *self.seed_hw)  # (N, c0, h0, w0)
        films = self.film(cond).split([c for c in self.channels for _ in (0, 1)], dim=-1)
        for i, conv in enumerate(self.convs):
            h = conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))  # (N, c_i, 2h, 2w)
            scale, shift = films[2 * i], films[2 * i + 1]
            h = F.silu(h * (1.0 + scale[:, :, None, None]) + shift[:, :, None, None])
        logits = self.to_rgb(h)  # (N, 3 or K, H, W) native
        if self.palette:
            k = self.palette
            c = self.colours(cond if colour is None else torch.cat([cond, colour], dim=-1))  # (N, 3K + 3)
            colours = self.colour_base + c[:, : 3 * k].view(n, 3, k)  # (N, 3, K)
            logits = torch.bmm(colours, logits.flatten(2)).view(n, 3, *logits.shape[2:])
            logits = logits + c[:, 3 * k :, None, None]  # (N, 3, H, W)
        if size is not None and tuple(size) != self.native:
            logits = F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=False)
        return logits


@register("decoder", "conv")
def conv_decoder(latent_dim: int, cond_dim: int, height: int, width: int, cfg: DecoderConfig,
                 colour_dim: int = 0) -> ConvDecoder:
    return ConvDecoder(latent_dim, cond_dim, height, width, cfg.channels, cfg.palette, colour_dim)
