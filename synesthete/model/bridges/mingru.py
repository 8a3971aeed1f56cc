"""The "mingru" bridge: stacked minGRU layers (synesthete/model/min_gru.py), a memory that trains
as one parallel scan over the clip instead of a frame-by-frame loop; the "gru" bridge's module
around another cell."""

from __future__ import annotations

from synesthete.model.bridges.gru import GRUBridge
from synesthete.model.config import BridgeConfig
from synesthete.registry import register


@register("bridge", "mingru")
def mingru_bridge(in_dim: int, out_dim: int, cfg: BridgeConfig) -> GRUBridge:
    return GRUBridge(in_dim, out_dim, cfg.hidden, cfg.layers, cell="mingru")
