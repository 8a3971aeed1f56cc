"""The models: the hearing model (audio -> music state, the default) and the audio-to-video pixel
model (the optional "neural" look), both built from swappable registered components around one
streaming contract.

See docs/model.md. Importing this package registers the built-in components.
"""

from synesthete.model import bridges, decoders, encoders, trackers  # noqa: F401  (register the components)
from synesthete.model.audio_to_video import AudioToVideo, State, build_model
from synesthete.model.config import (
    DEFAULT_SIZE,
    SIZES,
    BridgeConfig,
    DecoderConfig,
    EncoderConfig,
    HearingConfig,
    TrackerConfig,
    ModelConfig,
    hearing_config,
    model_config,
)
from synesthete.model.hearing import HearingModel, build_hearing_model, outputs_to_fields, to_music_state

__all__ = [
    "AudioToVideo", "BridgeConfig", "DecoderConfig", "DEFAULT_SIZE", "EncoderConfig", "HearingConfig",
    "HearingModel", "ModelConfig", "SIZES", "State", "TrackerConfig", "build_hearing_model", "build_model", "hearing_config",
    "model_config", "outputs_to_fields", "to_music_state",
]
