"""Chunk stepping: `step_chunk` over T frames equals `step` T times and `forward` on the whole clip,
for every registered encoder, bridge and the hearing model over every encoder x bridge (an offline
render hears 30 frames per call, the live loop one: both must give the same fields)."""

from __future__ import annotations

import itertools

import pytest
import torch

from synesthete.model import build_hearing_model, hearing_config
from synesthete.model.config import BridgeConfig, EncoderConfig
from synesthete.model.side_path import SidePath
from synesthete.registry import available, build

COMBOS = list(itertools.product(available("encoder"), available("bridge")))
# 13 frames cut unevenly: a chunk of one, chunks longer than the tiny transformer bridge's
# 4-frame context and than the conv encoder's kernel, so every cache wraps inside a chunk and across.
CUTS = (1, 5, 2, 1, 4)


def chunks(x: torch.Tensor):
    t = 0
    for n in CUTS:
        yield x[:, t : t + n]
        t += n
    assert t == x.shape[1]


def clip(width: int, batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, sum(CUTS), width, generator=torch.Generator().manual_seed(seed))


def stepped(module, x: torch.Tensor) -> torch.Tensor:
    state = module.init_state(x.shape[0], x.device)
    out = []
    for t in range(x.shape[1]):
        y, state = module.step(x[:, t], state)
        out.append(y)
    return torch.stack(out, dim=1)


def chunked(module, x: torch.Tensor) -> torch.Tensor:
    state = module.init_state(x.shape[0], x.device)
    out = []
    for part in chunks(x):
        y, state = module.step_chunk(part, state)
        assert y.shape[:2] == part.shape[:2]
        out.append(y)
    return torch.cat(out, dim=1)


def tiny_component(kind: str, name: str, in_dim: int = 20):
    import synesthete.model  # noqa: F401  (registers the built-ins)

    torch.manual_seed(0)
    if kind == "encoder":
        return build("encoder", name, in_dim=in_dim, cfg=EncoderConfig(name=name, hidden=16, layers=1, heads=2,
                                                                       band_size=4, kernel=3), n_mels=16).eval()
    return build("bridge", name, in_dim=in_dim, out_dim=8, cfg=BridgeConfig(name=name, hidden=16, layers=2, heads=2,
                                                                           context=4)).eval()


@pytest.mark.parametrize("kind,name", [("encoder", n) for n in available("encoder")]
                         + [("bridge", n) for n in available("bridge")])
def test_every_component_steps_a_chunk_as_it_steps_frames(kind, name):
    module = tiny_component(kind, name)
    x = clip(20)
    with torch.no_grad():
        whole, frames, parts = module(x), stepped(module, x), chunked(module, x)
    torch.testing.assert_close(parts, frames, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(parts, whole, atol=1e-5, rtol=1e-5)


def test_the_side_path_steps_a_chunk_as_it_steps_frames():
    torch.manual_seed(0)
    path = SidePath(in_dim=12, hidden=8, out_dim=6, head_name="chord", head_dim=12).eval()
    x = clip(12)
    with torch.no_grad():
        torch.testing.assert_close(chunked(path, x), stepped(path, x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(chunked(path, x), path(x)[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("encoder,bridge", COMBOS, ids=["-".join(c) for c in COMBOS])
def test_the_hearing_model_steps_a_chunk_as_it_steps_frames(encoder, bridge):
    torch.manual_seed(0)
    model = build_hearing_model(hearing_config("tiny", n_mels=16, encoder={"name": encoder},
                                               bridge={"name": bridge}, harmony_context=True)).eval()
    x = clip(model.cfg.n_features, seed=1)
    with torch.no_grad():
        state = model.init_state(2)
        frames = []
        for t in range(x.shape[1]):
            fields, state = model.step(x[:, t], state)
            frames.append(fields)
        per_frame = {k: torch.stack([f[k] for f in frames], dim=1) for k in frames[0]}
        state, parts = model.init_state(2), []
        for part in chunks(x):
            fields, state = model.step_chunk(part, state)
            parts.append(fields)
        per_chunk = {k: torch.cat([p[k] for p in parts], dim=1) for k in parts[0]}
        whole = model.fields(x)
    assert set(per_chunk) == set(per_frame) == set(whole)
    for key in per_frame:
        # The same arithmetic to float rounding: the argmax fields equal, the phases on the circle.
        if key in ("beat_phase", "bar_phase"):
            for other in (per_frame, whole):
                d = torch.remainder(per_chunk[key] - other[key] + 0.5, 1.0) - 0.5
                assert d.abs().max() < 1e-5, key
        else:
            torch.testing.assert_close(per_chunk[key], per_frame[key], atol=1e-5, rtol=1e-5, msg=key)
            torch.testing.assert_close(per_chunk[key], whole[key], atol=1e-4, rtol=1e-4, msg=key)
