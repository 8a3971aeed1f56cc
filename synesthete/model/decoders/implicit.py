"""The "implicit" decoder: a coordinate network that renders at any resolution from one latent.

Every pixel is an (x, y) in [-1, 1] (pixel centres), lifted by Fourier features; a small MLP,
FiLM-modulated per frame by [latent, controls], maps it to RGB. The picture is a function of
continuous coordinates, so a model trained at 64x64 draws a sharp 256x256 or 1920x1080 frame
natively instead of upsampling. The first layer uses a sine (SIREN-like periodic patterns suit
visuals); cost grows with the pixel count, so it is the quality option, not the default.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from synesthete.model.config import DecoderConfig
from synesthete.registry import register


def fourier_grid(height: int, width: int, n_freqs: int, device: torch.device) -> torch.Tensor:
    """(H * W, 2 + 4 * n_freqs): pixel-centre coordinates and their sines/cosines."""
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width * 2 - 1
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    coords = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)  # (HW, 2)
    freqs = math.pi * 2.0 ** torch.arange(n_freqs, device=device, dtype=torch.float32)  # (n_freqs,)
    angles = (coords[:, :, None] * freqs).reshape(coords.shape[0], -1)  # (HW, 2 * n_freqs)
    return torch.cat([coords, angles.sin(), angles.cos()], dim=-1)


class ImplicitDecoder(nn.Module):
    def __init__(self, latent_dim: int, cond_dim: int, height: int, width: int,
                 hidden: int, layers: int, n_freqs: int) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"implicit decoder needs decoder.layers >= 1, got {layers}")
        self.native = (height, width)
        self.hidden, self.n_freqs = hidden, n_freqs
        self.coord_in = nn.Linear(2 + 4 * n_freqs, hidden)
        self.mids = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers - 1))
        self.film = nn.Linear(latent_dim + cond_dim, 2 * hidden * layers)
        self.to_rgb = nn.Linear(hidden, 3)
        # The coordinate grid depends only on the size: a cache of constants, not model state.
        self._grids: dict[tuple[int, int, str], torch.Tensor] = {}

    def _grid(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        key = (height, width, str(device))
        if key not in self._grids:
            self._grids[key] = fourier_grid(height, width, self.n_freqs, device)
        return self._grids[key]

    def forward(self, z: torch.Tensor, controls: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        height, width = tuple(size) if size is not None else self.native
        n = z.shape[0]
        films = self.film(torch.cat([z, controls], dim=-1)).view(n, -1, 2, 1, self.hidden)  # (N, L, 2, 1, hid)
        base = self.coord_in(self._grid(height, width, z.device))  # (HW, hidden), shared by all frames
        h = torch.addcmul(films[:, 0, 1], base, 1.0 + films[:, 0, 0]).sin()  # (N, HW, hidden)
        for i, mid in enumerate(self.mids, start=1):
            # FiLM folded into the layer: (h W^T + b) * g + s = h (W^T * g) + (b * g + s), one batched
            # matmul per frame instead of a matmul and two full-size elementwise passes.
            gain = 1.0 + films[:, i, 0]  # (N, 1, hidden)
            weight = mid.weight.t() * gain  # (N, hidden, hidden)
            h = torch.baddbmm(mid.bias * gain + films[:, i, 1], h, weight).relu_()
        # RGB straight into channel-first layout: (N, 3, hidden) @ (N, hidden, HW).
        rgb = torch.matmul(self.to_rgb.weight, h.transpose(1, 2)) + self.to_rgb.bias[:, None]  # (N, 3, HW)
        return rgb.view(n, 3, height, width)


@register("decoder", "implicit")
def implicit_decoder(latent_dim: int, cond_dim: int, height: int, width: int, cfg: DecoderConfig) -> ImplicitDecoder:
    return ImplicitDecoder(latent_dim, cond_dim, height, width, cfg.hidden, cfg.layers, cfg.n_freqs)
