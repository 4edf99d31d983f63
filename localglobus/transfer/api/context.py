"""Who is calling the Transfer route being served, and the server state it works on."""

from __future__ import annotations

from flask import g

from localglobus.auth import tokens
from localglobus.state import State, get_state


def caller() -> tokens.Caller:
    """The authenticated caller of this request (401 ClientError.AuthenticationFailed)."""
    if "transfer_caller" not in g:
        # Looked up through the module so tests and the Auth half can swap it.
        g.transfer_caller = tokens.authenticate(tokens.TRANSFER_RS)
    return g.transfer_caller


def state() -> State:
    return get_state()
