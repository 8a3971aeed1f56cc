"""Presets: shipped ones load; a bad one is one clear error naming file, key and reason; learned
MIDI maps are saved back without losing the rest of the file; loading happens off the render thread."""

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from synesthete.checkpoint import save_checkpoint
from synesthete.model.config import hearing_config
from synesthete.model.hearing import build_hearing_model
from synesthete.preset import PresetError, find_preset, list_presets, load_preset
from synesthete_live.presets import Loader, save_midi_map

PRESETS = Path(__file__).resolve().parents[2] / "presets"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_the_shipped_presets_load_and_use_every_kind_of_value():
    paths = list_presets(PRESETS)
    assert {"default", "dark_techno", "ambient"} <= {p.stem for p in paths}
    presets = [load_preset(p) for p in paths]
    assert {p.transition for p in presets} == {"blend", "beat"}
    assert all(p.midi for p in presets)
    assert find_preset("dark_techno", PRESETS).name == "dark_techno.toml"


@pytest.mark.parametrize("text, where, reason", [
    ('name = "x"\ncolour = 3\n', "colour", "unknown key"),
    ('[controls]\nzoom = 7\n', "controls.zoom", "outside 0.0..1.0"),
    ('[controls]\nwarp = 1\n', "controls.warp", "unknown control"),
    ('[controls]\nhue = "red"\n', "controls.hue", "expected a number"),
    ('transition = "fade"\n', "transition", "expected one of blend, beat"),
    ('[midi]\nhue = "knob 3"\n', "midi.hue", "expected 'cc:NUMBER'"),
    ('[midi]\nhue = "cc:17:3"\n', "midi.hue", "channel must be 1-16"),
    ('[styles]\nplasma = -1\n', "styles.plasma", ">= 0"),
    ('name = "x\n', "", "not valid TOML"),
])
def test_a_bad_preset_names_file_key_and_reason(tmp_path, text, where, reason):
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(PresetError) as e:
        load_preset(path)
    message = str(e.value)
    assert str(path) in message and where in message and reason in message, message
    assert "\n" not in message.strip()


def test_a_yaml_preset_never_runs_code(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path, "evil.yaml", f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(PresetError, match="not valid YAML"):
        load_preset(path)
    assert not marker.exists()


def test_unknown_style_names_are_reported_against_the_model(tmp_path):
    preset = load_preset(write(tmp_path, "s.toml", "[styles]\nplasma = 1\nfoo = 2\n"))
    with pytest.raises(PresetError, match="styles.foo: unknown look .*plasma, tunnel"):
        preset.style_weights(("plasma", "tunnel"))
    ok = load_preset(write(tmp_path, "t.toml", "[styles]\nplasma = 1\ntunnel = 3\n"))
    assert ok.style_weights(("plasma", "tunnel")).tolist() == pytest.approx([0.25, 0.75])


def test_saving_a_learned_map_replaces_only_the_midi_table(tmp_path):
    path = write(tmp_path, "p.toml", '# my set\nname = "P"\n\n[midi]\nhue = "cc:3"\n\n[controls]\nzoom = 0.5  # keep\n')
    save_midi_map(path, {"hue": "cc:2:40", "freeze": "note:36"})
    text = path.read_text()
    assert "# my set" in text and "zoom = 0.5  # keep" in text
    p = load_preset(path)
    assert p.midi == {"hue": "cc:2:40", "freeze": "note:36"} and p.controls == {"zoom": 0.5}
    bare = write(tmp_path, "bare.toml", 'name = "B"\n')
    save_midi_map(bare, {"zoom": "cc:9"})
    assert load_preset(bare).midi == {"zoom": "cc:9"}
    y = write(tmp_path, "y.yaml", "name: Y\ncontrols:\n  hue: 0.5\n")
    save_midi_map(y, {"hue": "cc:1"})
    assert load_preset(y).midi == {"hue": "cc:1"} and load_preset(y).controls == {"hue": 0.5}


LEARNED = {"hue": "cc:2:40", "freeze": "note:36"}


# Every way TOML lets a preset write its midi table, with comments and layout that must survive.
MIDI_SHAPES = {
    "inline": ('# top\nname = "P"\nmidi = { hue = "cc:3", zoom = "cc:4" }  # inline\n'
               '[controls]\nzoom = 0.5  # keep\n', ["# top", "# inline", "zoom = 0.5  # keep"]),
    "dotted": ('name = "P"\nmidi.hue = "cc:3"  # dotted\nmidi.zoom = "cc:4"\n\n[controls]\nzoom = 0.5  # keep\n',
               ["# dotted", "zoom = 0.5  # keep"]),
    "spaced header": ('name = "P"\n[ midi ]  # spaced\nhue = "cc:3"\n\n[controls]\nzoom = 0.5  # keep\n',
                      ["[ midi ]  # spaced", "zoom = 0.5  # keep"]),
    "indented header after": ('name = "P"\n[midi]\nhue = "cc:3"\n  [controls]  # indented\n  zoom = 0.5  # keep\n',
                              ["  [controls]  # indented", "  zoom = 0.5  # keep"]),
    "comments inside": ('# my set\nname = "P"\n\n[midi]\n# learned on stage\nhue = "cc:3"\nzoom = "cc:4"\n\n'
                        '[controls]\nzoom = 0.5  # keep\n', ["# my set", "# learned on stage", "zoom = 0.5  # keep"]),
}


@pytest.mark.parametrize("shape", MIDI_SHAPES)
def test_a_learned_map_is_saved_into_every_shape_of_midi_table(tmp_path, shape):
    text, kept = MIDI_SHAPES[shape]
    path = write(tmp_path, "p.toml", text)
    save_midi_map(path, LEARNED)
    out = path.read_text()
    for line in kept:
        assert line in out, f"{line!r} was lost:\n{out}"
    p = load_preset(path)
    assert p.midi == LEARNED and p.controls == {"zoom": 0.5} and p.name == "P"
    assert [q.name for q in tmp_path.iterdir()] == ["p.toml"], "no temporary file is left behind"


def test_a_map_that_would_not_load_leaves_the_preset_untouched(tmp_path):
    # A preset that is already broken elsewhere: the saved result would not load, so nothing is replaced.
    original = b'name = "P"\n[midi]\nhue = "cc:3"\n[controls]\nhue = 9.0  # out of range\n'
    path = tmp_path / "p.toml"
    path.write_bytes(original)
    with pytest.raises(PresetError, match=r"p\.toml: controls\.hue.*left as it was"):
        save_midi_map(path, LEARNED)
    assert path.read_bytes() == original
    assert [q.name for q in tmp_path.iterdir()] == ["p.toml"]
    not_toml = write(tmp_path, "q.toml", "name = \n")
    with pytest.raises(PresetError, match="not valid TOML"):
        save_midi_map(not_toml, LEARNED)
    assert not_toml.read_text() == "name = \n"


@pytest.mark.parametrize("fail_at", ["fsync", "replace"])
def test_a_failure_between_write_and_replace_keeps_the_original_byte_identical(tmp_path, monkeypatch, fail_at):
    import errno
    import os

    original = b'# set\nname = "P"\n[midi]\nhue = "cc:3"\n'
    path = tmp_path / "p.toml"
    path.write_bytes(original)
    seen = []

    def fail(*args):
        # The new text is complete in the temp file by now; the preset must still be the old one.
        temp = [q for q in tmp_path.iterdir() if q.name != "p.toml"]
        seen.append((path.read_bytes(), [q.read_text() for q in temp]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, fail_at, fail)
    with pytest.raises(OSError, match="No space left"):
        save_midi_map(path, LEARNED)
    monkeypatch.undo()
    assert seen and seen[0][0] == original
    if fail_at == "replace":
        assert 'freeze = "note:36"' in seen[0][1][0], "the new text was written before the replace"
    assert path.read_bytes() == original
    assert [q.name for q in tmp_path.iterdir()] == ["p.toml"], "the temporary file is removed"
    save_midi_map(path, LEARNED)  # and with no failure it is replaced
    assert load_preset(path).midi == LEARNED and path.read_text().startswith("# set\n")


def test_training_configs_in_the_folder_are_not_live_presets(tmp_path):
    write(tmp_path, "a.toml", 'name = "A"\n')
    write(tmp_path, "train_default.toml", "[model]\nlatent_dim = 3\n")
    write(tmp_path, "typo.toml", 'nme = "A"\n[controls]\nhue = 0.1\n')
    assert [p.name for p in list_presets(tmp_path)] == ["a.toml", "typo.toml"]


def wait_results(loader: Loader, n: int = 1, timeout: float = 30.0) -> list:
    out, end = [], time.monotonic() + timeout
    while len(out) < n and time.monotonic() < end:
        out += loader.poll()
        time.sleep(0.01)
    return out


def test_the_loader_works_in_the_background_and_reports_failures(tmp_path):
    torch.manual_seed(0)
    cfg = hearing_config("tiny")
    save_checkpoint(tmp_path / "one.pt", build_hearing_model(cfg))
    save_checkpoint(tmp_path / "two.pt", build_hearing_model(cfg))
    loader = Loader(torch.device("cpu"), str(tmp_path / "one.pt"))
    try:
        loader.current_checkpoint = loader.checkpoint_key(load_preset(write(tmp_path, "x.toml", "")))
        same = write(tmp_path, "same.toml", 'name = "same"\n[controls]\nhue = 0.5\n')
        other = write(tmp_path, "other.toml", f'checkpoint = "{tmp_path / "two.pt"}"\n')
        broken = write(tmp_path, "broken.toml", "[controls]\nhue = 9\n")
        missing = write(tmp_path, "missing.toml", 'checkpoint = "nope.pt"\n')
        for p in (same, other, broken, missing):
            loader.request(p)
        results = {r.path.name: r for r in wait_results(loader, 4)}
        assert results["same.toml"].performer is None and results["same.toml"].preset.controls == {"hue": 0.5}
        fresh = results["other.toml"].performer
        assert fresh is not None and fresh.frames_done == 0, "a new checkpoint comes as a warmed-up, reset performer"
        frames = fresh.process(np.zeros(fresh.hop, np.float32), fresh.new_controls())
        assert len(frames) == 1
        assert "hue" in results["broken.toml"].error and results["broken.toml"].preset is None
        assert "nope.pt" in results["missing.toml"].error
    finally:
        loader.stop()


def test_requests_never_block_and_the_queue_keeps_the_newest(tmp_path):
    # A stuck model load (a slow disk): the render thread keeps requesting presets; every call
    # returns, the queue stays bounded, the oldest requests are dropped and counted, the newest is kept.
    import threading

    from synesthete_live.presets import LOADER_QUEUE

    release, started = threading.Event(), threading.Event()

    def stuck_load(key, device):
        started.set()
        assert release.wait(30)
        raise RuntimeError("no model here")

    loader = Loader(torch.device("cpu"), None, load_model_fn=stuck_load)
    try:
        paths = [write(tmp_path, f"p{i:02d}.toml", f'checkpoint = "{tmp_path / f"m{i}.pt"}"\n') for i in range(30)]
        loader.request(paths[0])
        assert started.wait(10)  # the worker is stuck in the first load
        for p in paths[1:]:
            loader.request(p)
            assert loader._jobs.qsize() <= LOADER_QUEUE
        assert loader.dropped_jobs == len(paths) - 1 - LOADER_QUEUE
        release.set()
        results = []
        end = time.monotonic() + 30
        while time.monotonic() < end and not (results and results[-1].path.name == "p29.toml"):
            results += loader.poll()
            time.sleep(0.01)
        names = [r.path.name for r in results]
        assert names[-1] == "p29.toml", names
        # Unread results are bounded too: what was not read in time is counted, never lost silently.
        assert len(names) + loader.dropped_results == 1 + LOADER_QUEUE
        assert all("checkpoint: no model here" in r.error for r in results)
    finally:
        release.set()
        loader.stop()
