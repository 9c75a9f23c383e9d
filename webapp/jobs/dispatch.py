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
- **Apply** (one short transaction per batch): the results are written by
  webapp.jobs.bulk (one statement per kind of write: over a JSON text on
  PostgreSQL, executemany on SQLite) whose WHERE includes the claim token: if the
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
import logging
import secrets
import time
from collections import Counter, deque
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp import clock
from webapp.config import settings
from webapp.jobs import senders
from webapp.jobs.claim import claim
from webapp.jobs.messages import Messages
from webapp.jobs.results import apply
from webapp.jobs.retry import RetryPolicy
from webapp.jobs.transactions import in_transaction
from webapp.reminders.kinds import registry
from webapp.store.db import database
from webapp.store.models import DueReminder

MAX_BATCHES = 200
# Batches claimed beyond what fills SEND_CONCURRENCY: the sender keeps
# encrypting these while this thread waits for the oldest batch's last
# answer, writes it and claims the next (with one, the two cores were
# 30-50 % busy for ~100 ms of a 50 ms-away pass of 5,000 while that
# happened: python -m bench.budget --ahead 1).
AHEAD = 3
# The first claim of a pass is this small and each next one at most twice
# the last, up to the batch size: the sender starts within a few
# milliseconds instead of after a whole batch's claim (~15-25 ms on
# PostgreSQL for 500 rows, python -m bench.claims, with the other cores
# idle), and then waits at most a few ms for each next claim (~30-45 µs a
# row, where two cores encrypt a row in ~90-110).
FIRST_BATCH = 64
# Seconds past a batch's last request deadline before its sender counts as stuck.
SENDER_GRACE = 30.0

log = logging.getLogger(__name__)


def run_pass(app, *, now: datetime | None = None, batch: int | None = None, max_batches=MAX_BATCHES):
    """Send everything due; return counts by outcome ("deferred": claimed but
    left for the next pass because the deadline came). Bounded in batches
    and in time.

    Batches overlap: while the sender has some in flight, this thread
    claims the next and writes the results of those that came back, so the
    sender is never idle waiting for the database: at most enough batches
    to fill SEND_CONCURRENCY, plus AHEAD more, are claimed at once."""
    s = settings(app)
    kinds, retry, store = registry(app), RetryPolicy.from_settings(s), database(app)
    batch = batch or s.dispatch_batch
    lease = timedelta(seconds=s.dispatch_lease_seconds)
    deadline = time.monotonic() + s.dispatch_pass_seconds
    ahead = max(1, -(-s.send_concurrency // batch)) + AHEAD
    counts = Counter()
    push = senders.sender(app)
    flying = deque()  # (jobs, token, jobs sent, Future of their results, answer by), oldest first
    stalled = False

    def land():
        nonlocal stalled
        jobs, token, ready, future, answer_by = flying.popleft()
        try:
            results = future.result(timeout=max(0.0, answer_by - time.monotonic()))
        except FutureTimeout:  # a sender that cannot answer any more: give the rows back as they were
            future.cancel()
            results, stalled = [None] * len(ready), True
        Messages.finish(ready, results)
        done = now or clock.now(app)
        in_transaction(store, functools.partial(apply, jobs=jobs, now=done, token=token, kinds=kinds, retry=retry))
        counts.update(j.outcome if j.started else "deferred" for j in jobs)

    try:
        for claims in range(max_batches):
            if time.monotonic() >= deadline or stalled:
                break
            if len(flying) >= ahead:
                land()
            moment = now or clock.now(app)
            token = secrets.token_hex(16)
            size = min(batch, FIRST_BATCH << claims)
            jobs = in_transaction(store, lambda session: claim(session, moment, size, lease=lease, token=token))
            if jobs:
                send_until = min(deadline, time.monotonic() + s.dispatch_lease_seconds / 2)
                ready, future = Messages(moment, kinds).start(push, jobs, send_until)
                # Every request ends by its total deadline: an answer later than this never comes.
                flying.append((jobs, token, ready, future, send_until + s.push_timeout + SENDER_GRACE))
            if len(jobs) < size:
                # All that could be claimed now is: land every batch in
                # flight, then look again (their results may add catch-ups due
                # now, and rows come due meanwhile). A claim after each one
                # found nothing while the worker and the database had better
                # use for the cores (python -m bench.budget counts the empty
                # claims); the price: behind a slow service, a catch-up waits
                # for the last batch's answers, not only the first's.
                if not flying:
                    break
                while flying and not stalled:
                    land()
    finally:
        while flying:
            land()
        if stalled:
            log.error("the sender stopped answering; a new one takes over on the next pass")
            try:
                senders.close(app)  # the slot is empty first: the next pass makes a new sender
            except Exception:  # a stuck loop may not close in time; its threads and processes are daemons
                log.exception("the stuck sender did not close cleanly")
        else:
            push.sweep()
    return counts


def next_due_after(app, moment: datetime) -> datetime | None:
    """The earliest due time after ``moment`` (so the tick can wake for it)."""
    with database(app).begin() as session:
        return session.scalar(select(func.min(DueReminder.due_at)).where(DueReminder.due_at > moment))
