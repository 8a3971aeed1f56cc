"""The `neural` look: the pixel network (`AudioToVideo`) painting its own frames from the audio.

Optional, for those who want the network's own painting: it loads the pixel model from
`synesthete/checkpoints/neural.pt` (or `SYNESTHETE_NEURAL_CHECKPOINT`), steps it on the frame's
audio features, and scales its small frame (64 px) to the render size (bilinear). It reads the
features, not the music state, so it only runs where the features have the pixel model's layout
(same rate, frame rate and mel/chroma sizes). It keeps the network's recurrent state while it is
drawn, and starts afresh when a morph brings it back (its memory warms up within a second).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F

from synesthete.looks.base import Look
from synesthete.music_state import MusicState
from synesthete.registry import register

NEURAL_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "neural.pt"


def neural_checkpoint() -> Path:
    return Path(os.environ.get("SYNESTHETE_NEURAL_CHECKPOINT", NEURAL_CHECKPOINT))


@register("look", "neural")
class NeuralLook(Look):
    name = "neural"

    def __init__(self, model: torch.nn.Module | None = None, style: str | None = None,
                 device: torch.device | str = "cpu") -> None:
        if model is None:
            from synesthete.checkpoint import load_model

            path = neural_checkpoint()
            if not path.is_file():
                raise ValueError(f"the neural look needs the pixel model at {path} (not found)")
            model = load_model(path, kind="pixel")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.cfg = model.cfg
        styles = tuple(self.cfg.styles)
        # The network paints one of the styles it learned: the first, unless asked otherwise.
        control = torch.zeros(1, len(styles) + int(getattr(self.cfg, "n_controls", 1)), device=self.device)
        control[0, styles.index(style) if style in styles else 0] = 1.0
        self._control = control  # (1, C); the last column (reactivity) is set per frame
        self.reset()

    def reset(self) -> None:
        with torch.inference_mode():
            self.state = self.model.init_state(1, self.device)

    @torch.inference_mode()
    def _step(self, features: torch.Tensor, reactivity: float) -> torch.Tensor:
        self._control[0, -1] = reactivity
        image, self.state = self.model.step(features.float().to(self.device), self._control, self.state)
        return image  # (1, 3, h, w)

    @torch.inference_mode()  # the whole draw: the frame is an inference tensor, clamped in place
    def draw(self, state: MusicState, height: int, width: int, reactivity: float = 1.0,
             features: torch.Tensor | None = None) -> torch.Tensor:
        if features is None:
            raise ValueError("the neural look paints from audio features; none were given")
        image = self._step(features, reactivity)
        if image.shape[-2:] != (height, width):
            image = F.interpolate(image, size=(height, width), mode="bilinear", align_corners=False)
        return image[0].clamp_(0.0, 1.0)

    @staticmethod
    def fits(path: Path, cfg) -> bool:
        """Whether the pixel model at `path` was trained on the features of front end `cfg`."""
        from synesthete.checkpoint import config_from_checkpoint, load_checkpoint

        c = config_from_checkpoint(load_checkpoint(path), path)
        names = ("sample_rate", "fps", "n_mels", "n_fft", "n_chroma", "chroma_fft")
        return all(int(getattr(c, n)) == int(getattr(cfg, n)) for n in names)
