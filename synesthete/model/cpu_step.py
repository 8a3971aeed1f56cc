"""The hearing network's one-frame step at batch 1 on a CPU, in numpy: the live app's hot path.

The live app hears one frame of 1/60 s at a time at batch 1. There the network's arithmetic is
~60k multiply-adds, and torch's cost is not the sums but the ~60 operator calls around them:
each costs 2-10 us of dispatch (oneDNN's exact GELU alone ~9 us of set-up per call, three per
frame), so the network took ~0.4 ms of a hearing step that must stay under 1 ms on a CPU without
AVX-512 (docs/performance.md). numpy calls on vectors of 64 cost ~1 us, so the same step here
takes about half that.

`CpuStep` reads a `HearingModel`'s weights through numpy views of their memory (so in-place
updates reach it) and runs the same layers on float32 vectors:
the "conv" encoder (linear, GELU, a causal convolution over the last `kernel` frames, linear, GELU,
LayerNorm) or the "spectral" one (the same plus its two strided frequency convolutions over the
last `kernel` log-mel frames, as matrix products over gathered columns) or the "tcn" one (the
same plus its dilated residual blocks, each one product over its three taps), the "gru" or "mingru"
bridge, the chord GRU or minGRU beside it (`harmony_hidden`, `harmony_cell`, with or without
`harmony_context`), the `skip` concatenation and the heads' linear layer (and the phase head's,
where the tracker reads it). Its outputs are the head
layer's, equal to torch's to float32 rounding (sums in another order: ~1e-5 on logits;
tests/core/model/test_cpu_step.py), and its states are the torch step's own tensors (shared
memory, no copies), so a stream may switch between the two at any frame. Any other architecture
returns None from `CpuStep.of` and keeps the torch step.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.special import erf, expit

from synesthete.model.min_gru import MinGRU

_SQRT_HALF = np.float32(np.sqrt(0.5))
_HALF = np.float32(0.5)


def _gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU, x Phi(x) (torch's default, not the tanh approximation)."""
    return x * (_HALF + _HALF * erf(x * _SQRT_HALF))


def _view(t: torch.Tensor) -> np.ndarray:
    """The parameter's own memory as numpy (no copy): in-place updates (an optimiser step, a
    weight average, `load_state_dict`) reach the numpy step without a rebuild."""
    return t.detach().numpy()


def _viewable(t: torch.Tensor) -> bool:
    return t.device.type == "cpu" and t.dtype == torch.float32 and t.is_contiguous()


class _GRU:
    """One single-layer `nn.GRU` cell: torch's gate order (reset, update, new) and arithmetic."""

    def __init__(self, rnn: torch.nn.GRU, layer: int) -> None:
        self.w_ih, self.w_hh = _view(getattr(rnn, f"weight_ih_l{layer}")), _view(getattr(rnn, f"weight_hh_l{layer}"))
        self.b_ih, self.b_hh = _view(getattr(rnn, f"bias_ih_l{layer}")), _view(getattr(rnn, f"bias_hh_l{layer}"))
        self.hidden = rnn.hidden_size

    def __call__(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        n_ = 2 * self.hidden
        gi = self.w_ih @ x + self.b_ih
        gh = self.w_hh @ h + self.b_hh
        rz = expit(gi[:n_] + gh[:n_])
        n = np.tanh(gi[n_:] + rz[:self.hidden] * gh[n_:])
        return n + rz[self.hidden:] * (h - n)  # (1 - z) n + z h


class _MinGRU:
    """One minGRU layer (synesthete.model.min_gru): h + z (h~ - h), gate and candidate from x alone."""

    def __init__(self, rnn, layer: int) -> None:
        lin = rnn.gates[layer]
        self.w, self.b = _view(lin.weight), _view(lin.bias)
        self.hidden = rnn.hidden_size

    def __call__(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        g = self.w @ x + self.b
        return h + expit(g[:self.hidden]) * (g[self.hidden:] - h)


def _cells(rnn) -> list:
    """The numpy cells of a `nn.GRU` or `MinGRU`, one per layer."""
    cell = _GRU if isinstance(rnn, torch.nn.GRU) else _MinGRU
    return [cell(rnn, layer) for layer in range(rnn.num_layers)]


def _known(rnn) -> bool:
    """A recurrent memory this module can step: a biased nn.GRU, or a MinGRU."""
    return bool(rnn.bias) if isinstance(rnn, torch.nn.GRU) else isinstance(rnn, MinGRU)


class _Spectral:
    """The spectral encoder's frequency path: (k, n_mels) log-mel frames -> (hidden,). Each strided
    convolution is one matrix product over the columns it reads (gathered by a fixed index)."""

    def __init__(self, enc) -> None:
        self.n_mels = enc.n_mels
        self.w1, self.b1 = _view(enc.conv1.weight).reshape(enc.conv1.out_channels, -1), _view(enc.conv1.bias)
        self.w2, self.b2 = _view(enc.conv2.weight).reshape(enc.conv2.out_channels, -1), _view(enc.conv2.bias)
        self.w3, self.b3 = _view(enc.spec.weight), _view(enc.spec.bias)
        self.pad1, self.pad2 = enc.conv1.padding[0], enc.conv2.padding[0]
        n1, n2 = enc.bands
        self.idx1 = 2 * np.arange(n1)[:, None] + np.arange(enc.conv1.kernel_size[0])  # (n1, 5)
        self.idx2 = 2 * np.arange(n2)[:, None] + np.arange(enc.conv2.kernel_size[0])  # (n2, 3)
        # zero-padded inputs, preallocated: np.pad costs ~60 us a call, the whole path ~40 us without it
        self.in1 = np.zeros((enc.kernel, self.n_mels + 2 * self.pad1), np.float32)
        self.in2 = np.zeros((enc.conv1.out_channels, n1 + 2 * self.pad2), np.float32)

    def __call__(self, mels: np.ndarray) -> np.ndarray:
        p = self.in1
        p[:, self.pad1: self.pad1 + self.n_mels] = mels  # (k, n_mels + 4), the pads stay zero
        cols = p[:, self.idx1].transpose(1, 0, 2).reshape(self.idx1.shape[0], -1)  # (n1, k x 5): the weight's order
        a = _gelu(cols @ self.w1.T + self.b1).T  # (C, n1)
        p = self.in2
        p[:, self.pad2: p.shape[1] - self.pad2] = a
        cols = p[:, self.idx2].transpose(1, 0, 2).reshape(self.idx2.shape[0], -1)  # (n2, C x 3)
        b = _gelu(cols @ self.w2.T + self.b2)  # (n2, 2C)
        return self.w3 @ b.T.reshape(-1) + self.b3  # torch flattens channel-major


class _Tcn:
    """The tcn encoder's dilated residual blocks on one frame: y (H,) and each block's last 2d
    inputs (2d, H) -> (y after the blocks, each block's window after this frame)."""

    def __init__(self, enc) -> None:
        # each tap conv (O, I, 3) as one matrix (O, I 3) over the window's three frames (I, 3)
        self.blocks = [(d, _view(t.weight).reshape(enc.out_dim, -1), _view(t.bias), _view(m.weight), _view(m.bias))
                       for d, t, m in zip(enc.dilations, enc.taps, enc.mixes)]

    def __call__(self, y: np.ndarray, earlier: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        kept = []
        for (d, tw, tb, mw, mb), before in zip(self.blocks, earlier):
            window = np.concatenate([before, y[None]])  # (2d + 1, H), oldest first
            taps = window[::d]  # frames t - 2d, t - d, t
            y = y + mw @ _gelu(tw @ taps.T.reshape(-1) + tb) + mb
            kept.append(window[1:])
        return y, kept


class CpuStep:
    """`model`'s network, features (F,) -> the head layer's outputs (W,), then with
    `model.live_phase` the phase head's 4, one frame at batch 1."""

    @classmethod
    def of(cls, model) -> CpuStep | None:
        """The step over `model`'s parameters (their memory, not a copy), or None where the
        architecture is not the one this module knows (another encoder or bridge, a GRU without
        biases) or a parameter is not a contiguous float32 CPU tensor."""
        cfg = model.cfg
        if cfg.encoder.name not in ("conv", "spectral", "tcn") or cfg.bridge.name not in ("gru", "mingru") \
                or not _known(model.bridge.rnn):
            return None
        if cfg.head_frames:  # heads that read raw frames: the torch step
            return None
        if model.harmony is not None and (model.harmony.rnn.num_layers != 1 or not _known(model.harmony.rnn)):
            return None
        if not all(_viewable(p) for p in model.parameters()):
            return None
        return cls(model)

    def __init__(self, model) -> None:
        enc = model.encoder
        self.n_chroma, self.skip = model.cfg.n_chroma, model.cfg.skip
        self.harmony_context = model.cfg.harmony_context
        self.inp_w, self.inp_b = _view(enc.inp.weight), _view(enc.inp.bias)
        # conv weight (O, I, k) as one matrix (O, I k) over the window of frames read (I, k)
        self.conv_w = _view(enc.conv.weight).reshape(enc.out_dim, -1)
        self.conv_b = _view(enc.conv.bias)
        self.out_w, self.out_b = _view(enc.out.weight), _view(enc.out.bias)
        self.norm_w, self.norm_b = _view(enc.norm.weight), _view(enc.norm.bias)
        self.norm_eps = np.float32(enc.norm.eps)
        self.inv_h = np.float32(1.0 / enc.out_dim)
        self.spectral = _Spectral(enc) if model.cfg.encoder.name == "spectral" else None
        self.tcn = _Tcn(enc) if model.cfg.encoder.name == "tcn" else None
        self.bridge = _cells(model.bridge.rnn)
        self.bridge_w, self.bridge_b = _view(model.bridge.out.weight), _view(model.bridge.out.bias)
        self.harmony = _cells(model.harmony.rnn)[0] if model.harmony is not None else None
        self.heads_w, self.heads_b = _view(model.heads.weight), _view(model.heads.bias)
        # the phase head, where the tracker reads it (HearingModel.live_phase): its 4 values after the heads'
        self.phase = (_view(model.phase.weight), _view(model.phase.bias)) if model.live_phase else None

    def __call__(self, x: np.ndarray, state: dict[str, tuple[torch.Tensor, ...]],
                 ) -> tuple[np.ndarray, dict[str, tuple[torch.Tensor, ...]]]:
        """x (F,) float32, state (the torch step's encoder / bridge / harmony entries, batch 1)
        -> (the head layer's outputs (W,), those entries after this frame)."""
        # encoder: window (k - 1, H) of earlier frames' first-layer outputs, plus this frame's
        buffered = state["encoder"][0].numpy()[0]
        h = _gelu(self.inp_w @ x + self.inp_b)
        window = np.concatenate([buffered, h[None]])  # (k, H), oldest first
        y = h + _gelu(self.conv_w @ window.T.reshape(-1) + self.conv_b)
        if self.spectral is not None:
            mels = np.concatenate([state["encoder"][1].numpy()[0], x[None, :self.spectral.n_mels]])  # (k, n_mels)
            y = y + self.spectral(mels)
        if self.tcn is not None:
            y, kept = self.tcn(y, [t.numpy()[0] for t in state["encoder"][1:]])
        y = _gelu(self.out_w @ y + self.out_b)
        d = y - y.sum() * self.inv_h
        e = d / np.sqrt(np.dot(d, d) * self.inv_h + self.norm_eps) * self.norm_w + self.norm_b
        # bridge: the stacked GRU or minGRU, then its linear layer
        hs = state["bridge"][0].numpy()[:, 0]  # (L, hidden)
        inp, new_hs = e, []
        for layer, cell in enumerate(self.bridge):
            inp = cell(inp, hs[layer])
            new_hs.append(inp)
        z = self.bridge_w @ inp + self.bridge_b
        phase = self.phase[0] @ z + self.phase[1] if self.phase is not None else None
        if self.skip:
            z = np.concatenate([z, e])
        enc_state = (torch.from_numpy(window[None, 1:]),)
        if self.spectral is not None:
            enc_state += (torch.from_numpy(mels[None, 1:]),)
        if self.tcn is not None:
            enc_state += tuple(torch.from_numpy(k[None]) for k in kept)
        new = {"encoder": enc_state,
               "bridge": (torch.from_numpy(np.stack(new_hs)[:, None]),)}
        if self.harmony is not None:
            chroma = x[x.shape[0] - self.n_chroma:]
            hh = self.harmony(np.concatenate([chroma, z]) if self.harmony_context else chroma,
                              state["harmony"][0].numpy()[0, 0])
            z = np.concatenate([z, hh])
            new["harmony"] = (torch.from_numpy(hh[None, None]),)
        y = self.heads_w @ z + self.heads_b
        return (np.concatenate([y, phase]) if phase is not None else y), new
