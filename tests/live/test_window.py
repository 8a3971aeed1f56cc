"""Window, HUD and keys under SDL's dummy video driver: frames fill the window (cover, smooth),
the HUD draws over them, and every control of the performer has a key."""

import os
import shutil
import subprocess
import sys

os.environ["SDL_VIDEODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from synesthete.controls import CONTROL_SPECS  # noqa: E402
from synesthete_live.hud import Hud, HudInfo  # noqa: E402
from synesthete_live.keys import BINDINGS, action_for, help_table, key_constant  # noqa: E402
from synesthete_live.window import Window, cover_rect, pygame  # noqa: E402


@pytest.fixture
def window():
    w = Window((320, 180), vsync=False)
    yield w
    w.close()


def test_a_frame_fills_the_window_cropped_to_its_aspect(window):
    frame = np.zeros((64, 64, 3), np.uint8)
    frame[:, :] = (200, 30, 30)
    frame[:10] = (0, 0, 255)  # a blue band on top: outside the 16:9 crop of a square
    window.draw(frame)
    t = window.flip()
    px = window.pixels()
    assert px.shape == (180, 320, 3) and t > 0
    assert np.abs(px.astype(int) - (200, 30, 30)).max() <= 2, "red everywhere, the blue band was cropped"


def test_scaling_is_smooth_not_blocky(window):
    ramp = np.repeat(np.linspace(0, 255, 16).astype(np.uint8)[None, :, None], 9, axis=0).repeat(3, axis=2)  # (9, 16, 3)
    window.draw(np.ascontiguousarray(ramp))
    row = window.pixels()[90, :, 0].astype(int)
    assert len(np.unique(row)) > 100, "smoothscale interpolates: many levels, not 16 blocks"
    assert np.all(np.diff(row) >= 0)


def test_cover_rect_keeps_the_centre():
    assert tuple(cover_rect(64, 64, 1280, 720)) == (0, 14, 64, 36)
    assert tuple(cover_rect(160, 90, 100, 100)) == (35, 0, 90, 90)


def test_the_window_follows_resizes(window):
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, w=400, h=300, size=(400, 300)))
    window.poll()
    assert window.windowed_size == (400, 300)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert [e.type for e in window.poll()] == [pygame.QUIT] and window.closed


def test_the_hud_draws_over_the_picture_and_can_hide(window):
    window.draw(np.zeros((8, 8, 3), np.uint8))
    hud = Hud()
    info = HudInfo(fps=59.9, frame_ms=3.2, latency_p50=9.0, latency_p95=14.0, level=0.8, input_name="demo",
                   input_status="ok", preset="Ambient", style="plasma 1.00", recording=True, record_dropped=2,
                   error="presets/bad.toml: controls.zoom: 7.0 is outside 0.0..1.0", error_time=1e12)
    lines = [text for text, _ in hud.lines(info, now=1e12)]
    assert any("59.9 fps" in t and "p95 14.0" in t for t in lines)
    assert any("REC" in t and "dropped 2" in t for t in lines)
    assert any("outside" in t for t in lines)
    hud.draw(window.screen, info)
    px = window.pixels()
    assert px[10:60, 10:200].max() > 200, "text is drawn"
    assert px[-10, 2].tolist() != [0, 0, 0], "the level meter is drawn"
    hud.visible = False
    window.draw(np.zeros((8, 8, 3), np.uint8))
    hud.draw(window.screen, info)
    assert window.pixels().max() == 0


def test_the_hud_shows_the_render_size_and_what_the_music_state_says(window):
    from synesthete.constants import STEMS
    from synesthete.music_state import MusicState

    window.draw(np.zeros((8, 8, 3), np.uint8))
    state = MusicState.silence(1, 60)
    state.chord_root[:], state.chord_quality[:], state.tempo[:] = 9, 1, 128.0  # A minor
    state.bar_phase[:], state.beat_phase[:] = 0.01, 0.05  # just after the downbeat
    hits = np.zeros(len(STEMS), np.float32)
    hits[STEMS.index("snare")] = 0.9
    state.env[0, STEMS.index("kick")] = 1.0
    info = HudInfo(render_size="640x360", hearing="default.pt", state=state, hits=hits)
    lines = [text for text, _ in Hud().lines(info, now=0.0)]
    assert any("render 640x360" in t for t in lines) and any("hearing default.pt" in t for t in lines)
    hud = Hud()
    hud.draw(window.screen, info)
    px = window.pixels().astype(int)
    h = px.shape[0]
    top = h - 96
    downbeat = px[top + 16, 22]
    assert downbeat[0] > 150 and downbeat[0] > downbeat[1] + 50, "the downbeat dot is lit red"
    assert px[top + 16, 22 + 22].max() < 120, "the second beat's dot is dark"
    kick = px[top + 36 + 13, 12 + 13]
    hat = px[top + 36 + 13, 12 + 2 * 30 + 13]
    assert kick[1] > 200 and hat[1] < 100, "the kick's box is lit by its envelope, a silent stem's is not"
    snare_edge = px[top + 36 - 1, 12 + 30 + 13]
    assert snare_edge.min() > 200, "the snare that hit is outlined white"
    assert px[top + 4 : top + 30, 120:260].max() > 200, "the chord name is written"


def test_every_control_has_a_key_and_keys_are_unique():
    bound = {b.action.control for b in BINDINGS}
    assert {s.name for s in CONTROL_SPECS} <= bound
    keys = [k for b in BINDINGS for k in b.keys]
    assert len(keys) == len(set(keys))
    assert action_for(key_constant("w")).control == "feedback"
    assert action_for(key_constant("escape")).app == "quit"
    assert action_for(pygame.K_F1) is None
    assert "kaleidoscope" in help_table()


XVFB_SCRIPT = """
import os, sys
from pathlib import Path
os.environ.pop("SDL_VIDEODRIVER", None)
import numpy as np
from synesthete_live.window import Window

def llvmpipe_ticks():  # CPU ticks of Mesa's llvmpipe threads: OpenGL emulated on the CPU
    total = 0
    for task in Path("/proc/self/task").iterdir():
        if (task / "comm").read_text().startswith("llvmpipe"):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total

w = Window((1280, 720), vsync=sys.argv[1] == "vsync")
frame = np.zeros((64, 64, 3), np.uint8); frame[:] = (30, 200, 30)
before = llvmpipe_ticks()
for _ in range(60):
    w.draw(frame)
    w.flip()
used = llvmpipe_ticks() - before
px = w.pixels()
w.toggle_fullscreen()
w.draw(frame); w.flip()
print(w.vsync, w.software_gl, w.fullscreen, px.shape, np.abs(px.astype(int) - (30, 200, 30)).max(), used)
w.close()
"""


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
@pytest.mark.parametrize("vsync", ["vsync", "no-vsync"])
def test_a_real_x11_window_shows_frames_without_a_cpu_emulated_gpu(vsync):
    # Xvfb has no GPU: OpenGL there is Mesa's llvmpipe, which cost ~5 ms of CPU per 1280x720 flip
    # (a renderer, or SDL's GL-backed window surface). The window uses X11's shared-memory
    # surface instead, vsync asked for or not (there is no display refresh to sync to).
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x720x24"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        display = xvfb.stdout.readline().strip()
        env = {k: v for k, v in os.environ.items() if k not in ("SDL_VIDEODRIVER", "SDL_FRAMEBUFFER_ACCELERATION")}
        env["DISPLAY"] = f":{display}"
        r = subprocess.run([sys.executable, "-c", XVFB_SCRIPT, vsync], capture_output=True, text=True, timeout=60,
                           env=env)
        assert r.returncode == 0, r.stderr
        vsynced, _software, fullscreen, *_, worst, used = r.stdout.split()
        assert vsynced == "False" and fullscreen == "True", r.stdout
        assert "(720, 1280, 3)" in r.stdout and int(worst) <= 2, "the frame is on screen"
        assert int(used) == 0, f"llvmpipe threads drew the window ({used} ticks over 60 flips): {r.stdout}"
    finally:
        xvfb.kill()
        xvfb.wait()
