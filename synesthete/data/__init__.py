"""Training data: the infinite procedural dataset."""

from synesthete.data.dataset import DataConfig, HearingClips, HearingDataConfig, ProceduralClips, item_seed

__all__ = ["DataConfig", "HearingClips", "HearingDataConfig", "ProceduralClips", "item_seed"]
