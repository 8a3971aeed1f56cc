"""A separate process flooding an OSC port (python osc_flooder.py PORT N): N messages to three
addresses as fast as the socket takes them, then, after a pause for the receiver to drain, one
final known value per address (hue 0.25, zoom 0.75, nudge/mirror 1). Prints "sent" at the end."""

import socket
import sys
import time

from pythonosc.osc_message_builder import OscMessageBuilder


def message(address: str, value: float) -> bytes:
    m = OscMessageBuilder(address)
    m.add_arg(float(value), "f")
    return m.build().dgram


def main() -> None:
    port, n = int(sys.argv[1]), int(sys.argv[2])
    flood = [message("/synesthete/control/hue", (i % 100) / 100) for i in range(100)]
    flood += [message("/synesthete/control/zoom", (i % 100) / 100) for i in range(100)]
    flood += [message("/synesthete/nudge/mirror", (-1) ** i) for i in range(100)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", port)
    for i in range(n):
        sock.sendto(flood[(i * 7) % len(flood)], target)
    time.sleep(0.3)
    for address, value in (("/synesthete/control/hue", 0.25), ("/synesthete/control/zoom", 0.75),
                           ("/synesthete/nudge/mirror", 1.0)):
        sock.sendto(message(address, value), target)
    print("sent", flush=True)


if __name__ == "__main__":
    main()
