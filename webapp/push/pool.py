"""How many connections one push service's origin gets, from what its answers say.

Hundreds of messages to a service 50 ms away need hundreds of requests in
flight, each on a connection of its own (HTTP/1.1); a service next door is
served best by a handful, reused, as a TLS handshake costs more than the
message it would carry. webapp.push.http1 keeps one Pool per origin.
"""
from __future__ import annotations

import time
from collections import deque

from webapp.push.wire import Connection

# How many connections an origin may have: FIRST before anything is known,
# then FIRST + GROWTH x answers per second x the shortest round trip
# (Little's law: how many requests the service holds at once), measured
# over windows of at least WINDOW seconds and one round trip, and never
# less than half the last figure (one window with few answers is noise,
# not a reason to stop growing). 50 ms away the pool grows about
# GROWTH-fold each round trip (8 to 512 in four); at no distance a
# handful of connections carries everything, and a request rather waits
# for one in use than pays a TLS handshake it does not need.
FIRST = 8
GROWTH = 3.0
WINDOW = 0.05
# A service is "far" (slow to answer, not to connect) when, FAR_WINDOWS
# windows in a row, its quickest answer took FAR times longer than the
# quickest new connection took to open: then a request waiting for a
# connection opens its own (up to the cap), which is ready well before an
# answer would free one. Two windows: a nearby service busy with a burst of
# our handshakes answers slowly for a while, and more connections would
# only add handshakes to its queue. One is enough when its quickest answer
# took AT_ONCE times longer than even the slowest handshake so far: a
# handshake needs the service's own work too, so a service slowed by its
# queue is slow at both, while one whose answers alone are slow (as the
# bench's stand-in holds each for 50 ms) is full one round trip after the
# first answer instead of two. A service far away over the network takes
# longer to connect (TCP and TLS, two round trips or more) than to answer:
# neither rule fires, and its pool grows by Little's law. One slow
# handshake (a lookup, a lost SYN) leaves AT_ONCE off for that origin.
# The same AT_ONCE rule holds before any request to it has ended: a service
# that has said nothing for AT_ONCE times the slowest handshake since its
# first connection opened (and its first request went) is far, and requests
# waiting then open connections of their own: the first round trip no
# longer carries only FIRST requests (bench.budget: 16 requests in the
# first 50 ms of a pass, from two sender processes). On a loop busy
# encrypting, a handshake takes several of its turns and so measures long,
# and the rule may not fire before the first answer comes; a pass was no
# faster when it did (bench/README.md, ninth round).
FAR = 2.0
FAR_WINDOWS = 2
AT_ONCE = 5.0


class Pool:
    """One origin's connections: the idle ones (most recently used last), how
    many exist, how many are being opened, the requests waiting for one, and
    what its traffic says about how many it needs."""

    __slots__ = ("idle", "size", "connecting", "waiters", "room", "far", "connect", "slowest", "window_start",
                 "window_done", "window_rtt", "first_open", "heard")

    def __init__(self):
        self.idle: deque[Connection] = deque()
        self.size = 0
        self.connecting = 0
        self.waiters: deque = deque()  # requests (http1's exchanges) waiting for a connection, oldest first
        self.room = FIRST  # connections it may have now (see GROWTH)
        self.far = 0  # windows in a row whose round trips said the service is far (FAR)
        self.connect = float("inf")  # the shortest time a connection took to open
        self.slowest = 0.0  # and the longest
        self.window_start = time.monotonic()
        self.window_done = 0
        self.window_rtt = float("inf")
        self.first_open = 0.0  # when its first connection opened
        self.heard = False  # whether any request to it has ended (answered, failed or timed out)

    def opened(self, took: float) -> None:
        """A new connection took ``took`` seconds to open."""
        self.connect, self.slowest = min(self.connect, took), max(self.slowest, took)
        if not self.first_open:
            self.first_open = time.monotonic()

    def ended(self) -> None:
        """A request to it ended: answered, failed or timed out. From then on
        its windows say whether it is far, not its silence (a service that
        only ever fails is not far, and its pool lasts for later passes)."""
        self.heard = True

    def silent(self) -> bool:
        """Whether the service has just turned out far before any request to
        it ended (see AT_ONCE): True once, the moment it does."""
        if self.heard or not self.first_open or self.far >= FAR_WINDOWS:
            return False
        if time.monotonic() - self.first_open <= AT_ONCE * self.slowest:
            return False
        self.far = FAR_WINDOWS
        return True

    def allowed(self, per_origin: int) -> int:
        """Connections it may have now: as many as ``per_origin`` while the
        service is far (FAR), else what Little's law says its traffic needs."""
        return per_origin if self.far >= FAR_WINDOWS else min(per_origin, self.room)

    def note(self, rtt: float) -> None:
        """One answer, ``rtt`` seconds after its request was written."""
        self.window_done += 1
        self.window_rtt = min(self.window_rtt, rtt)
        now = time.monotonic()
        span = now - self.window_start
        if span >= max(WINDOW, self.window_rtt):
            rate = self.window_done / span
            self.room = max(FIRST + int(GROWTH * rate * self.window_rtt), self.room // 2)
            if self.window_rtt <= FAR * self.connect:
                self.far = 0
            elif self.window_rtt > AT_ONCE * self.slowest:
                self.far = max(self.far + 1, FAR_WINDOWS)
            else:
                self.far += 1
            self.window_start, self.window_done, self.window_rtt = now, 0, float("inf")
