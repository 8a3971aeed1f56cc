"""OSC out through real UDP sockets: every frame's music state arrives as one bundle a python-osc
server (what TouchDesigner's OSC In does) decodes to the same values, events follow as they
happen, a full queue drops the oldest frames and counts them, and the real app playing the demo
feeds a listener the music state of the music it plays."""

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

from synesthete.audio.stream import MusicStream
from synesthete.constants import STEMS
from synesthete.music_events import DetectorConfig, EventDetector
from synesthete.music_state import FIELDS, MusicState
from synesthete_live.osc_out import (EVENT_ADDRESSES, OscOut, OscOutError, StateBundle, parse_target,
                                     state_addresses)

ROOT = Path(__file__).resolve().parents[2]
FPS = 60


class Listener:
    """A python-osc UDP server on an ephemeral localhost port recording (address, args, arrival)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, tuple, float]] = []
        d = Dispatcher()
        d.set_default_handler(lambda address, *args: self.messages.append((address, args, time.perf_counter())))
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), d)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def of(self, address: str) -> list[tuple]:
        return [args for a, args, _ in list(self.messages) if a == address]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def demo_state(seconds: float, seed: int = 0) -> MusicState:
    stream = MusicStream(seed)
    stream.read(int((seconds + 3) * stream.sample_rate))
    return stream.music_state(FPS, 0, int(seconds * FPS))


def wait_for(predicate, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_addresses_come_from_the_music_state_fields():
    addresses = [a for a, _, _ in state_addresses()]
    expected = sum(1 if f.columns is None else len(f.columns) for f in FIELDS)
    assert len(addresses) == len(set(addresses)) == expected
    assert "/synesthete/state/env/kick" in addresses and "/synesthete/state/confidence/chord" in addresses
    assert "/synesthete/state/beat_phase" in addresses and "/synesthete/state/tempo" in addresses
    assert {f"/synesthete/event/hit/{s}" for s in STEMS} <= {a for a, _, _ in EVENT_ADDRESSES}


def test_the_encoded_bundle_decodes_to_the_state_values():
    from pythonosc.osc_bundle import OscBundle

    state = demo_state(2.0)
    enc = StateBundle()
    for t in (0, 37, 119):
        frame = state.frame(t)
        bundle = OscBundle(enc.encode(StateBundle.values(frame)))
        got = {m.address: m.params for m in bundle}
        assert list(got) == enc.addresses
        for address, name, _ in state_addresses():
            column = address.rsplit("/", 1)[1]
            spec = next(f for f in FIELDS if f.name == name)
            want = getattr(frame, name)[0] if spec.columns is None else getattr(frame, name)[0, spec.columns.index(column)]
            assert list(got[address]) == [pytest.approx(float(want), abs=1e-6)], address


def test_frames_and_events_arrive_over_udp_as_the_detector_sees_them(listener):
    state = demo_state(6.0)
    out = OscOut([("127.0.0.1", listener.port)], FPS).start()
    for t in range(len(state)):
        out.submit(state.frame(t))
        time.sleep(0.002)  # faster than real time (16.7 ms a frame), slow enough for the listener's socket
    out.stop()
    assert out.dropped == 0 and out.sent == len(state) and out.errors == 0
    assert wait_for(lambda: len(listener.of("/synesthete/state/time")) == len(state))
    times = [a[0] for a in listener.of("/synesthete/state/time")]
    assert times == pytest.approx(state.time.tolist(), abs=1e-5), "one bundle per frame, in order"
    assert listener.of("/synesthete/state/tempo")[0][0] == pytest.approx(float(state.tempo[0]))

    expected = EventDetector(FPS).update(state)
    beats = [e.number for e in expected if type(e).__name__ == "Beat"]
    assert len(beats) >= 8 and set(beats) == {1, 2, 3, 4}
    assert wait_for(lambda: [a[0] for a in listener.of("/synesthete/event/beat")] == beats)
    assert len(listener.of("/synesthete/event/downbeat")) == beats.count(1)
    kicks = [e.velocity for e in expected if type(e).__name__ == "Hit" and e.stem == "kick"]
    assert kicks and [a[0] for a in listener.of("/synesthete/event/hit/kick")] == pytest.approx(kicks, abs=1e-6)
    chords = listener.of("/synesthete/event/chord")
    assert chords and all(0 <= r <= 11 and isinstance(q, str) and n.endswith(q) for r, q, n in chords)
    assert listener.of("/synesthete/event/tempo")[0][0] == pytest.approx(float(state.tempo[0]), abs=0.01)
    assert out.events_sent == len(expected)


def test_hits_are_read_at_the_hearing_checkpoints_own_thresholds(listener):
    state = MusicState.silence(40, FPS)
    kick, snare = STEMS.index("kick"), STEMS.index("snare")
    state.onset[[5, 25], kick] = 0.5
    state.onset[[5, 25], snare] = 0.5
    high_kick = [0.3] * len(STEMS)
    high_kick[kick] = 0.6  # this checkpoint's kick head must be surer than 0.5 to count
    out = OscOut([("127.0.0.1", listener.port)], FPS, detector=DetectorConfig(stem_thresholds=tuple(high_kick))).start()
    for t in range(20):
        out.submit(state.frame(t))
    assert wait_for(lambda: out.sent == 20)
    out.set_detector(None)  # a model without stored thresholds: 0.3 for every stem
    for t in range(20, 40):
        out.submit(state.frame(t))
    out.stop()
    assert wait_for(lambda: len(listener.of("/synesthete/event/hit/snare")) == 2)
    assert wait_for(lambda: len(listener.of("/synesthete/event/hit/kick")) == 1)  # only the second kick


def test_a_full_queue_drops_the_oldest_frames_and_counts_them(listener):
    state = demo_state(1.0)
    out = OscOut([("127.0.0.1", listener.port)], FPS, queue_frames=4)
    for t in range(10):  # the sender thread is not running yet: the queue fills
        out.submit(state.frame(t))
    assert out.dropped == 6 and out.submitted == 10
    out.start()
    out.stop()
    assert wait_for(lambda: len(listener.of("/synesthete/state/time")) == 4)
    assert [a[0] for a in listener.of("/synesthete/state/time")] == pytest.approx(state.time[6:10].tolist())


def test_bad_targets_are_one_clear_error():
    assert parse_target("127.0.0.1:7000") == ("127.0.0.1", 7000)
    assert parse_target("localhost:9") == ("127.0.0.1", 9)
    for bad, words in (("7000", "HOST:PORT"), ("127.0.0.1:0", "1..65535"), ("127.0.0.1:x", "1..65535"),
                       ("no-such-host.invalid:7000", "cannot resolve")):
        with pytest.raises(OscOutError, match=words):
            parse_target(bad)


def test_the_app_playing_the_demo_feeds_a_touchdesigner_style_listener(listener, tmp_path):
    """`synesthete-live --device demo --headless --osc-out` as a user runs it: the listener gets the
    music state every frame and the beats, downbeats, hits, chords and tempo of the demo music."""
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    second = Listener()  # --osc-out is repeatable: both targets get everything
    try:
        # --hearing score: the looks and OSC carry the demo's exact state, so the values can be checked.
        r = subprocess.run([sys.executable, "-m", "synesthete_live.cli", "--device", "demo", "--headless",
                            "--hearing", "score", "--duration", "8", "--presets-dir", str(tmp_path),
                            "--osc-out", f"127.0.0.1:{listener.port}", "--osc-out", f"localhost:{second.port}"],
                           capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
        assert r.returncode == 0, r.stderr
        assert "osc out" in r.stdout and "frames (" in r.stdout, r.stdout
        for server in (listener, second):
            assert wait_for(lambda: len(server.of("/synesthete/state/time")) > 100)
        got = {a for a, _, _ in listener.messages}
        assert {a for a, _, _ in state_addresses()} <= got, "every continuous value arrives"
        times = np.array([a[0] for a in listener.of("/synesthete/state/time")])
        assert np.all(np.diff(times) > 0), "frames arrive in order, time only moves forward"
        assert np.median(np.diff(times)) == pytest.approx(1 / FPS, abs=1e-4), "one bundle per model frame"
        # Every bundle is the exact state of the music the demo played (seed 0) at its instant. The
        # bundle's `time` is the performer's clock, which a source stall moves away from the music's;
        # the beat count is the music's own, so it finds the frame: its instant is beat_time(count).
        reference = MusicStream(0)
        reference.read(int((times[-1] + 6) * reference.sample_rate))
        counts = np.array([a[0] for a in listener.of("/synesthete/state/beat_count")], np.float64)
        # Frames the demo could not place (before its first sample, a stall's silence fill) are
        # sent as silence, confidence 0; the rest carry the score's state, confidence 1.
        known = np.array([a[0] for a in listener.of("/synesthete/state/confidence/beat")]) == 1.0
        assert known.mean() > 0.9, known.mean()
        k = np.rint(reference.song.beat_time(counts) * FPS).astype(int) - 1
        truth = reference.music_state(FPS, 0, int(k.max()) + 1)
        for address, want, tol in (("/synesthete/state/bar_phase", truth.bar_phase, 1e-3),
                                   ("/synesthete/state/tempo", truth.tempo, 1e-2),
                                   ("/synesthete/state/chord_root", truth.chord_root, 1e-4),
                                   ("/synesthete/state/env/kick", truth.stem("kick"), 0.01)):
            got = np.array([a[0] for a in listener.of(address)])
            assert got.shape == k.shape and np.abs(got - want[k])[known].max() <= tol, address
        tempos = [a[0] for a in listener.of("/synesthete/event/tempo")]
        assert tempos and all(truth.tempo.min() - 0.1 <= t <= truth.tempo.max() + 0.1 for t in tempos)
        beats = [a[0] for a in listener.of("/synesthete/event/beat")]
        assert len(beats) >= 6 and set(beats) <= {1, 2, 3, 4}
        # Consecutive beats count up through the bar (frames may be dropped under load: mostly).
        steps = [(b - a) % 4 for a, b in zip(beats, beats[1:])]
        assert steps.count(1) >= 0.6 * len(steps), beats
        assert listener.of("/synesthete/event/downbeat") and listener.of("/synesthete/event/chord")
        assert any(listener.of(f"/synesthete/event/hit/{s}") for s in ("kick", "snare", "hat_closed"))
        envs = np.array([a[0] for a in listener.of("/synesthete/state/env/kick")])
        assert envs.min() >= 0 and envs.max() > 0.3, "the kick envelope moves"
    finally:
        second.close()


def test_docs_list_every_address():
    from synesthete_live.osc_in import address_table

    doc = (ROOT / "docs" / "osc.md").read_text()
    addresses = [a for a, _, _ in state_addresses()] + [a for a, _, _ in EVENT_ADDRESSES]
    addresses += [a.address for a in address_table()]
    missing = [a for a in addresses if f"`{a}`" not in doc]
    assert not missing, f"docs/osc.md does not list {missing}"
    stale = {a for a in re.findall(r"`(/synesthete/[a-z_/]*[a-z_])`", doc)} - set(addresses)
    assert not stale, f"docs/osc.md lists addresses the app does not have: {sorted(stale)}"


def test_help_shows_the_links_with_an_example_each(capsys):
    from synesthete_live.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for option, example in (("--osc-out", "--osc-out 127.0.0.1:7000"), ("--osc-in", "--osc-in 9000"),
                            ("--osc-in-host", "--osc-in-host 0.0.0.0"), ("--ndi", "--ndi Synesthete"),
                            ("--ndi-size", "--ndi-size 1920x1080")):
        assert option in text and example in " ".join(text.split()), option


@pytest.mark.parametrize("args, words", [
    (["--osc-out", "7000"], "expected HOST:PORT"),
    (["--osc-out", "127.0.0.1:99999"], "1..65535"),
    (["--osc-in", "0"], "UDP port 1..65535"),
    (["--ndi-size", "320x180"], "--ndi-size needs --ndi NAME"),
])
def test_bad_link_options_are_one_clear_line(args, words, capsys):
    from synesthete_live.cli import main

    try:
        code = main(args)
    except SystemExit as e:  # argparse's own usage errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    errors = [ln for ln in err.splitlines() if "error" in ln]
    assert len(errors) == 1 and words in errors[0], err


def test_by_default_osc_sends_what_the_hearing_model_hears(listener, tmp_path):
    """Without --hearing score the state is the shipped hearing model's estimate from the audio: the
    same addresses, values inside each field's range, confidences of an estimate (not the score's 1.0)."""
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    r = subprocess.run([sys.executable, "-m", "synesthete_live.cli", "--device", "demo", "--headless",
                        "--duration", "5", "--presets-dir", str(tmp_path), "--osc-out", f"127.0.0.1:{listener.port}"],
                       capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    assert "score" not in r.stderr.split("input demo, model")[1].split(",")[0], r.stderr
    assert wait_for(lambda: len(listener.of("/synesthete/state/time")) > 60)
    assert {a for a, _, _ in state_addresses()} <= {a for a, _, _ in listener.messages}
    for address, name, _ in state_addresses():
        spec = next(f for f in FIELDS if f.name == name)
        values = np.array([a[0] for a in listener.of(address)])
        assert np.all((values >= spec.lo - 1e-4) & (values <= spec.hi + 1e-4)), address
    confidence = np.array([a[0] for a in listener.of("/synesthete/state/confidence/beat")])
    assert confidence.max() < 1.0 - 1e-6, "an estimate's confidence, not the score's"
    assert all(1 <= a[0] <= 16 for a in listener.of("/synesthete/event/beat"))
