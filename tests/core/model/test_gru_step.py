"""gru_chunk: a one-frame chunk through torch.gru_cell gives nn.GRU's outputs and state."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from synesthete.model.gru_step import gru_chunk


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("batch", [1, 3])
def test_one_frame_equals_the_gru(layers, batch):
    torch.manual_seed(layers * 10 + batch)
    rnn = nn.GRU(7, 5, layers, batch_first=True).eval()
    x, h0 = torch.randn(batch, 1, 7), torch.randn(layers, batch, 5)
    want_y, want_h = rnn(x, h0)
    with torch.inference_mode():
        y, h = gru_chunk(rnn, x, h0)
    assert y.shape == want_y.shape and h.shape == want_h.shape
    torch.testing.assert_close(y, want_y.detach())
    torch.testing.assert_close(h, want_h.detach())


def test_frame_by_frame_equals_the_whole_sequence():
    torch.manual_seed(0)
    rnn = nn.GRU(4, 6, 1, batch_first=True).eval()
    x = torch.randn(2, 9, 4)
    want, _ = rnn(x)
    h = torch.zeros(1, 2, 6)
    ys = []
    with torch.no_grad():
        for t in range(9):
            y, h = gru_chunk(rnn, x[:, t: t + 1], h)
            ys.append(y)
    torch.testing.assert_close(torch.cat(ys, dim=1), want.detach())


def test_training_and_longer_chunks_use_the_gru_itself():
    """Training needs nn.GRU's autograd (and its dropout between layers); a longer chunk its
    sequence kernel. Both go through rnn(x, h0) unchanged, gradients included."""
    rnn = nn.GRU(3, 4, 2, batch_first=True, dropout=0.0).train()
    x = torch.randn(1, 1, 3, requires_grad=True)
    y, _ = gru_chunk(rnn, x, torch.zeros(2, 1, 4))
    y.sum().backward()
    assert x.grad is not None and rnn.weight_ih_l0.grad is not None
    rnn.eval()
    y5, h5 = gru_chunk(rnn, torch.randn(1, 5, 3), torch.zeros(2, 1, 4))
    assert y5.shape == (1, 5, 4) and h5.shape == (2, 1, 4)


def test_a_time_first_gru_is_left_to_itself():
    """x[:, 0] is the first frame only when the batch comes first: a time-first GRU keeps rnn(x, h0)."""
    torch.manual_seed(1)
    rnn = nn.GRU(3, 4, 1).eval()  # (T, B, in)
    x, h0 = torch.randn(2, 1, 3), torch.randn(1, 1, 4)  # two frames of one clip: x.shape[1] is the batch
    with torch.inference_mode():
        want_y, want_h = rnn(x, h0)
        y, h = gru_chunk(rnn, x, h0)
    torch.testing.assert_close(y, want_y)
    torch.testing.assert_close(h, want_h)
