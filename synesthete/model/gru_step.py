"""A `nn.GRU` run over a chunk with its state carried in, cheap when the chunk is one frame.

The live app steps the hearing model one frame at a time, and on a CPU `nn.GRU.forward` costs
~80 us per call on a (1, 1, in) input (argument checks, flattening the weights, the RNN kernel's
set-up) where `torch.gru_cell` does the same sums in ~40 us, with bit-identical results (the same
gate arithmetic; `tests/core/model/test_gru_step.py`). Two GRUs per frame (the rhythm memory and
the chord's side path) make that ~0.08 ms of a hearing step that must stay under 1 ms on a CPU
without AVX-512 (docs/performance.md). Longer chunks (offline, training) keep `nn.GRU`, whose
kernel runs the whole sequence at once.
"""

from __future__ import annotations

import torch
from torch import nn

from synesthete.model.min_gru import MinGRU


def gru_chunk(rnn: nn.GRU, x: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x (B, T, in) with `rnn` batch-first, h0 (layers, B, hidden) -> (y (B, T, hidden), h (layers, B, hidden))."""
    # the cell path reads x as batch-first and the weights of a plain, biased, one-way GRU in eval
    if x.shape[1] != 1 or rnn.training or not rnn.batch_first or not rnn.bias or rnn.bidirectional:
        return rnn(x, h0)
    inp, hs = x[:, 0], []
    for layer in range(rnn.num_layers):
        inp = torch.gru_cell(inp, h0[layer], getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}"),
                             getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}"))
        hs.append(inp)
    return inp[:, None], torch.stack(hs)


def memory(cell: str, in_dim: int, hidden: int, layers: int) -> nn.Module:
    """A batch-first recurrent memory: `nn.GRU` for cell "gru", `MinGRU` for "mingru"."""
    return MinGRU(in_dim, hidden, layers) if cell == "mingru" else nn.GRU(in_dim, hidden, layers, batch_first=True)


def memory_chunk(rnn: nn.Module, x: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`gru_chunk` for an `nn.GRU`; any other memory with nn.GRU's call (a `MinGRU`) runs as itself."""
    return gru_chunk(rnn, x, h0) if isinstance(rnn, nn.GRU) else rnn(x, h0)
