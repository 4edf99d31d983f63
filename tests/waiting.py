"""Waiting for something to happen without guessing how long it takes: poll a condition
until a deadline, and fail with a message saying what never happened.

    from tests.waiting import wait_until

    wait_until(lambda: task_status() == "SUCCEEDED", "the task to succeed")
    fragment = wait_until(lambda: finished_fragment() or None, "the task to end", timeout=60)

Every test that waits for a thread, a process or a task uses this (or a threading.Event
or Barrier when it owns both sides), never a bare `time.sleep`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_INTERVAL = 0.05


def wait_until(
    condition: Callable[[], T],
    what: str = "the condition",
    *,
    timeout: float = 30.0,
    interval: float = POLL_INTERVAL,
) -> T:
    """Call `condition` until it returns something truthy, and return that; raise
    AssertionError naming `what` when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)  # the poll interval, not an ordering guess
