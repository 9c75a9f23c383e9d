"""From claimed rows to push messages and back: quiet hours and expiry
checked, the payload with its rotating tip, TTL, urgency and Topic; and
the sender's results written onto the jobs."""
from __future__ import annotations

import functools
import logging

from webapp.jobs.claim import Job
from webapp.push.message import encode_payload, origin_of, topic_for
from webapp.push.sender import Message
from webapp.reminders import schedule
from webapp.reminders.kinds import Kind, Registry
from webapp.reminders.payloads import next_tip, reminder_payload

log = logging.getLogger(__name__)


class Messages:
    """Turns claimed jobs into messages, and results back into jobs; what a
    message says, and how urgent it is, is its kind's (the app's registry)."""

    def __init__(self, now, kinds: Registry):
        self.now = now
        self.kinds = kinds
        self._payloads = {}
        self._quiet = {}  # plan text -> in its quiet hours now (many people share a plan)

    def payload(self, kind: Kind, tip):
        data = self._payloads.get((kind.name, tip))
        if data is None:
            data = self._payloads[(kind.name, tip)] = encode_payload(**reminder_payload(kind, tip))
        return data

    def prepare(self, job) -> Message | None:
        """The message for a job, or None when it is not to be sent (a kind
        this app no longer knows; quiet hours, for a kind that follows the
        plan; expired)."""
        row, sub, now = job.row, job.sub, self.now
        kind = self.kinds.by_name.get(row["kind"])
        if kind is None:
            job.outcome, job.error = "drop", f"unknown reminder kind {row['kind']!r}"
            return None
        if kind.scheduled:
            quiet = self._quiet.get(sub["plan_key"])
            if quiet is None:
                quiet = self._quiet[sub["plan_key"]] = schedule.in_quiet(sub["plan"], now)
            if quiet:
                job.outcome, job.error = "skipped", "quiet hours"
                return None
        if row["expires_at"] and now >= row["expires_at"]:
            job.outcome, job.error = "skipped", "expired"
            return None
        job.tip = next_tip(row["last_tip"], len(kind.tips))
        ttl = max(1, int((row["expires_at"] - now).total_seconds())) if row["expires_at"] else 3600
        return Message(sub["endpoint"], sub["p256dh"], sub["auth"], self.payload(kind, job.tip), ttl,
                       kind.urgency, _topic(kind.name))

    def start(self, sender, jobs, until):
        """Hand the jobs' messages to the sender: (jobs sent, Future of results)."""
        ready, messages = [], []
        for job in jobs:
            try:
                message = self.prepare(job)
            except Exception as e:  # one bad subscription must not stop the pass
                job.started = True
                _failed(job, e)
                continue
            if message is None:
                job.started = True
            else:
                ready.append(job)
                messages.append(message)
        return ready, sender.submit(messages, until)

    @staticmethod
    def finish(ready, results):
        for job, result in zip(ready, results):
            if result is not None:  # None: not started before the deadline
                job.started = True
                job.outcome, job.status, job.error = result.outcome, result.status, result.error
                job.retry_after, job.elapsed, job.service = result.retry_after, result.elapsed, result.origin


def _failed(job: Job, e):
    log.warning("push to %s failed: %s", service_of(job.sub["endpoint"]), type(e).__name__)
    job.outcome, job.error = "drop", type(e).__name__


@functools.lru_cache(maxsize=16)
def _topic(kind):
    return topic_for(kind)


def service_of(endpoint):
    """The push service's origin of an endpoint, for logs."""
    try:
        return origin_of(endpoint)
    except ValueError:
        return "invalid"
