"""The "transformer" bridge: a causal transformer over the last `context` frames.

Each frame attends to itself and the `context - 1` frames before it, never further. Position is a
learned bias per head and per distance (0 .. context - 1), so there is no absolute position that
would grow without bound during a night-long set. Streaming keeps a rolling KV cache of the last
`context` frames per layer; `forward` uses the same sliding-window mask, so `step` equals
`forward` at any length, also beyond `context` frames.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from synesthete.model.config import BridgeConfig
from synesthete.registry import register


class WindowAttention(nn.Module):
    def __init__(self, dim: int, heads: int, context: int) -> None:
        super().__init__()
        self.heads, self.head_dim, self.context = heads, dim // heads, context
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.rel_bias = nn.Parameter(torch.zeros(heads, context))  # (heads, distance)

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, t, _ = x.shape
        qkv = self.qkv(x).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return qkv[0], qkv[1], qkv[2]  # each (B, heads, T, head_dim)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim) + bias  # (B, heads, Tq, Tk)
        out = scores.softmax(dim=-1) @ v  # (B, heads, Tq, head_dim)
        b, _, t, _ = out.shape
        return self.proj(out.transpose(1, 2).reshape(b, t, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(x)
        t = x.shape[1]
        pos = torch.arange(t, device=x.device)
        dist = pos[:, None] - pos[None, :]  # (T, T): query minus key
        allowed = (dist >= 0) & (dist < self.context)
        bias = self.rel_bias[:, dist.clamp(0, self.context - 1)]  # (heads, T, T)
        bias = bias.masked_fill(~allowed, float("-inf"))
        return self._attend(q, k, v, bias)

    def step_chunk(self, x: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                   filled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, dim) -> (B, T, dim) and the caches after it; caches (B, heads, context, head_dim),
        newest last; `filled`: frames seen before the chunk (<= context)."""
        q, k, v = self._split(x)
        t = x.shape[1]
        keys, values = torch.cat([k_cache, k], dim=2), torch.cat([v_cache, v], dim=2)  # (B, heads, context + T, hd)
        query = self.context + torch.arange(t, device=x.device)  # each frame's slot among the keys
        slot = torch.arange(self.context + t, device=x.device)
        dist = query[:, None] - slot[None, :]  # (T, context + T)
        allowed = (dist >= 0) & (dist < self.context) & (slot >= self.context - filled)[None, :]
        bias = self.rel_bias[:, dist.clamp(0, self.context - 1)].masked_fill(~allowed, float("-inf"))
        return self._attend(q, keys, values, bias), keys[:, :, t:], values[:, :, t:]


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, context: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, context)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))


class TransformerBridge(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden: int, layers: int, heads: int, context: int) -> None:
        super().__init__()
        if hidden % heads != 0:
            raise ValueError(f"bridge.hidden ({hidden}) must be divisible by bridge.heads ({heads})")
        if context < 1:
            raise ValueError(f"bridge.context must be >= 1 frame, got {context}")
        self.hidden, self.heads, self.context = hidden, heads, context
        self.inp = nn.Linear(in_dim, hidden)
        self.blocks = nn.ModuleList(Block(hidden, heads, context) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)
        self.out = nn.Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)  # (B, T, hidden)
        for blk in self.blocks:
            h = h + blk.attn(blk.norm1(h))
            h = h + blk.mlp(blk.norm2(h))
        return self.out(self.norm(h))

    def init_state(self, batch: int, device: torch.device | str) -> tuple[torch.Tensor, ...]:
        shape = (len(self.blocks), batch, self.heads, self.context, self.hidden // self.heads)
        zeros = torch.zeros(shape, device=device)  # (layers, B, heads, context, head_dim)
        return (zeros, zeros.clone(), torch.zeros((), dtype=torch.long, device=device))

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        y, state = self.step_chunk(x.unsqueeze(1), state)  # a chunk of one frame
        return y[:, 0], state

    def step_chunk(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        k_all, v_all, filled = state
        h = self.inp(x)  # (B, T, hidden)
        ks, vs = [], []
        for i, blk in enumerate(self.blocks):
            a, k, v = blk.attn.step_chunk(blk.norm1(h), k_all[i], v_all[i], filled)
            h = h + a
            h = h + blk.mlp(blk.norm2(h))
            ks.append(k)
            vs.append(v)
        filled = (filled + x.shape[1]).clamp(max=self.context)
        return self.out(self.norm(h)), (torch.stack(ks), torch.stack(vs), filled)


@register("bridge", "transformer")
def transformer_bridge(in_dim: int, out_dim: int, cfg: BridgeConfig) -> TransformerBridge:
    return TransformerBridge(in_dim, out_dim, cfg.hidden, cfg.layers, cfg.heads, cfg.context)
