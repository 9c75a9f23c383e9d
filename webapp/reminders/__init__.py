"""The reminder domain (pure): kinds, plans, wall-clock rules, schedules, payloads; and a subscription's due rows."""
