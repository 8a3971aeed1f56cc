"""Teacher visualizers: procedural styles that draw the training target frames from the score.

Importing this package registers every style (registry kind "style"). The public entry points:
`render_teacher`, `random_style_weights`, `STYLE_NAMES` (teacher), `chord_palette` (palette) and
`groove_controls` (synthetic controls for tests and benchmarks).
"""

from synesthete.visual.palette import chord_palette
from synesthete.visual.synthetic import groove_controls
from synesthete.visual.teacher import STYLE_NAMES, get_style, random_style_weights, render_teacher

__all__ = ["STYLE_NAMES", "chord_palette", "get_style", "groove_controls", "random_style_weights", "render_teacher"]
