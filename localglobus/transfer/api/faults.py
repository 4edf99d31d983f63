"""Answers made to fail on purpose (`localglobus fault http-errors`): the next N Transfer
calls answer 429 or 503 with `Retry-After`, as Globus does when it sheds load, so that
clients' retries can be tried (docs/globus-api.md B.16)."""

from __future__ import annotations

from sqlalchemy import select, update

from localglobus.errors import TransferAPIError
from localglobus.transfer.api.blueprint import bp
from localglobus.transfer.api.context import state
from localglobus.transfer.models import ApiFault

# The body codes are not recorded from Globus: these are ours (docs/globus-api.md B.16).
MESSAGES = {
    429: ("ClientError.RequestLimitExceeded", "Too many requests; try again later."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable; try again later."),
}


@bp.before_request
def injected_error():
    with state().db.session() as session:
        fault = session.scalar(select(ApiFault).where(ApiFault.remaining > 0).limit(1))
        if fault is None:
            return None
        # Compare-and-swap: of two calls racing for the last injected error, one gets it.
        claimed = session.execute(
            update(ApiFault)
            .where(ApiFault.id == fault.id, ApiFault.remaining == fault.remaining)
            .values(remaining=fault.remaining - 1)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            return None
        status, retry_after = fault.status, fault.retry_after
    code, message = MESSAGES[status]
    response = TransferAPIError(status, code, message).response()
    response.headers["Retry-After"] = str(retry_after)
    return response
