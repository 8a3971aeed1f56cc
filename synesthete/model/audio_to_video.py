"""`AudioToVideo`: encoder -> bridge -> decoder, trained on clips, run frame by frame on stage.

    model = build_model(model_config("small", styles=STYLE_NAMES))
    frames = model(features, controls)                    # (B, T, 3, H, W) in [0, 1]
    state = model.init_state(1, "cpu")
    frame, state = model.step(features[:, 0], controls[:, 0], state)   # (1, 3, H, W)

Features come from `synesthete.features` (frame t uses audio up to sample (t + 1) * hop);
controls are (style weights in `cfg.styles` order, then reactivity). The controls enter the bridge
(so a crossfade shapes the latent) and FiLM every decoder stage. The state is passed in and out,
never kept on the module: two live outputs can share one model. Running `step` over a clip gives
the frames of `forward` to float tolerance, for every registered component combination.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from synesthete.model.bar_path import BarPath
from synesthete.model.config import ModelConfig
from synesthete.model.harmony import HarmonyPath
from synesthete.model.heads import AuxHeads
from synesthete.registry import lookup

State = dict[str, tuple[torch.Tensor, ...]]

LOGIT_LIMIT = 8.0  # sigmoid(-8) = 3e-4: darker than any target the trainer asks for


def _component(kind: str, name: str, **kwargs: Any) -> nn.Module:
    try:
        fn = lookup(kind, name)
    except KeyError as e:  # bad config: a ValueError that lists the known names
        raise ValueError(f"model.{kind}.name: {e.args[0]}") from None
    return fn(**kwargs)


class AudioToVideo(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        import synesthete.model.bridges  # noqa: F401  (register the built-in components)
        import synesthete.model.decoders  # noqa: F401
        import synesthete.model.encoders  # noqa: F401

        self.cfg = cfg
        n_ctl = cfg.n_control_inputs
        self.encoder = _component("encoder", cfg.encoder.name, in_dim=cfg.n_features, cfg=cfg.encoder,
                                   n_mels=cfg.n_mels)
        self.bridge = _component("bridge", cfg.bridge.name, in_dim=self.encoder.out_dim + n_ctl,
                                 out_dim=cfg.latent_dim, cfg=cfg.bridge)
        # With a harmony path the chord head reads its state, not the rhythm latent (harmony.py);
        # into the palette, its state is a colour input of the decoder, into the latent an offset.
        into_palette = bool(cfg.harmony_hidden) and cfg.harmony_into == "palette"
        self.harmony = (HarmonyPath(cfg.n_chroma, cfg.harmony_hidden, 0 if into_palette else cfg.latent_dim,
                                    cfg.chord_head) if cfg.harmony_hidden else None)
        extra = {"colour_dim": self.harmony.out_dim} if into_palette else {}
        self.decoder = _component("decoder", cfg.decoder.name, latent_dim=cfg.latent_dim, cond_dim=n_ctl,
                                  height=cfg.height, width=cfg.width, cfg=cfg.decoder, **extra)
        self._into_palette = into_palette
        # With a bar path the bar head reads its state; the rhythm latent reaches it detached.
        self.bar_path = (BarPath(cfg.n_features, cfg.latent_dim, cfg.bar_hidden, cfg.bar_head)
                         if cfg.bar_hidden else None)
        latent_chord = cfg.chord_head and self.harmony is None
        latent_bar = cfg.bar_head and self.bar_path is None
        self.heads = AuxHeads(cfg.latent_dim, cfg.n_stems, latent_chord, latent_bar) if cfg.aux_heads else None

    # -- checks -------------------------------------------------------------------------------
    def _check(self, features: torch.Tensor, controls: torch.Tensor, lead: tuple[int, ...], what: str) -> None:
        f, c = self.cfg.n_features, self.cfg.n_control_inputs
        dims = len(lead) + 1
        if features.dim() != dims or features.shape[-1] != f:
            raise ValueError(f"{what}: features must be {lead + (f,)} (F = n_mels + 2 + n_chroma = {f}), "
                             f"got {tuple(features.shape)}")
        if controls.dim() != dims or controls.shape[-1] != c or controls.shape[:-1] != features.shape[:-1]:
            raise ValueError(f"{what}: controls must be {tuple(features.shape[:-1]) + (c,)} "
                             f"({len(self.cfg.styles)} style weights + {self.cfg.n_controls}), "
                             f"got {tuple(controls.shape)}")

    def _size(self, size: tuple[int, int] | None) -> tuple[int, int]:
        if size is None:
            return (self.cfg.height, self.cfg.width)
        if len(size) != 2 or any(int(s) < 1 for s in size):
            raise ValueError(f"size must be (height, width) with both >= 1, got {size!r}")
        return (int(size[0]), int(size[1]))

    # -- whole clips (training, offline) -------------------------------------------------------
    def forward(self, features: torch.Tensor, controls: torch.Tensor, size: tuple[int, int] | None = None,
                return_aux: bool = False, frame_index: torch.Tensor | None = None,
                ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """features (B, T, F), controls (B, T, C) -> frames (B, T, 3, H, W) in [0, 1] (+ aux).

        `frame_index` (B, K) long: decode only those frames (-> (B, K, 3, H, W)). The memory still
        runs over every frame; training uses this because decoding is most of the cost, and a few
        frames per clip teach the decoder as well as all of them.
        """
        self._check(features, controls, ("B", "T"), "forward")
        if return_aux and self.heads is None:
            raise ValueError("return_aux=True needs a model built with aux_heads=True")
        b, t, _ = features.shape
        h, w = self._size(size)
        e = self.encoder(features)  # (B, T, E)
        z = self.bridge(torch.cat([e, controls], dim=-1))  # (B, T, latent): the rhythm memory (aux heads read it)
        zd, cd, colour, chord, bar = z, controls, None, None, None
        if self.bar_path is not None:
            offset, bar = self.bar_path(torch.cat([features, z.detach()], dim=-1))
            zd = zd + offset
        if self.harmony is not None:
            colour, chord = self.harmony(features[..., -self.cfg.n_chroma:])
            if not self._into_palette:
                zd, colour = zd + colour, None
        if frame_index is not None:
            if frame_index.dim() != 2 or frame_index.shape[0] != b:
                raise ValueError(f"frame_index must be (B, K) = ({b}, K), got {tuple(frame_index.shape)}")
            idx = frame_index.to(z.device, torch.long)[..., None]

            def pick(x: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, K, D)
                return torch.gather(x, 1, idx.expand(-1, -1, x.shape[-1]))

            zd, cd = pick(zd), pick(controls)
            colour = pick(colour) if colour is not None else None
        k = zd.shape[1]
        extra = {"colour": colour.reshape(b * k, -1)} if colour is not None else {}
        logits = self.decoder(zd.reshape(b * k, -1), cd.reshape(b * k, -1), (h, w), **extra)  # (B*K, 3, H, W)
        frames = torch.sigmoid(logits).view(b, k, 3, h, w)
        if return_aux:
            aux = self.heads(z)
            if chord is not None:
                aux["chord"] = chord
            if bar is not None:
                aux["bar"] = bar
            # How far the logits stray past +-LOGIT_LIMIT: a sigmoid beyond it has (almost) no
            # gradient, so a decoder pushed there early in training stays black for good. The
            # trainer penalises this (loss.saturation), which pulls such a decoder back.
            aux["logit_excess"] = (logits.float().abs() - LOGIT_LIMIT).clamp_min(0.0).square().mean()
            return frames, aux
        return frames

    # -- one frame at a time (live) ------------------------------------------------------------
    def init_state(self, batch: int, device: torch.device | str = "cpu") -> State:
        state = {"encoder": self.encoder.init_state(batch, device), "bridge": self.bridge.init_state(batch, device)}
        if self.harmony is not None:
            state["harmony"] = self.harmony.init_state(batch, device)
        if self.bar_path is not None:
            state["bar"] = self.bar_path.init_state(batch, device)
        return state

    def step(self, feature_t: torch.Tensor, control_t: torch.Tensor, state: State,
             size: tuple[int, int] | None = None) -> tuple[torch.Tensor, State]:
        """feature_t (B, F), control_t (B, C), state -> (frame_t (B, 3, H, W) in [0, 1], new state)."""
        self._check(feature_t, control_t, ("B",), "step")
        e, enc_state = self.encoder.step(feature_t, state["encoder"])  # (B, E)
        z, bridge_state = self.bridge.step(torch.cat([e, control_t], dim=-1), state["bridge"])  # (B, latent)
        new_state = {"encoder": enc_state, "bridge": bridge_state}
        extra = {}
        if self.bar_path is not None:
            offset, new_state["bar"] = self.bar_path.step(torch.cat([feature_t, z], dim=-1), state["bar"])
            z = z + offset
        if self.harmony is not None:
            colour, new_state["harmony"] = self.harmony.step(feature_t[:, -self.cfg.n_chroma:], state["harmony"])
            if self._into_palette:
                extra["colour"] = colour
            else:
                z = z + colour
        frame = torch.sigmoid(self.decoder(z, control_t, self._size(size), **extra))
        return frame, new_state

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_model(cfg: ModelConfig) -> AudioToVideo:
    """The model for `cfg`, freshly initialised (load weights with `synesthete.checkpoint`)."""
    return AudioToVideo(cfg)
