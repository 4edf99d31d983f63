"""The two-pane transfer page, submitting a transfer, and resuming a pending one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app.errors import BadInput, NotFound, PermissionDenied
from app.transfers import panes, service
from app.transfers.forms import ResumeForm, TransferForm

bp = Blueprint("transfers", __name__, url_prefix="/transfers")


@bp.get("/")
def new():
    """Two panes (collection and folder on each side) and, once both are chosen, the
    transfer form with a submission_id minted for it."""
    page = panes.load_page(g.user.id, request.args)
    form = None
    if page.ready:
        form = TransferForm(data=page.form_data())
        form.return_to.data = url_for(".resume", submission_id=page.submission_id)
    return render_template("transfers/new.html", page=page, form=form)


@bp.post("/")
def submit():
    """Submit the transfer (write-ahead, once per submission_id); land on the task."""
    form = TransferForm()
    if not form.validate():
        page = panes.static_page(*_folders(form))
        return render_template("transfers/new.html", page=page, form=form), 400
    items = service.items_from_selection(
        form.source_path.data, form.destination_path.data, form.items.data
    )
    try:
        submission = service.submit_transfer(
            g.user.id,
            submission_id=form.submission_id.data,
            source_id=form.source_id.data,
            destination_id=form.destination_id.data,
            items=items,
            options=form.options(),
        )
    except (BadInput, PermissionDenied, NotFound) as error:
        flash(f"Globus did not accept the transfer: {error.message}", "error")
        # Query arguments, not url_for's own options (_external, _anchor...).
        args: dict[str, Any] = panes.static_page(*_folders(form)).args
        return redirect(url_for(".new", **args))
    return redirect(url_for("tasks.detail", task_id=submission.task_id))


@bp.get("/resume/<submission_id>")
def resume(submission_id: str):
    """A pending submission (after consent, a timeout or an outage): confirm to send it
    again with the same submission_id. A submitted one goes to its task."""
    submission = service.get_submission(g.user.id, submission_id)
    if submission.task_id:
        return redirect(url_for("tasks.detail", task_id=submission.task_id))
    form = ResumeForm(return_to=request.path)
    return render_template("transfers/resume.html", submission=submission, form=form)


@bp.post("/resume/<submission_id>")
def resume_submit(submission_id: str):
    """Send the stored document again; Globus answers with the one task either way."""
    submission = service.resume_submission(g.user.id, submission_id)
    return redirect(url_for("tasks.detail", task_id=submission.task_id))


def _folders(form: TransferForm) -> tuple[str, str, str, str]:
    fields = (form.source_id, form.source_path, form.destination_id, form.destination_path)
    return tuple(f.data or "" for f in fields)  # type: ignore[return-value]
