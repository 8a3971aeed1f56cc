"""The pygame window: shows the performer's frames scaled smoothly to whatever size the window has.

The model renders small squares (64-256 px); the window is usually 16:9 and large. Each frame is
cropped to the window's aspect ("cover": the picture fills the window, the top and bottom of a
square frame are cut), scaled bilinearly with OpenCV into a preallocated window-sized buffer,
wrapped as a surface without copying (`pygame.image.frombuffer`) and blitted: 0.8 ms for
64 px -> 1280x720 on one CPU core, against 1.9 ms for `pygame.transform.smoothscale` (which also
needs a second blit, as it cannot write into the 32-bit display surface from a 24-bit frame). The window is resizable, toggles fullscreen, asks for vsync
where the driver offers it (then the flip waits for the display's refresh, counted in the
measured latency; `vsync=False` for the lowest latency), and reports the time right after `display.flip()`: the display time
of the frame.

Only pygame's video and font subsystems are started (never its audio mixer), and all of it runs
on the thread that created the window (macOS requires the main thread).
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from synesthete.constants import WINDOW_SIZE
from synesthete.frame_size import scale_interpolation

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
with warnings.catch_warnings():  # pygame's own pkg_resources deprecation warning: not ours to fix
    warnings.simplefilter("ignore")
    import pygame  # noqa: E402


def software_gl() -> bool:
    """True when this process's OpenGL runs on the CPU: Mesa's llvmpipe or softpipe (their worker
    threads exist). Linux only (/proc); elsewhere False."""
    try:
        names = [(task / "comm").read_text() for task in Path("/proc/self/task").iterdir()]
    except OSError:
        return False
    return any(n.startswith(("llvmpipe", "softpipe")) for n in names)


def cover_rect(src_w: int, src_h: int, dst_w: int, dst_h: int) -> pygame.Rect:
    """The largest centred part of a (src_w, src_h) picture with the aspect of (dst_w, dst_h)."""
    if src_w * dst_h > dst_w * src_h:  # source is wider: cut the sides
        w = max(1, round(src_h * dst_w / dst_h))
        return pygame.Rect((src_w - w) // 2, 0, w, src_h)
    h = max(1, round(src_w * dst_h / dst_w))
    return pygame.Rect(0, (src_h - h) // 2, src_w, h)


class Window:
    """A resizable, fullscreen-able window that shows uint8 (H, W, 3) frames."""

    def __init__(self, size: tuple[int, int] = WINDOW_SIZE, fullscreen: bool = False,
                 title: str = "Synesthete", vsync: bool = True) -> None:
        pygame.display.init()
        pygame.font.init()
        if pygame.display.get_driver() == "x11":
            # SDL backs a window surface with an OpenGL texture when it can, which is right on a GPU
            # and costly without one: on Mesa's llvmpipe (Xvfb, a VM, no GPU driver) every flip of a
            # 1280x720 window took ~5 ms of CPU on two llvmpipe threads and 8-16 ms of wall time;
            # X11's own shared-memory path takes ~1.2 ms and 1.7 ms (scripts/profile_live_frame.py,
            # docs/performance.md). SDL reads the hint when the window surface is made.
            os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
        pygame.display.set_caption(title)
        self.windowed_size = (int(size[0]), int(size[1]))
        self.fullscreen = False
        self.vsync = False
        self.want_vsync = vsync
        self._scaled: np.ndarray | None = None  # (H, W, 3) window-sized scaling buffer
        self.software_gl = False  # vsync was asked for, but OpenGL is Mesa's CPU renderer: plain window
        self._open(fullscreen)
        pygame.key.set_repeat(300, 40)  # held nudge keys keep nudging
        self.closed = False

    def _open(self, fullscreen: bool) -> None:
        self.screen = None
        if self.want_vsync and os.environ.get("SDL_VIDEODRIVER") != "dummy":
            # pygame honours vsync only with an SDL renderer, i.e. the SCALED flag: the surface
            # keeps the windowed size and SDL scales it to the window or screen (on the GPU where
            # there is one), so a 4K fullscreen costs no more CPU than the window.
            flags = pygame.SCALED | pygame.RESIZABLE | (pygame.FULLSCREEN if fullscreen else 0)
            try:
                self.screen = pygame.display.set_mode(self.windowed_size, flags, vsync=1)
                self.vsync = True
            except pygame.error:
                self.screen = None
            if self.screen is not None and software_gl():
                # The renderer is the CPU emulating a GPU: it syncs to no display refresh and costs
                # the show a core's worth of llvmpipe threads. The plain window is cheaper.
                self.screen, self.vsync, self.want_vsync = None, False, False
                self.software_gl = True
        if self.screen is None:
            flags = pygame.FULLSCREEN if fullscreen else pygame.RESIZABLE
            self.screen = pygame.display.set_mode((0, 0) if fullscreen else self.windowed_size, flags)
            self.vsync = False
        self.fullscreen = fullscreen

    @property
    def size(self) -> tuple[int, int]:
        return self.screen.get_size()

    @property
    def driver(self) -> str:
        """SDL's video driver ("x11", "wayland", "cocoa", "windows"; "dummy"/"offscreen": no display)."""
        return pygame.display.get_driver()

    def toggle_fullscreen(self) -> None:
        if self.vsync:  # SCALED windows switch in place (same surface, SDL rescales)
            pygame.display.toggle_fullscreen()
            self.fullscreen = not self.fullscreen
            return
        if not self.fullscreen:
            self.windowed_size = self.size
        self._open(not self.fullscreen)

    def poll(self) -> list[pygame.event.Event]:
        """Pending window events; window resizes are handled here, the rest returned."""
        out = []
        for event in pygame.event.get():
            if event.type == pygame.VIDEORESIZE and not self.fullscreen and not self.vsync:
                self.windowed_size = (max(event.w, 64), max(event.h, 64))
                self.screen = pygame.display.get_surface() or self.screen
            elif event.type == pygame.QUIT:
                self.closed = True
                out.append(event)
            else:
                out.append(event)
        return out

    def draw(self, image: np.ndarray) -> None:
        """Scale an (H, W, 3) uint8 frame onto the whole window (cover, smooth)."""
        h, w = image.shape[:2]
        dst_w, dst_h = self.size
        crop = cover_rect(w, h, dst_w, dst_h)
        src = image[crop.top : crop.bottom, crop.left : crop.right]
        interpolation = scale_interpolation(crop.w, dst_w)
        screen = self.screen
        if screen.get_bitsize() == 32 and screen.get_masks()[:3] == (0xFF0000, 0x00FF00, 0x0000FF) \
                and screen.get_pitch() == dst_w * 4:
            # The display surface is BGRX in memory: convert the small frame (render size) to BGRA
            # and scale it straight into the surface's pixels, one full-size pass instead of a
            # scale followed by a 24 -> 32-bit blit.
            small = cv2.cvtColor(np.ascontiguousarray(src), cv2.COLOR_RGB2BGRA)
            pixels = screen.get_buffer()  # locks the surface until released below
            view = np.frombuffer(pixels, np.uint8).reshape(dst_h, dst_w, 4)
            cv2.resize(small, (dst_w, dst_h), dst=view, interpolation=interpolation)
            del view, pixels
            return
        if self._scaled is None or self._scaled.shape[:2] != (dst_h, dst_w):
            self._scaled = np.empty((dst_h, dst_w, 3), np.uint8)  # reallocated only on a resize
        cv2.resize(src, (dst_w, dst_h), dst=self._scaled, interpolation=interpolation)
        screen.blit(pygame.image.frombuffer(self._scaled, (dst_w, dst_h), "RGB"), (0, 0))

    def flip(self) -> float:
        """Show what was drawn; returns the display time (perf_counter right after the flip)."""
        pygame.display.flip()
        return time.perf_counter()

    def pixels(self) -> np.ndarray:
        """What the window shows now, (H, W, 3) uint8 (tests and screenshots)."""
        return pygame.surfarray.array3d(self.screen).transpose(1, 0, 2).copy()

    def close(self) -> None:
        if not self.closed or pygame.display.get_init():
            pygame.display.quit()
        self.closed = True
