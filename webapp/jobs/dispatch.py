"""One dispatch pass: claim what is due, send it concurrently, store the
next due time of each kind (the loop; each step has its own module).

Safe to run in any number of processes against one database:

- **Claim** (one short transaction per batch): one UPDATE ... RETURNING
  stamps up to ``batch`` due, unclaimed rows with a lease (``lease_until``)
  and this batch's random claim token (``claim``). On PostgreSQL the rows
  are picked with ``FOR UPDATE SKIP LOCKED``, so concurrent workers take
  different rows without waiting for each other; SQLite has one writer at
  a time anyway.
- **Send** (no transaction open): by webapp.push.sender, hundreds in flight
  on keep-alive connections, while this thread claims the next batch and
  writes the results of the last. No send starts after the pass deadline or
  after half the lease, so a send always ends (each request has a total
  deadline, UNKNOT_PUSH_TIMEOUT) well before another worker may take the
  row over.
- **Apply** (one short transaction per batch): every result is written
  with executemany statements whose WHERE includes the claim token: if the
  lease ran out and another worker took the row over, or the user changed
  the plan meanwhile (reminders.due.set_due clears the claim), this pass's
  result is dropped instead of overwriting theirs.

A worker that dies (SIGKILL, power loss) leaves its rows claimed until the
lease ends; then the next pass takes them over and sends the same
occurrence again: nothing is lost, and at most the messages that were in
flight go out twice. The Topic header is one per kind, so a push service
still holding an undelivered copy replaces it with the newer one.
"""
from __future__ import annotations

import functools
import secrets
import time
from collections import Counter, deque
from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp import clock
from webapp.config import settings
from webapp.jobs.claim import claim
from webapp.jobs.messages import Messages
from webapp.jobs.results import apply
from webapp.jobs.retry import RetryPolicy
from webapp.jobs.senders import sender
from webapp.jobs.transactions import in_transaction
from webapp.reminders.kinds import registry
from webapp.store.db import database
from webapp.store.models import DueReminder

MAX_BATCHES = 200


def run_pass(app, *, now: datetime | None = None, batch: int | None = None, max_batches=MAX_BATCHES):
    """Send everything due; return counts by outcome ("deferred": claimed but
    left for the next pass because the deadline came). Bounded in batches
    and in time.

    Batches overlap: while the sender has some in flight, this thread
    claims the next and writes the results of those that came back, so the
    sender is never idle waiting for the database (at most enough batches
    to fill SEND_CONCURRENCY, plus one, are claimed at once)."""
    s = settings(app)
    kinds, retry, store = registry(app), RetryPolicy.from_settings(s), database(app)
    batch = batch or s.dispatch_batch
    lease = timedelta(seconds=s.dispatch_lease_seconds)
    deadline = time.monotonic() + s.dispatch_pass_seconds
    ahead = max(1, -(-s.send_concurrency // batch)) + 1
    counts = Counter()
    push = sender(app)
    flying = deque()  # (jobs, token, jobs sent, Future of their results), oldest first

    def land():
        jobs, token, ready, future = flying.popleft()
        Messages.finish(ready, future.result())
        done = now or clock.now(app)
        in_transaction(store, functools.partial(apply, jobs=jobs, now=done, token=token, kinds=kinds, retry=retry))
        counts.update(j.outcome if j.started else "deferred" for j in jobs)

    try:
        for _ in range(max_batches):
            if time.monotonic() >= deadline:
                break
            if len(flying) >= ahead:
                land()
            moment = now or clock.now(app)
            token = secrets.token_hex(16)
            jobs = in_transaction(store, lambda session: claim(session, moment, batch, lease=lease, token=token))
            if not jobs:
                if not flying:
                    break
                land()  # its results may include a catch-up that is due now: look again
                continue
            send_until = min(deadline, time.monotonic() + s.dispatch_lease_seconds / 2)
            ready, future = Messages(moment, kinds).start(push, jobs, send_until)
            flying.append((jobs, token, ready, future))
    finally:
        while flying:
            land()
        push.sweep()
    return counts


def next_due_after(app, moment: datetime) -> datetime | None:
    """The earliest due time after ``moment`` (so the tick can wake for it)."""
    with database(app).begin() as session:
        return session.scalar(select(func.min(DueReminder.due_at)).where(DueReminder.due_at > moment))
