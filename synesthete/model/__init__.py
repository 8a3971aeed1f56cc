"""The audio-to-video model: swappable encoders, bridges and decoders around one streaming contract.

See docs/model.md. Importing this package registers the built-in components.
"""

from synesthete.model import bridges, decoders, encoders  # noqa: F401  (register the components)
from synesthete.model.audio_to_video import AudioToVideo, State, build_model
from synesthete.model.config import (
    DEFAULT_SIZE,
    SIZES,
    BridgeConfig,
    DecoderConfig,
    EncoderConfig,
    ModelConfig,
    model_config,
)

__all__ = [
    "AudioToVideo", "BridgeConfig", "DecoderConfig", "DEFAULT_SIZE", "EncoderConfig", "ModelConfig",
    "SIZES", "State", "build_model", "model_config",
]
