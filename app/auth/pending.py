"""Pending sign-ins, kept in the server-side session between /auth/login and /auth/callback.

Each authorize round is keyed by its `state`; a callback takes (removes) its entry, so a
state works once, only in the browser session that started it, and only for ten minutes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from flask import session

SESSION_KEY = "auth_pending"
# docs/security.md: an expired state is rejected. Ten minutes covers a slow identity provider.
PENDING_TTL = 600
# Two or three tabs may sign in at once; more than this is noise (or an attack on the
# session's size), so the oldest are dropped.
MAX_PENDING = 5


@dataclass(frozen=True)
class PendingLogin:
    """What the callback needs to finish one authorize round. Never leaves the server."""

    state: str
    nonce: str
    code_verifier: str
    next: str
    created: float = field(default_factory=time.time)
    extra_scopes: tuple[str, ...] = ()

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) - self.created > PENDING_TTL


def remember(login: PendingLogin) -> None:
    """Keep `login` in this browser's session, dropping expired and surplus entries."""
    now = time.time()
    entries = {
        state: entry
        for state, entry in session.get(SESSION_KEY, {}).items()
        if now - entry.get("created", 0) <= PENDING_TTL
    }
    entries[login.state] = {**asdict(login), "extra_scopes": list(login.extra_scopes)}
    newest = sorted(entries.items(), key=lambda item: item[1]["created"])[-MAX_PENDING:]
    # A fresh dict: the session only notices assignments, not nested mutation.
    session[SESSION_KEY] = dict(newest)


def take(state: str | None) -> PendingLogin | None:
    """Remove and return the pending login for `state`, if this session started one."""
    entries = dict(session.get(SESSION_KEY, {}))
    if not state or state not in entries:
        return None
    entry = entries.pop(state)
    if entries:
        session[SESSION_KEY] = entries
    else:
        session.pop(SESSION_KEY, None)
    return PendingLogin(
        state=entry["state"],
        nonce=entry["nonce"],
        code_verifier=entry["code_verifier"],
        next=entry["next"],
        created=entry["created"],
        extra_scopes=tuple(entry.get("extra_scopes", ())),
    )
