"""The "spectral" audio encoder: the conv encoder plus a small CNN over the newest log-mel frames.

The conv encoder's first layer is one linear map of a frame's features, so an onset head can only
tell a kick from a bass note or a snare from a lead's note by a fixed weighting of the bands: a
kit tuned a few semitones higher lights other weights. Drum transcribers read the spectrogram
with convolutions along frequency instead (a shape, wherever it sits). This encoder adds that
path beside the conv encoder: the last `kernel` frames of the main log-mel are the input
channels of two frequency convolutions (5 and 3 bands wide, `channels` and 2 x `channels` maps,
each at a stride of 2 bands and followed by a GELU; strides, not max pools, because on a CPU a
pool costs more than the convolution), flattened and projected to `hidden`,
then added inside the conv encoder's residual before its output layer. Time is the channel axis
(the frames t - k + 1 .. t), so a frame's sum needs only the last k - 1 mel frames as state, and
`step` computes exactly what `forward` does (tests/core/model/test_streaming.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from synesthete.model.config import EncoderConfig
from synesthete.model.encoders.conv import ConvEncoder
from synesthete.registry import register


class SpectralEncoder(ConvEncoder):
    def __init__(self, in_dim: int, n_mels: int, hidden: int, kernel: int, channels: int) -> None:
        super().__init__(in_dim, hidden, kernel)
        if not 4 <= n_mels <= in_dim:
            raise ValueError(f"spectral encoder: need 4 <= n_mels <= in_dim, got n_mels={n_mels}, in_dim={in_dim}")
        self.n_mels = n_mels  # the features start with the main log-mel
        self.conv1 = nn.Conv1d(kernel, channels, 5, padding=2, stride=2)  # the k frames are the channels
        self.conv2 = nn.Conv1d(channels, 2 * channels, 3, padding=1, stride=2)
        n1 = (n_mels + 1) // 2  # bands after the first stride, then the second (the numpy step reads them)
        self.bands = (n1, (n1 + 1) // 2)
        self.spec = nn.Linear(2 * channels * self.bands[1], hidden)

    def _spectral(self, patches: torch.Tensor) -> torch.Tensor:
        """patches (N, k, n_mels), oldest frame first -> (N, hidden)."""
        s = F.gelu(self.conv2(F.gelu(self.conv1(patches))))
        return self.spec(s.flatten(1))

    def _patches(self, mels: torch.Tensor) -> torch.Tensor:
        """mels (B, k - 1 + T, n_mels) -> (B * T, k, n_mels): each frame's window of the last k."""
        b, n, m = mels.shape
        return mels.unfold(1, self.kernel, 1).transpose(2, 3).reshape(b * (n - self.kernel + 1), self.kernel, m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        h, c = self._conv_clip(x)
        mels = F.pad(x[..., : self.n_mels], (0, 0, self.kernel - 1, 0))  # zeros before the clip, as the conv
        return self._finish(h, c, self._spectral(self._patches(mels)).reshape(b, t, -1))

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        return (*super().init_state(batch, device),
                torch.zeros(batch, self.kernel - 1, self.n_mels, device=device))  # then the mel frames

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        h, c, buffered = self._conv_frame(x, state[0])
        mels = torch.cat([state[1], x[:, None, : self.n_mels]], dim=1)  # (B, k, n_mels)
        return self._finish(h, c, self._spectral(mels)), (buffered, mels[:, 1:])

    def step_chunk(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        b, t, _ = x.shape
        h, c, buffered = self._conv_chunk(x, state[0])
        mels = torch.cat([state[1], x[..., : self.n_mels]], dim=1)  # (B, k - 1 + T, n_mels)
        s = self._spectral(self._patches(mels)).reshape(b, t, -1)
        return self._finish(h, c, s), (buffered, mels[:, mels.shape[1] - (self.kernel - 1):])


@register("encoder", "spectral")
def spectral_encoder(in_dim: int, cfg: EncoderConfig, n_mels: int) -> SpectralEncoder:
    return SpectralEncoder(in_dim, n_mels, cfg.hidden, cfg.kernel, cfg.channels)
