"""Why the sender speaks HTTP/1.1: the client-side CPU of one push request
with the `h2` library (pure Python HTTP/2: HPACK, frames, flow control)
against webapp/push/wire.py's request head and answer parsing, in one run.

Both sides of an HTTP/2 connection run in memory (no sockets, no TLS);
only the client's work is timed. Needs `pip install 'h2>=4,<5'` (not a
dependency of the app).

    python -m bench.h2cost            # 5,000 requests each
"""
from __future__ import annotations

import argparse
import sys
import time

from webapp.push.wire import parse

BODY = b"x" * 300  # an encrypted reminder is about this size
AUTHORIZATION = "vapid t=" + "a" * 300 + ", k=" + "b" * 87


def h2_client_cost(n: int) -> float:
    """Seconds of client work per request over one HTTP/2 connection."""
    import h2.config
    import h2.connection
    import h2.events

    headers = [(":method", "POST"), (":scheme", "https"), (":authority", "fcm.googleapis.com"),
               (":path", "/fcm/send/abcdefghijklmnopqrstuvwxyz0123456789"), ("authorization", AUTHORIZATION),
               ("content-encoding", "aes128gcm"), ("content-type", "application/octet-stream"),
               ("ttl", "3600"), ("urgency", "normal"), ("topic", "unknot-hydration"),
               ("content-length", str(len(BODY)))]
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    client.initiate_connection()
    server.initiate_connection()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())
    spent = 0.0
    for _ in range(n):
        started = time.perf_counter()
        stream = client.get_next_available_stream_id()
        client.send_headers(stream, headers)
        client.send_data(stream, BODY, end_stream=True)
        out = client.data_to_send()
        spent += time.perf_counter() - started
        for event in server.receive_data(out):
            if isinstance(event, h2.events.DataReceived):
                server.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                server.send_headers(event.stream_id, [(":status", "201"), ("content-length", "0")],
                                    end_stream=True)
        back = server.data_to_send()
        started = time.perf_counter()
        client.receive_data(back)
        client.data_to_send()
        spent += time.perf_counter() - started
    return spent / n


def http1_client_cost(n: int) -> float:
    """Seconds per request for webapp/push/wire.py's work: the head as fanout writes it, the answer parsed."""
    answer = b"HTTP/1.1 201 Created\r\nLocation: https://fcm.googleapis.com/m/1\r\nContent-Length: 0\r\n\r\n"
    started = time.perf_counter()
    for _ in range(n):
        (f"POST /fcm/send/abcdefghijklmnopqrstuvwxyz0123456789 HTTP/1.1\r\nHost: fcm.googleapis.com\r\n"
         f"User-Agent: unknot-push/1\r\nAuthorization: {AUTHORIZATION}\r\nContent-Encoding: aes128gcm\r\n"
         f"Content-Type: application/octet-stream\r\nTTL: 3600\r\nUrgency: normal\r\n"
         f"Topic: unknot-hydration\r\nContent-Length: {len(BODY)}\r\n\r\n").encode("latin-1") + BODY
        parse(bytearray(answer), eof=False)
    return (time.perf_counter() - started) / n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args(argv)
    try:
        h2 = h2_client_cost(args.n)
    except ImportError:
        print("h2 is not installed: pip install 'h2>=4,<5'")
        return 1
    one = http1_client_cost(args.n)
    print(f"client CPU per push request ({args.n:,} each):")
    print(f"  h2 {__import__('h2').__version__} (HTTP/2, pure Python)   {h2 * 1e6:7.1f} us")
    print(f"  webapp/push/wire.py (HTTP/1.1)  {one * 1e6:7.1f} us   h2 / http1 = {h2 / one:.0f} x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
