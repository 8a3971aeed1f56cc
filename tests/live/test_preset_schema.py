"""One preset schema for both apps: `synesthete-live --preset` and `synesthete-render --preset`
refuse the same files with the same line, and a good preset starts both from the same controls."""

import os
import wave
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from synesthete.preset import load_preset, preset_controls  # noqa: E402
from synesthete.render_cli import main as render_main  # noqa: E402
from synesthete_live.cli import main as live_main  # noqa: E402
from synesthete_live.live_loop import LiveLoop, LiveOptions  # noqa: E402

SR = 24_000


@pytest.fixture(scope="module")
def checkpoint(tiny_hearing_checkpoint) -> str:
    return tiny_hearing_checkpoint


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "tone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((0.3 * np.sin(2 * np.pi * 220 * np.arange(SR // 2) / SR) * 32767).astype("<i2").tobytes())
    return path


BAD = {
    "unknown top-level key": ('name = "x"\ncolour = "red"\n', "colour: unknown key"),
    "control out of range": ("[controls]\nhue = 1.5\n", "controls.hue: 1.5 is outside 0.0..1.0"),
    "unknown control": ("[controls]\nwobble = 0.5\n", "controls.wobble: unknown control"),
    "control not a number": ('[controls]\nzoom = "big"\n', "controls.zoom: expected a number"),
    "bad MIDI source": ('[midi]\nhue = "knob:3"\n', "midi.hue"),
    "bad transition": ('transition = "fade"\n', "transition: expected one of"),
    "negative style weight": ("[styles]\nplasma = -1.0\n", "styles.plasma: weights must be >= 0"),
    "a look that does not exist": ("[styles]\nneon = 1.0\n", "styles.neon: unknown look"),
    "not TOML": ("[controls\n", "preset"),
}


def _error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if "error" in ln]
    assert len(lines) == 1, err
    return lines[0].split("error: ", 1)[1]


@pytest.mark.parametrize("case", list(BAD))
def test_both_apps_refuse_a_bad_preset_with_the_same_line(case, checkpoint, wav, tmp_path, capsys):
    text, words = BAD[case]
    preset = tmp_path / "bad.toml"
    preset.write_text(text)
    out = tmp_path / "out.mp4"
    code = render_main([str(wav), "-o", str(out), "--checkpoint", checkpoint, "--preset", str(preset), "--quiet"])
    render_err = _error_line(capsys.readouterr().err)
    assert code == 1 and not out.exists()
    code = live_main(["--device", "demo", "--headless", "--duration", "1", "--checkpoint", checkpoint,
                      "--preset", str(preset), "--presets-dir", str(tmp_path)])
    live_err = _error_line(capsys.readouterr().err)
    assert code == 2
    if case != "not TOML":  # the parser's own words follow the file name; the first part must agree
        assert words in render_err, render_err
    assert render_err == live_err


def test_a_preset_by_name_is_found_alike(checkpoint, wav, tmp_path, capsys, monkeypatch):
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "warm.toml").write_text("[controls]\nhue = 7.0\n")
    monkeypatch.chdir(tmp_path)  # render looks in ./presets, live's default --presets-dir is ./presets
    assert render_main([str(wav), "-o", "o.mp4", "--checkpoint", checkpoint, "--preset", "warm", "--quiet"]) == 1
    render_err = _error_line(capsys.readouterr().err)
    assert live_main(["--device", "demo", "--headless", "--duration", "1", "--checkpoint", checkpoint,
                      "--preset", "warm"]) == 2
    assert render_err == _error_line(capsys.readouterr().err) and "outside" in render_err


def test_a_good_preset_starts_both_apps_from_the_same_controls(checkpoint, tmp_path):
    preset = tmp_path / "blend.toml"
    preset.write_text('name = "blend"\n[styles]\nplasma = 0.25\ntunnel = 0.75\n[controls]\nhue = 0.3\nfeedback = 0.4\n')
    loop = LiveLoop(LiveOptions(checkpoint=checkpoint, headless=True, play_out=False, size=(64, 64),
                                presets_dir=tmp_path, preset=str(preset), device="demo", duration=1.0))
    loop._setup()
    try:
        live = loop.controls
        live.settle()
        offline = preset_controls(load_preset(preset), loop.performer.styles)
        assert offline.snapshot() == live.snapshot()
        np.testing.assert_allclose(offline.model_controls(), live.model_controls())
        looks = loop.performer.styles
        np.testing.assert_allclose(offline.style_weights, [{"plasma": 0.25, "tunnel": 0.75}.get(n, 0.0) for n in looks])
    finally:
        loop._teardown(report=False)
