"""What a reminder says: its kind's title and link, and its tips in turn."""


def next_tip(last, count):
    """The tip after ``last``; never the same one twice in a row."""
    return 0 if last is None or count == 0 else (last + 1) % count


def reminder_payload(kind, tip_index):
    """The push payload (DESIGN.md) of a reminder of ``kind`` (a Kind) with its tip ``tip_index``."""
    return {"kind": kind.name, "title": kind.title, "body": kind.tips[tip_index], "url": kind.url,
            "tag": kind.name}
