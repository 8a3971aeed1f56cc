"""The teacher's visual styles, one module each; importing this package registers them all.

To add a style: write `synesthete/visual/styles/<name>.py` with a `Style` subclass decorated
`@register("style", "<name>")`, and import it below. `synesthete.visual.teacher.STYLE_NAMES` picks
it up (sorted by name) and the style tests run it at once.
"""

from synesthete.visual.styles import (  # noqa: F401  (imported to register)
    flow,
    kaleidoscope,
    lattice,
    particles,
    plasma,
    rings,
    tunnel,
    waveform,
)
