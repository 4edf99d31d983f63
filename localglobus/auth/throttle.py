"""Wrong passwords are slowed down, then refused for a while, per username.

Counted in memory: localglobus is one process, and a restart forgetting the count costs
an attacker a restart per few guesses, which it cannot cause from outside.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

# After FREE_FAILURES wrong passwords in WINDOW seconds each further attempt waits a
# little longer; after LOCK_AFTER the username is refused for LOCK_SECONDS, even with
# the right password (a guesser must not learn that a guess was right).
WINDOW = 15 * 60
FREE_FAILURES = 3
DELAY_STEP = 0.5
LOCK_AFTER = 6
LOCK_SECONDS = 5 * 60


@dataclass
class SignInThrottle:
    failures: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> list[float]:
        recent = [t for t in self.failures.get(key, []) if t > now - WINDOW]
        self.failures[key] = recent
        return recent

    def locked_for(self, username: str) -> float:
        """Seconds the username is still refused (0: it may try)."""
        now = time.monotonic()
        with self.lock:
            recent = self._recent(username.lower(), now)
            if len(recent) < LOCK_AFTER:
                return 0.0
            return max(recent[-1] + LOCK_SECONDS - now, 0.0)

    def delay(self, username: str) -> float:
        """How long this attempt waits before its answer."""
        with self.lock:
            count = len(self._recent(username.lower(), time.monotonic()))
        return max(count - FREE_FAILURES + 1, 0) * DELAY_STEP

    def admit(self, username: str) -> float:
        """Let an attempt go on after its delay (0), or say how many seconds the username
        is still refused."""
        locked = self.locked_for(username)
        if not locked:
            time.sleep(self.delay(username))
        return locked

    def failed(self, username: str) -> None:
        with self.lock:
            self._recent(username.lower(), time.monotonic()).append(time.monotonic())

    def succeeded(self, username: str) -> None:
        with self.lock:
            self.failures.pop(username.lower(), None)
