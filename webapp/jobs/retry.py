"""The retry policy: how long a reminder waits after a send that failed
for now (the service's Retry-After if it gave one, else exponential backoff)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    minimum: timedelta  # never again within the same pass
    first: timedelta  # doubles with each attempt
    maximum: timedelta  # backoff never waits longer

    @classmethod
    def from_settings(cls, s) -> RetryPolicy:
        return cls(timedelta(seconds=s.retry_min_seconds), timedelta(seconds=s.retry_first_seconds),
                   timedelta(seconds=s.retry_max_seconds))

    def wait(self, attempts: int, retry_after: float | None) -> timedelta:
        """The wait before the next try, after ``attempts`` earlier ones."""
        if retry_after is not None:
            return max(self.minimum, timedelta(seconds=retry_after))
        return max(self.minimum, min(self.first * 2 ** min(attempts, 16), self.maximum))
