"""Real audio/MIDI plumbing for the live tests: a dummy JACK server and external peer processes.

This machine (and CI) has no sound card, but JACK's dummy driver gives real ports that PortAudio
sees as the "JACK Audio Connection Kit" host API and python-rtmidi sees through
`rtmidi.API_UNIX_JACK`. Mark tests that use these fixtures `@pytest.mark.jack`.

Fixtures (use them from any test under tests/live/):

* `jack_server` (session): starts `jackd -n <unique name> -d dummy -r 48000 -p 256`, waits until
  its `system:` ports exist, exports JACK_DEFAULT_SERVER / JACK_NO_START_SERVER /
  JACK_NO_AUDIO_RESERVATION (so every client, in this process and in subprocesses, talks to
  it), names this process's PortAudio JACK client "synesthete" (its ports: "synesthete:in_0",
  "synesthete:in_1", "synesthete:out_0", ...) and re-initialises PortAudio so JACK shows up
  (`synesthete_live.devices.refresh_devices`). Yields a `JackServer` with `.name`, `.rate`,
  `.period`, `.ports()`, `.connections(port)`, `.connect(a, b)`, `.disconnect(a, b)`,
  `.wait_for_port(substring)`. At the end it shuts PortAudio down BEFORE killing jackd (a
  PortAudio JACK client whose server died hangs at exit), then re-initialises PortAudio without
  JACK. Skips (with the reason) only when jackd is not installed.
* `audio_feeder` (function): factory `audio_feeder(tone=1000.0, amp=0.5, seconds=0.4, wav=None)`
  -> `AudioFeeder`, a separate process (tests/live/feeders/audio_feeder.py) that is a JACK
  client "<name>:out_0". `.connect_to("synesthete:in_")` wires it to every port whose name
  contains that text, `.play()` plays the material once and returns the perf_counter time at
  which its first sample entered the JACK graph. With `sink=True` it is a listener instead
  ("<name>:in_0"): `.listen_to("synesthete:out_")` wires the app's first output port to it and
  `.record()` returns (rms, peak) of the next `seconds`. Killed at test end.
* `midi_sender` (function): factory `midi_sender(to=None)` -> `MidiSender`, a separate process
  (tests/live/feeders/midi_sender.py). With `to` it connects to the JACK MIDI input containing
  that text; without, it offers "<name>:out" to open by name. `.send(0x90, 60, 100)`,
  `.sleep(seconds)`, `.close()` (flushes and waits for it to exit).

Between tests the server stays up; tests disconnect what they connected (feeders go away with
their ports when killed, which also removes their connections).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

FEEDERS = Path(__file__).parent / "feeders"
JACK_RATE = 48_000
JACK_PERIOD = 256
APP_CLIENT = "synesthete"
_counter = itertools.count()


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout


@dataclass
class JackServer:
    name: str
    rate: int
    period: int
    process: subprocess.Popen

    def ports(self) -> list[str]:
        return [p for p in _run("jack_lsp").splitlines() if p.strip()]

    def connections(self, port: str) -> list[str]:
        lines = _run("jack_lsp", "-c", port).splitlines()
        return [ln.strip() for ln in lines[1:] if ln.startswith(" ")]

    def connect(self, src: str, dst: str) -> None:
        subprocess.run(["jack_connect", src, dst], check=True, capture_output=True, timeout=10)

    def disconnect(self, src: str, dst: str) -> None:
        subprocess.run(["jack_disconnect", src, dst], capture_output=True, timeout=10)

    def wait_for_port(self, substring: str, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [p for p in self.ports() if substring in p]
            if hits:
                return hits
            time.sleep(0.05)
        raise TimeoutError(f"no JACK port containing {substring!r} after {timeout}s; ports: {self.ports()}")


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory: pytest.TempPathFactory):
    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (apt install jackd2); JACK tests need a dummy JACK server")
    name = f"synesthete-test-{os.getpid()}"
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER", "JACK_NO_AUDIO_RESERVATION")}
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1")
    log = tmp_path_factory.mktemp("jack") / "jackd.log"
    # -t: generous client timeout, the CI box is small and shared.
    proc = subprocess.Popen(["jackd", "-n", name, "-t", "4000", "-d", "dummy", "-r", str(JACK_RATE),
                             "-p", str(JACK_PERIOD)], stdout=open(log, "w"), stderr=subprocess.STDOUT)
    server = JackServer(name, JACK_RATE, JACK_PERIOD, proc)
    try:
        server.wait_for_port("system:capture_1", timeout=10.0)
    except TimeoutError:
        proc.kill()
        pytest.fail(f"jackd did not start: {log.read_text()[-2000:]}")
    from synesthete_live.devices import refresh_devices

    refresh_devices(jack_client_name=APP_CLIENT)
    yield server
    import sounddevice as sd

    sd._terminate()  # leave the server while it is alive
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    sd._initialize()


class _Peer:
    """A feeder subprocess speaking the line protocol described in tests/live/feeders/."""

    def __init__(self, script: str, *args: str) -> None:
        import queue
        import threading

        self.proc = subprocess.Popen([sys.executable, str(FEEDERS / script), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.ready = self._expect("ready", timeout=15.0)

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _expect(self, word: str, timeout: float) -> list[str]:
        import queue

        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            words = line.split()
            if words and words[0] == word:
                return words[1:]
        self.kill()
        raise RuntimeError(f"peer did not say {word!r}: {self.proc.stderr.read()[-2000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


class AudioFeeder(_Peer):
    def __init__(self, server: JackServer, tone: float, amp: float, seconds: float, wav: str | None,
                 sink: bool = False) -> None:
        self.server = server
        self.client = f"{'sink' if sink else 'feeder'}{os.getpid()}x{next(_counter)}"
        args = ["--name", self.client, "--tone", str(tone), "--amp", str(amp), "--seconds", str(seconds)]
        if wav:
            args += ["--wav", str(wav)]
        if sink:
            args.append("--sink")
        super().__init__("audio_feeder.py", *args)
        self.port = f"{self.client}:{'in_0' if sink else 'out_0'}"

    def listen_to(self, substring: str) -> str:
        """(sink) Connect the first output port containing `substring` to in_0 (PortAudio numbers
        ports per stream: out_0/out_1 for the first stream of a process, out_2/out_3 next...)."""
        source = sorted(p for p in self.server.wait_for_port(substring) if "out" in p.split(":")[-1])[0]
        self.server.connect(source, self.port)
        return source

    def record(self, timeout: float = 10.0) -> tuple[float, float]:
        """(sink) Record --seconds from now; returns (rms, peak)."""
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        rms, peak = self._expect("heard", timeout)
        return float(rms), float(peak)

    def connect_to(self, substring: str) -> list[str]:
        """Connect out_0 to every input port containing `substring`; returns those ports."""
        targets = [p for p in self.server.wait_for_port(substring) if "in" in p.split(":")[-1]]
        for t in targets:
            self.server.connect(self.port, t)
        return targets

    def play(self, timeout: float = 10.0) -> float:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        return float(self._expect("played", timeout)[0])


class MidiSender(_Peer):
    def __init__(self, to: str | None) -> None:
        self.client = f"midisend{os.getpid()}x{next(_counter)}"
        super().__init__("midi_sender.py", "--name", self.client, *(["--to", to] if to else []))
        self.port = self.ready[0] if self.ready else f"{self.client}:out"

    def send(self, *data: int) -> None:
        self.proc.stdin.write(" ".join(f"{b:x}" for b in data) + "\n")
        self.proc.stdin.flush()

    def sleep(self, seconds: float) -> None:
        self.proc.stdin.write(f"sleep {seconds}\n")
        self.proc.stdin.flush()

    def close(self, timeout: float = 5.0) -> None:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture
def audio_feeder(jack_server: JackServer):
    made: list[AudioFeeder] = []

    def make(tone: float = 1000.0, amp: float = 0.5, seconds: float = 0.4, wav: str | None = None,
             sink: bool = False) -> AudioFeeder:
        f = AudioFeeder(jack_server, tone, amp, seconds, wav, sink)
        made.append(f)
        return f

    yield make
    for f in made:
        f.kill()


@pytest.fixture
def midi_sender(jack_server: JackServer):
    made: list[MidiSender] = []

    def make(to: str | None = None) -> MidiSender:
        s = MidiSender(to)
        made.append(s)
        return s

    yield make
    for s in made:
        s.kill()
