"""Looks: the pictures drawn from the music state (see `synesthete.looks.base`).

Importing this package registers every look: each procedural style (`styles`) and the pixel
network (`neural`). To add a look, write `synesthete/looks/<name>.py` with a `Look` subclass
decorated `@register("look", "<name>")` and import it below.
"""

from synesthete.looks import neural, styles  # noqa: F401  (imported to register)
from synesthete.looks.base import Look, build_look, look_names
from synesthete.looks.mixer import LookMixer

__all__ = ["Look", "LookMixer", "build_look", "look_names"]
