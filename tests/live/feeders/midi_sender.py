"""An external JACK MIDI peer for the live tests: sends raw MIDI bytes read from stdin.

Run as its own process, so messages cross a real JACK MIDI connection like a hardware
controller's would. With `--to SUBSTRING` it connects its output to the first JACK MIDI input
whose name contains SUBSTRING (e.g. a `MidiInput` virtual port); without it, it opens a virtual
output port "<name>:out" for the receiver to open by name.
It prints "ready <port>" once its port exists, then reads stdin lines:
  "90 3c 64"    hex bytes of one message, sent as is (malformed bytes too: nothing is checked)
  "sleep 0.01"  pause
and exits at end of stdin (after a short drain so the last messages leave the JACK buffer).
"""

from __future__ import annotations

import argparse
import sys
import time

import rtmidi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--name", default="midi-sender")
    ap.add_argument("--to", help="substring of the JACK MIDI input port to connect to")
    args = ap.parse_args()
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=args.name)
    if args.to:
        deadline = time.monotonic() + 5.0
        while True:
            hits = [i for i, p in enumerate(out.get_ports()) if args.to.lower() in p.lower()]
            if hits:
                break
            if time.monotonic() > deadline:
                sys.exit(f"midi_sender: no JACK MIDI input contains {args.to!r}: {out.get_ports()}")
            time.sleep(0.05)
        out.open_port(hits[0])
        port = out.get_port_name(hits[0])
        # The JACK connection takes effect in a later process cycle; a message written before it
        # is dropped (seen once in a full suite run on a loaded box), so let it settle first.
        time.sleep(0.25)
    else:
        out.open_virtual_port("out")
        port = f"{args.name}:out"
    print(f"ready {port}", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "sleep":
            time.sleep(float(words[1]))
            continue
        out.send_message([int(w, 16) for w in words])
    time.sleep(0.1)
    out.close_port()
    out.delete()


if __name__ == "__main__":
    main()
