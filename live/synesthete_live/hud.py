"""The heads-up display: what a VJ needs to trust the rig at a glance, drawn over the picture.

Top-left text block: fps, frame time, audio->frame latency p50/p95, preset and style, input name
and status, MIDI activity, the recording indicator with its dropped-frame count, one line per
OSC/NDI link (sent, dropped, rejected), MIDI learn state and the last error line (a preset that
failed to load, a lost device). A level meter runs along the left edge. Text is re-rendered at
most 4 times a second into a cached surface (font rendering is the expensive part); each frame
only blits it and draws the meter rectangles.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
with warnings.catch_warnings():  # pygame's own pkg_resources deprecation warning: not ours to fix
    warnings.simplefilter("ignore")
    import pygame  # noqa: E402

REFRESH_S = 0.25
ERROR_SHOW_S = 8.0
MIDI_FLASH_S = 0.3


@dataclass
class HudInfo:
    """Everything the HUD shows; the live loop fills it in between frames."""

    fps: float = float("nan")
    frame_ms: float = float("nan")
    latency_p50: float = float("nan")
    latency_p95: float = float("nan")
    level: float = 0.0  # input RMS, 0..1
    input_name: str = ""
    input_status: str = ""
    preset: str = ""
    style: str = ""
    midi: str = ""  # port name, or "" when no MIDI
    midi_last: str = ""  # last MIDI source seen
    midi_time: float = 0.0  # perf_counter of the last MIDI event
    recording: bool = False
    record_dropped: int = 0
    record_error: str = ""
    learn: str = ""  # MIDI learn prompt, "" when off
    pickup: list[str] = field(default_factory=list)
    error: str = ""
    error_time: float = 0.0
    frozen: bool = False
    blackout: bool = False
    links: list[tuple[str, bool]] = field(default_factory=list)  # OSC / NDI status lines: (text, warn)


def _fmt(x: float, digits: int = 1) -> str:
    return "--" if x != x else f"{x:.{digits}f}"


class Hud:
    def __init__(self, font_size: int = 18) -> None:
        pygame.font.init()
        self.font = pygame.font.Font(None, font_size)
        self.visible = True
        self._text: pygame.Surface | None = None
        self._rendered_at = 0.0

    def lines(self, info: HudInfo, now: float) -> list[tuple[str, tuple[int, int, int]]]:
        white, red, green, yellow = (235, 235, 235), (255, 80, 80), (120, 255, 140), (255, 220, 90)
        out = [
            (f"{_fmt(info.fps)} fps   frame {_fmt(info.frame_ms, 2)} ms   "
             f"latency p50 {_fmt(info.latency_p50)} / p95 {_fmt(info.latency_p95)} ms", white),
            (f"preset {info.preset}   style {info.style}", white),
            (f"input {info.input_name} [{info.input_status}]",
             white if info.input_status in ("ok", "running", "") else red),
        ]
        if info.midi:
            active = now - info.midi_time < MIDI_FLASH_S
            out.append((f"midi {info.midi}  {'*' if active else ' '} {info.midi_last}", green if active else white))
        if info.recording or info.record_error:
            text = f"REC  dropped {info.record_dropped}" + (f"  {info.record_error}" if info.record_error else "")
            out.append((text, red))
        for text, warn in info.links:
            out.append((text, yellow if warn else white))
        if info.learn:
            out.append((f"MIDI LEARN: {info.learn}", yellow))
        if info.pickup:
            out.append(("pick up: " + ", ".join(sorted(info.pickup)), yellow))
        if info.frozen or info.blackout:
            out.append((" ".join(s for s, on in (("FREEZE", info.frozen), ("BLACKOUT", info.blackout)) if on), yellow))
        if info.error and now - info.error_time < ERROR_SHOW_S:
            out.append((info.error, red))
        return out

    def draw(self, screen: pygame.Surface, info: HudInfo) -> None:
        if not self.visible:
            return
        now = time.perf_counter()
        if self._text is None or now - self._rendered_at >= REFRESH_S:
            rows = [self.font.render(text, True, color) for text, color in self.lines(info, now)]
            width = max(r.get_width() for r in rows) + 16
            height = sum(r.get_height() + 2 for r in rows) + 10
            panel = pygame.Surface((width, height), pygame.SRCALPHA)
            panel.fill((0, 0, 0, 150))
            y = 5
            for r in rows:
                panel.blit(r, (12, y))
                y += r.get_height() + 2
            self._text = panel
            self._rendered_at = now
        screen.blit(self._text, (6, 6))
        # Level meter along the left edge, every frame (a live signal must not lag 250 ms).
        h = screen.get_height()
        level = min(max(info.level, 0.0), 1.0)
        pygame.draw.rect(screen, (40, 40, 40), pygame.Rect(0, 0, 5, h))
        bar = int(h * level)
        color = (120, 255, 140) if level < 0.7 else (255, 220, 90) if level < 0.9 else (255, 80, 80)
        pygame.draw.rect(screen, color, pygame.Rect(0, h - bar, 5, bar))
