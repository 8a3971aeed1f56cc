"""The heads-up display: what a VJ needs to trust the rig at a glance, drawn over the picture.

Top-left text block: fps, frame time, audio->frame latency p50/p95, the render size, preset and
look, what hears the music, input name and status, MIDI activity, the recording indicator with its
dropped-frame count, one line per OSC/NDI link (sent, dropped, rejected), MIDI learn state and the
last error line (a preset that failed to load, a lost device). A level meter runs along the left
edge. Bottom-left, every frame, what the music state says (so a VJ sees what the model hears):
four beat dots (the beat of the bar lit, the downbeat larger, fading through the beat), one box
per stem lit by its envelope and outlined on a hit, the chord name and the tempo. Text is
re-rendered at most 4 times a second into a cached surface (font rendering is the expensive
part); the music panel draws rectangles and circles and blits cached labels.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from synesthete.audio.composer import BEATS_PER_BAR
from synesthete.constants import STEMS
from synesthete.music_state import MusicState

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
with warnings.catch_warnings():  # pygame's own pkg_resources deprecation warning: not ours to fix
    warnings.simplefilter("ignore")
    import pygame  # noqa: E402

REFRESH_S = 0.25
ERROR_SHOW_S = 8.0
MIDI_FLASH_S = 0.3
RECORD_LAG_SHOW_S = 1.0  # the encoder this far behind: shown, since a crash would lose that much


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
    record_lag: float = 0.0  # seconds of show not yet in the file (what a crash now would lose)
    learn: str = ""  # MIDI learn prompt, "" when off
    pickup: list[str] = field(default_factory=list)
    error: str = ""
    error_time: float = 0.0
    frozen: bool = False
    blackout: bool = False
    render_size: str = ""  # "WxH" the looks draw at
    hearing: str = ""  # what hears the music (the model's checkpoint, or the demo's score)
    state: MusicState | None = None  # the shown frame's music state
    hits: np.ndarray | None = None  # (n_stems,) strongest onset per stem since the last shown frame
    links: list[tuple[str, bool]] = field(default_factory=list)  # OSC / NDI status lines: (text, warn)


STEM_LABELS = {"kick": "K", "snare": "S", "hat_closed": "HH", "hat_open": "OH", "perc": "P", "bass": "B",
               "chords": "C", "lead": "L", "fx": "FX"}


def _fmt(x: float, digits: int = 1) -> str:
    return "--" if x != x else f"{x:.{digits}f}"


class Hud:
    def __init__(self, font_size: int = 18) -> None:
        pygame.font.init()
        self.font = pygame.font.Font(None, font_size)
        self.big = pygame.font.Font(None, 30)
        self.visible = True
        self._labels = {s: self.font.render(STEM_LABELS.get(s, s[:2]), True, (235, 235, 235)) for s in STEMS}
        self._chord: tuple[str, pygame.Surface] | None = None
        self._text: pygame.Surface | None = None
        self._rendered_at = 0.0

    def lines(self, info: HudInfo, now: float) -> list[tuple[str, tuple[int, int, int]]]:
        white, red, green, yellow = (235, 235, 235), (255, 80, 80), (120, 255, 140), (255, 220, 90)
        out = [
            (f"{_fmt(info.fps)} fps   frame {_fmt(info.frame_ms, 2)} ms   "
             f"latency p50 {_fmt(info.latency_p50)} / p95 {_fmt(info.latency_p95)} ms   render {info.render_size}", white),
            (f"preset {info.preset}   look {info.style}", white),
            (f"hearing {info.hearing}", white),
            (f"input {info.input_name} [{info.input_status}]",
             white if info.input_status in ("ok", "running", "") else red),
        ]
        if info.midi:
            active = now - info.midi_time < MIDI_FLASH_S
            out.append((f"midi {info.midi}  {'*' if active else ' '} {info.midi_last}", green if active else white))
        if info.recording or info.record_error:
            text = f"REC  dropped {info.record_dropped}" + (f"  {info.record_error}" if info.record_error else "")
            if info.record_lag >= RECORD_LAG_SHOW_S and not info.record_error:
                text += f"  encoder {info.record_lag:.1f} s behind"
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
        if info.state is not None:
            self.draw_music(screen, info.state, info.hits)

    def draw_music(self, screen: pygame.Surface, state: MusicState, hits: np.ndarray | None) -> None:
        """The music state panel, bottom-left: beat dots, stem boxes, chord and tempo."""
        h = screen.get_height()
        box, gap = 26, 4
        width = len(STEMS) * (box + gap) + 12
        top = h - 96
        panel = pygame.Surface((width, 90), pygame.SRCALPHA)
        panel.fill((0, 0, 0, 150))
        screen.blit(panel, (6, top))
        # Beat dots: the beat of the bar lit (the downbeat larger), fading through the beat.
        beat_phase = float(state.beat_phase[0])
        beat = int(np.floor(float(state.bar_phase[0]) * BEATS_PER_BAR)) % BEATS_PER_BAR
        glow = 1.0 - beat_phase
        for k in range(BEATS_PER_BAR):
            on = k == beat
            level = int(60 + 195 * glow) if on else 60
            colour = (level, level // 3, level // 3) if k == 0 else (level, level, level)
            pygame.draw.circle(screen, colour, (22 + k * 22, top + 16), 9 if k == 0 else 7)
        # Chord name and tempo (the text surface re-rendered only when it changes).
        text = f"{state.chord_name()}   {float(state.tempo[0]):.0f} bpm"
        if self._chord is None or self._chord[0] != text:
            self._chord = (text, self.big.render(text, True, (235, 235, 235)))
        screen.blit(self._chord[1], (22 + BEATS_PER_BAR * 22, top + 4))
        # Stems: a box per stem filled by its envelope, outlined white on a hit.
        env = np.clip(state.env[0], 0.0, 1.0)
        onset = state.onset[0] if hits is None else hits
        for j, stem in enumerate(STEMS):
            x, y = 12 + j * (box + gap), top + 36
            fill = int(30 + 225 * float(env[j]))
            pygame.draw.rect(screen, (fill // 4, fill, fill // 2), pygame.Rect(x, y, box, box))
            if onset[j] > 0.5:
                pygame.draw.rect(screen, (255, 255, 255), pygame.Rect(x - 2, y - 2, box + 4, box + 4), 2)
            label = self._labels[stem]
            screen.blit(label, (x + (box - label.get_width()) // 2, y + box + 2))
