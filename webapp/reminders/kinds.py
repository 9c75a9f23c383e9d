"""The registry of reminder kinds: each kind's words, link, urgency and
notification actions, defined once and read by the schedule, the payloads,
the API and its OpenAPI document, the service worker and /reminders."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Action:
    """A button on the notification: it either opens one of our pages
    (``open``) or sends an API call through the worker's outbox (``post``:
    the path and body; the worker adds "at", the time of the tap)."""

    action: str
    title: str
    open: str | None = None
    post: tuple[str, dict] | None = None

    def client(self) -> dict:
        out = {"action": self.action, "title": self.title}
        if self.open is not None:
            out["open"] = self.open
        if self.post is not None:
            out["post"] = {"path": self.post[0], "body": self.post[1]}
        return out


@dataclass(frozen=True)
class Kind:
    """One kind of reminder. ``rule`` names how its next time follows from
    the plan (None: sent once, on request, like the test push)."""

    name: str
    title: str
    url: str
    label: str  # "Next water reminder": how /reminders names its next time
    urgency: str = "normal"
    rule: str | None = None
    actions: tuple[Action, ...] = field(default_factory=tuple)

    def client(self) -> dict:
        """What the service worker and /reminders need, as JSON."""
        return {"title": self.title, "url": self.url, "label": self.label,
                "actions": [a.client() for a in self.actions]}


SNOOZE_MINUTES = 30

KINDS = (
    Kind("hydration", "Time for a glass of water", "/reminders?act=hydration", "Next water reminder",
         rule="interval", actions=(
             Action("drank", "Drank a glass", post=("/api/log", {"kind": "water"})),
             Action("snooze", f"Snooze {SNOOZE_MINUTES} min",
                    post=("/api/reminders/snooze", {"kind": "hydration", "minutes": SNOOZE_MINUTES})),
         )),
    Kind("stretch", "Time for your bedtime stretch", "/routine/bedtime?source=reminder",
         "Next stretch reminder", rule="times",
         actions=(Action("start", "Start routine", open="/routine/bedtime?source=reminder"),)),
    Kind("test", "Reminders are on", "/reminders", "Test reminder", urgency="high"),
)


def client_kinds(kinds=KINDS) -> dict:
    """{name: Kind.client()} for every kind, as injected into sw.js and /reminders."""
    return {k.name: k.client() for k in kinds}


class Registry:
    """The kinds one app knows, by name (each app has its own: see init_app)."""

    def __init__(self, kinds):
        self.by_name = {k.name: k for k in kinds}
        if len(self.by_name) != len(kinds):
            raise ValueError("two reminder kinds share a name")

    def __getitem__(self, name) -> Kind:
        return self.by_name[name]

    def __iter__(self):
        return iter(self.by_name.values())

    def client(self) -> dict:
        return client_kinds(self)


def init_app(app):
    """The app's registry: KINDS, or ``REMINDER_KINDS`` from a test config."""
    app.extensions["unknot_kinds"] = Registry(app.config.get("REMINDER_KINDS") or KINDS)


def registry(app) -> Registry:
    return app.extensions["unknot_kinds"]
