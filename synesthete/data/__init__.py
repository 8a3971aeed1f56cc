"""Training data: the infinite procedural dataset."""

from synesthete.data.dataset import DataConfig, ProceduralClips, item_seed

__all__ = ["DataConfig", "ProceduralClips", "item_seed"]
