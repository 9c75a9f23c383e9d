"""The registry of reminder kinds: each kind's words, tips, link, urgency,
plan section and notification actions, defined once and read by the plan,
the schedule, the payloads, the API and its OpenAPI document, the service
worker and /reminders."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from webapp import content


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
    its section of the plan (webapp.reminders.schedule): "interval" (a
    window, a step, a goal of glasses: the water rule) or "times" (a list
    of times); None: sent once, on request, like the test push, and worth
    sending for ``expires`` after it was asked for."""

    name: str
    title: str
    url: str
    label: str  # "Next water reminder": how /reminders names its next time
    tips: tuple[str, ...]  # the notification's body, one after the other
    urgency: str = "normal"
    rule: str | None = None
    noun: str = ""  # "stretch": how the plan's error messages name it
    plan: dict = field(default_factory=dict, hash=False)  # its section of the default plan
    expires: timedelta | None = None
    actions: tuple[Action, ...] = field(default_factory=tuple)

    @property
    def scheduled(self) -> bool:
        """Whether it follows the plan (quiet hours, a section, a next time)."""
        return self.rule is not None

    def client(self) -> dict:
        """What the service worker and /reminders need, as JSON."""
        return {"title": self.title, "url": self.url, "label": self.label,
                "actions": [a.client() for a in self.actions]}


SNOOZE_MINUTES = 30
_TIPS = content.load("tips")  # tips.json also names the sources of each list

KINDS = (
    Kind("hydration", "Time for a glass of water", "/reminders?act=hydration", "Next water reminder",
         tuple(_TIPS["hydration"]), rule="interval", noun="water",
         plan={"enabled": True, "every_minutes": 120, "from": "08:00", "until": "20:00",
               "goal_glasses": 8, "fluid_limited": False},
         actions=(
             Action("drank", "Drank a glass", post=("/api/log", {"kind": "water"})),
             Action("snooze", f"Snooze {SNOOZE_MINUTES} min",
                    post=("/api/reminders/snooze", {"kind": "hydration", "minutes": SNOOZE_MINUTES})),
         )),
    Kind("stretch", "Time for your bedtime stretch", "/routine/bedtime?source=reminder",
         "Next stretch reminder", tuple(_TIPS["stretch"]), rule="times", noun="stretch",
         plan={"enabled": True, "at": ["21:30"]},
         actions=(Action("start", "Start routine", open="/routine/bedtime?source=reminder"),)),
    Kind("test", "Reminders are on", "/reminders", "Test reminder",
         ("This is how a reminder from Unknot will look.",), urgency="high",
         expires=timedelta(minutes=10)),  # a test push older than this is not worth sending
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
        self.scheduled = tuple(k for k in kinds if k.scheduled)

    def __getitem__(self, name) -> Kind:
        return self.by_name[name]

    def __iter__(self):
        return iter(self.by_name.values())

    def client(self) -> dict:
        return client_kinds(self)


STANDARD = Registry(KINDS)


def init_app(app):
    """The app's registry: KINDS, or ``REMINDER_KINDS`` from a test config."""
    configured = app.config.get("REMINDER_KINDS")
    app.extensions["unknot_kinds"] = Registry(configured) if configured else STANDARD


def registry(app) -> Registry:
    return app.extensions["unknot_kinds"]
