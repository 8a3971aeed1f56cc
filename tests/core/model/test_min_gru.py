"""minGRU (synesthete.model.min_gru): the parallel scan is the recurrence it stands for."""

from __future__ import annotations

import pytest
import torch

from synesthete.model import min_gru
from synesthete.model.min_gru import MinGRU


def _rule(rnn: MinGRU, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The recurrence written out frame by frame, layer by layer: the reference."""
    b = x.shape[0]
    h = torch.zeros(rnn.num_layers, b, rnn.hidden_size) if h0 is None else h0.clone()
    for i, lin in enumerate(rnn.gates):
        ys = []
        for t in range(x.shape[1]):
            k, cand = lin(x[:, t]).chunk(2, dim=-1)
            z = torch.sigmoid(k)
            h[i] = (1 - z) * h[i] + z * cand
            ys.append(h[i].clone())
        x = torch.stack(ys, dim=1)
    return x, h


@pytest.mark.parametrize("layers", [1, 2])
def test_scan_equals_the_recurrence(layers):
    torch.manual_seed(0)
    rnn = MinGRU(5, 7, layers)
    x = torch.randn(3, 40, 5)
    y, h = rnn(x)
    y_ref, h_ref = _rule(rnn, x)
    assert y.shape == (3, 40, 7) and h.shape == (layers, 3, 7)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(h, h_ref, rtol=1e-5, atol=1e-5)


def test_steps_and_chunks_carry_the_state(monkeypatch):
    """Frame by frame, in uneven chunks, and across scan blocks: the same outputs as one call."""
    monkeypatch.setattr(min_gru, "_BLOCK", 8)  # so a 50-frame call crosses six block borders
    torch.manual_seed(1)
    rnn = MinGRU(4, 6, 2)
    x = torch.randn(2, 50, 4)
    y, h = rnn(x)
    state = torch.zeros(2, 2, 6)
    frames = []
    for t in range(50):
        y_t, state = rnn(x[:, t:t + 1], state)
        frames.append(y_t)
    torch.testing.assert_close(torch.cat(frames, dim=1), y, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(state, h, rtol=1e-5, atol=1e-5)
    state, chunks = torch.zeros(2, 2, 6), []
    for a, b in ((0, 3), (3, 20), (20, 21), (21, 50)):
        y_c, state = rnn(x[:, a:b], state)
        chunks.append(y_c)
    torch.testing.assert_close(torch.cat(chunks, dim=1), y, rtol=1e-5, atol=1e-5)


def test_long_chunks_stay_finite_and_gradients_reach_every_weight():
    torch.manual_seed(2)
    rnn = MinGRU(3, 4, 2)
    with torch.no_grad():
        for lin in rnn.gates:  # gates near 1: every frame nearly replaces the state
            lin.bias[: rnn.hidden_size] = 8.0
    x = torch.randn(1, 3000, 3)
    y, _ = rnn(x)
    assert torch.isfinite(y).all()
    y[:, -100:].pow(2).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
               for p in rnn.parameters())


def test_bad_sizes_are_one_error():
    with pytest.raises(ValueError, match="hidden >= 1"):
        MinGRU(3, 0)
