"""Each app's push sender, made once per process (a forked child must not
share its parent's loop, sockets or pipes) and sized to the machine."""
import os
import threading

from webapp.config import settings
from webapp.push.channel import channel
from webapp.push.sender import Fanout

EXTENSION = "unknot_sender"


class SenderSlot:
    """Where an app keeps its sender: (pid that made it, sender)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.current = None


def init_app(app):
    app.extensions[EXTENSION] = SenderSlot()


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def send_processes(app) -> int:
    """Encryption processes for this process's sender: UNKNOT_SEND_PROCESSES
    if set, else every core for a dedicated worker or ``reminders dispatch``,
    and none for the scheduler embedded in a web process (never forked)."""
    configured = settings(app).send_processes
    if configured is not None:
        return configured
    if app.extensions.get("unknot_role") not in ("worker", "dispatch"):
        return 0
    cores = usable_cores()
    return cores if cores > 1 else 0


def sender(app) -> Fanout:
    """This process's sender for ``app``."""
    slot = app.extensions[EXTENSION]
    current = slot.current
    if current is None or current[0] != os.getpid():
        with slot.lock:
            current = slot.current
            if current is None or current[0] != os.getpid():
                s, push = settings(app), channel(app)
                made = Fanout(
                    push.signer,
                    concurrency=s.send_concurrency,
                    connect_timeout=s.push_connect_timeout,
                    timeout=s.push_timeout,
                    per_origin=s.push_connections_per_origin,
                    trusted_origins=push.allowed.private_ok,
                    ca_bundle=s.push_ca_bundle,
                    processes=send_processes(app),
                )
                slot.current = current = (os.getpid(), made)
    return current[1]


def close(app) -> None:
    """Stop the sender of ``app`` (its loop, connections and processes)."""
    slot = app.extensions[EXTENSION]
    current, slot.current = slot.current, None
    if current is not None and current[0] == os.getpid():
        current[1].close()
