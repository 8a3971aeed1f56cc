"""An external JACK audio peer for the live tests: plays a tone burst or a wav into JACK.

Run as its own process (so it is a real, separate JACK client, like a DAW or a mixer feeding
Synesthete). Protocol on stdout/stdin, one line each:
  it prints   "ready <client> <rate>"   once its output port "<client>:out_0" exists (silent);
  it reads    "go"                      then plays the material once, then silence;
  it prints   "played <t_in>"           t_in = time.perf_counter() (CLOCK_MONOTONIC, shared by
                                        processes on Linux) at entry of the callback that put the
                                        material's first sample into the JACK graph;
  it exits at end of stdin.
With --sink it is a listener instead: a JACK client with one input port "<client>:in_0"
(PortAudio lists it as a device with no inputs); on "go" it records --seconds and prints
"heard <rms> <peak>".

    python tests/live/feeders/audio_feeder.py --name feeder --tone 1000 --amp 0.5 --seconds 0.4
    python tests/live/feeders/audio_feeder.py --name feeder --wav burst.wav   # 16-bit PCM at the JACK rate
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import sys
import threading
import time
import wave

import numpy as np


def _name_jack_client(name: str) -> ctypes.Array:
    # Must happen before sounddevice initialises PortAudio; PortAudio keeps the pointer.
    lib = ctypes.CDLL(ctypes.util.find_library("portaudio") or "libportaudio.so.2")
    buf = ctypes.create_string_buffer(name.encode())
    lib.PaJack_SetClientName(buf)
    return buf


def _load(args: argparse.Namespace, rate: int) -> np.ndarray:
    if args.wav:
        with wave.open(args.wav, "rb") as w:
            if w.getframerate() != rate:
                sys.exit(f"audio_feeder: {args.wav} is {w.getframerate()} Hz, the JACK server runs at {rate} Hz")
            raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
            return raw.reshape(-1, w.getnchannels()).mean(axis=1)
    t = np.arange(int(args.seconds * rate)) / rate
    return (args.amp * np.sin(2 * np.pi * args.tone * t)).astype(np.float32)


def _sink(sd, device: int, rate: int, seconds: float, name: str) -> None:
    store = np.zeros(int(seconds * rate), dtype=np.float32)
    state = {"pos": -1}
    full = threading.Event()

    def callback(indata, frames, time_info, status):
        pos = state["pos"]
        if pos < 0 or pos >= store.shape[0]:
            return
        chunk = indata[: store.shape[0] - pos, 0]
        store[pos : pos + chunk.shape[0]] = chunk
        state["pos"] = pos + chunk.shape[0]
        if state["pos"] >= store.shape[0]:
            full.set()

    with sd.InputStream(device=device, channels=1, samplerate=rate, blocksize=256, dtype="float32",
                        callback=callback):
        print(f"ready {name} {rate}", flush=True)
        for line in sys.stdin:
            if line.strip() == "go":
                full.clear()
                state["pos"] = 0
                full.wait(timeout=30)
                print(f"heard {np.sqrt(np.mean(store ** 2)):.6f} {np.abs(store).max():.6f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--name", default="feeder")
    ap.add_argument("--tone", type=float, default=1000.0)
    ap.add_argument("--amp", type=float, default=0.5)
    ap.add_argument("--seconds", type=float, default=0.4)
    ap.add_argument("--wav")
    ap.add_argument("--sink", action="store_true")
    args = ap.parse_args()
    keep = _name_jack_client(args.name)  # noqa: F841 (kept alive)
    import sounddevice as sd

    jack = [i for i, h in enumerate(sd.query_hostapis()) if "JACK" in h["name"]]
    if not jack:
        sys.exit("audio_feeder: PortAudio sees no JACK server (is JACK_DEFAULT_SERVER set?)")
    device = sd.query_hostapis(jack[0])["default_output_device"]
    rate = int(sd.query_devices(device)["default_samplerate"])
    if args.sink:
        _sink(sd, device, rate, args.seconds, args.name)
        return
    material = _load(args, rate)
    state = {"pos": -1, "t_in": None}
    played = threading.Event()

    def callback(outdata, frames, time_info, status):
        outdata.fill(0.0)
        pos = state["pos"]
        if pos < 0 or pos >= material.shape[0]:
            return
        if pos == 0:  # the moment the material enters the graph (not PortAudio's DAC estimate,
            # which adds the latency of the silent system playback ports)
            state["t_in"] = time.perf_counter()
        chunk = material[pos : pos + frames]
        outdata[: chunk.shape[0], 0] = chunk
        state["pos"] = pos + frames
        if state["pos"] >= material.shape[0]:
            played.set()

    with sd.OutputStream(device=device, channels=1, samplerate=rate, blocksize=256, dtype="float32",
                         callback=callback):
        print(f"ready {args.name} {rate}", flush=True)
        for line in sys.stdin:
            if line.strip() == "go":
                played.clear()
                state["pos"] = 0
                played.wait(timeout=30)
                print(f"played {state['t_in']:.6f}", flush=True)


if __name__ == "__main__":
    main()
