"""Many threads and many worker processes find the same token expired at once: exactly one
refresh reaches Globus Auth and every caller gets its result (docs/security.md, Tokens at rest).

The counting Auth (tests/portal/conftest.py: FakeAuth) rotates refresh tokens and refuses a
used one, so a second refresh with the same refresh token would show up as a sign-out.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.extensions import db
from app.globus import tokens
from app.models import OAuthToken
from tests.portal.conftest import make_user

RS = "transfer.api.globus.org"
THREADS = 32
PROCESSES = 4
THREADS_PER_PROCESS = 8


def expired_token(app, fake_auth) -> int:
    """A user whose stored transfer token expired five seconds ago."""
    user = make_user(app)
    with app.app_context():
        tokens.save_token_response(
            user,
            [
                {
                    "resource_server": RS,
                    "access_token": "expired-access",
                    "refresh_token": "first-refresh",
                    "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
                    "expires_at": int(time.time()) + 3600,
                }
            ],
        )
        with db.engine.begin() as conn:
            conn.execute(
                update(OAuthToken.__table__).values(
                    expires_at=datetime.now(UTC) - timedelta(seconds=5)
                )
            )
    fake_auth.accept("first-refresh", RS)
    return user


def read_all_at_once(app, user: int, count: int, barrier) -> list[str]:
    """`count` threads wait on `barrier`, then each asks for the access token."""
    results: list[str] = []
    errors: list[BaseException] = []

    def ask():
        with app.app_context():
            barrier.wait(timeout=60)
            try:
                results.append(tokens.get_access_token(user, RS))
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_32_threads_refresh_an_expired_token_once(token_app, fake_auth):
    user = expired_token(token_app, fake_auth)
    results = read_all_at_once(token_app, user, THREADS, threading.Barrier(THREADS))
    assert len(results) == THREADS
    assert len(set(results)) == 1 and results[0].startswith("access-1-")
    assert (fake_auth.refresh_calls, fake_auth.refused) == (1, 0)


def worker_process(config: dict, user: int, barrier, results) -> None:
    """One gunicorn-like worker: its own app and engine on the shared database."""
    from app import create_app

    app = create_app(config)
    try:
        results.put(("ok", read_all_at_once(app, user, THREADS_PER_PROCESS, barrier)))
    except BaseException as e:  # noqa: BLE001 - the parent reports it
        results.put(("error", f"{type(e).__name__}: {e}"))


@pytest.mark.slow
def test_4_worker_processes_refresh_an_expired_token_once(token_app, fake_auth):
    user = expired_token(token_app, fake_auth)
    config = {
        key: token_app.config[key]
        for key in (
            "FERRY_DATABASE_URL",
            "FERRY_TOKEN_KEYS",
            "SECRET_KEY",
            "FERRY_GLOBUS_AUTH_URL",
            "FERRY_GLOBUS_CLIENT_ID",
            "FERRY_GLOBUS_CLIENT_SECRET",
            "TESTING",
        )
    }
    config["INSTANCE_PATH"] = token_app.config["INSTANCE_PATH"]
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(PROCESSES * THREADS_PER_PROCESS)
    results = spawn.Queue()
    workers = [
        spawn.Process(target=worker_process, args=(config, user, barrier, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert [kind for kind, _ in outcomes] == ["ok"] * PROCESSES, outcomes
    tokens_seen = {token for _, got in outcomes for token in got}
    assert sum(len(got) for _, got in outcomes) == PROCESSES * THREADS_PER_PROCESS
    assert len(tokens_seen) == 1 and next(iter(tokens_seen)).startswith("access-1-")
    assert (fake_auth.refresh_calls, fake_auth.refused) == (1, 0)
