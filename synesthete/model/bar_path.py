"""The bar path: a side path (side_path.py) that hears where the bar starts.

Many teacher patterns loop once per bar (kaleidoscope wedges, lattice cells, tunnel flight), and a
model that does not know the downbeat is bounded at 20.4 dB (docs/evaluation.md). A bar head on
the rhythm memory finds the bar but takes the beat's place in it, and sync falls to 0.59-0.68x
the teacher's (docs/training.md). This path hears the bar beside the rhythm memory instead: its GRU
reads every feature (the kick pattern, the backbeat, the fills, the chord changes that land on
downbeats) and the rhythm memory's latent *detached* (the beat it already found, for free, while
the bar loss cannot pull on it); its state is added to the decoder's latent through a
zero-initialised linear layer, and with `bar_head` on, the bar-phase (sin, cos) head reads it
(trained with loss.bar).

    path = BarPath(n_features=90, latent_dim=64, hidden=32, bar=True)
    offset, bar = path(torch.cat([features, z.detach()], -1))    # (B, T, 64), (B, T, 2)
"""

from __future__ import annotations

from synesthete.model.side_path import SidePath


class BarPath(SidePath):
    def __init__(self, n_features: int, latent_dim: int, hidden: int, bar: bool = False) -> None:
        super().__init__(n_features + latent_dim, hidden, latent_dim, head_name="bar", head_dim=2 if bar else 0)
