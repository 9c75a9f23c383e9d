"""What each reminder says: a title, one rotating tip, where a tap leads."""

TITLES = {
    "hydration": "Time for a glass of water",
    "stretch": "Time for your bedtime stretch",
    "test": "Reminders are on",
}
URLS = {
    "hydration": "/reminders?act=hydration",
    "stretch": "/routine/bedtime?source=reminder",
    "test": "/reminders",
}
URGENCY = {"hydration": "normal", "stretch": "normal", "test": "high"}
TEST_BODY = "This is how a reminder from Unknot will look."


def next_tip(last, count):
    """The tip after ``last``; never the same one twice in a row."""
    return 0 if last is None or count == 0 else (last + 1) % count


def reminder_payload(kind, tips, tip_index):
    body = TEST_BODY if kind == "test" else tips[kind][tip_index]
    return {"kind": kind, "title": TITLES[kind], "body": body, "url": URLS[kind], "tag": kind}
