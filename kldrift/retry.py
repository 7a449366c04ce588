"""Retrying an action with exponential backoff: the one policy for webhooks and the history."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Waits between attempts: `first` seconds, doubling up to `cap`; `jitter` stretches each
    wait by a random factor in [1, 2), so processes that collided do not collide again in step.

    The attempts end when `tries` have been made or, with `within`, once that many seconds have
    passed since the first attempt began.
    """

    first: float
    cap: float = math.inf
    tries: int | None = None
    within: float | None = None
    jitter: bool = False

    def wait(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 for the second attempt)."""
        # Doubling stops at the cap before the float overflows, however many retries are allowed.
        base = self.first * 2.0 ** min(retry - 1, 1000) if self.first else 0.0
        delay = min(base, self.cap)
        return delay * (1 + random.random()) if self.jitter else delay


def retry(
    action: Callable[[], T],
    retryable: Callable[[Exception], bool],
    backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`action()`'s result, calling it again after a wait while it raises a retryable exception.

    The last exception is raised as is when it is not retryable or the attempts are used up.
    """
    deadline = None if backoff.within is None else clock() + backoff.within
    attempt = 1
    while True:
        try:
            return action()
        except Exception as exc:
            spent = backoff.tries is not None and attempt >= backoff.tries
            late = deadline is not None and clock() > deadline
            if spent or late or not retryable(exc):
                raise
        sleep(backoff.wait(attempt))
        attempt += 1
