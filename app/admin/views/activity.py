"""The activity monitor: tasks of all users that touch a collection, a task with its
events, and admin cancel."""

from __future__ import annotations

import re

from flask import flash, g, redirect, render_template, request, url_for

from app.admin import access, queries, service
from app.admin.forms import ActivityFilterForm, AdminCancelForm
from app.admin.queries import ActivityQuery
from app.admin.views import bp
from app.errors import BadInput

_LAST_KEY = re.compile(r"[\w:.,+\- ]{1,200}")


def _query(form: ActivityFilterForm) -> ActivityQuery:
    return ActivityQuery(
        statuses=tuple(form.status.data or ()),
        owner=form.owner.data or "",
        completed_after=form.completed_after.data,
        completed_before=form.completed_before.data,
        paused={"yes": True, "no": False}.get(form.paused.data),
    )


@bp.get("/<uuid:collection_id>/activity")
@access.requires("activity")
def activity(collection):
    """Filters (status, owner, completion dates, paused) and one page of tasks."""
    form = ActivityFilterForm(formdata=request.args)
    last_key = request.args.get("last_key") or None
    tasks, next_key, error = [], None, None
    if not form.validate() or (last_key and not _LAST_KEY.fullmatch(last_key)):
        error = "Check the filters."
    else:
        try:
            tasks, next_key = queries.monitored_tasks(g.user, collection, _query(form), last_key)
        except BadInput as refused:
            error = refused.message
    page = render_template(
        "admin/activity.html",
        collection=collection,
        form=form,
        tasks=tasks,
        next_key=next_key,
        error=error,
        filter_args={k: v for k, v in request.args.lists() if k != "last_key"},
    )
    return page, 400 if error else 200


def _task_page(collection, task_id, form):
    task, events = queries.monitored_task_with_events(g.user, collection, task_id)
    return render_template(
        "admin/task.html", collection=collection, task=task, events=events, form=form
    )


@bp.get("/<uuid:collection_id>/activity/<uuid:task_id>")
@access.requires("activity")
def task(collection, task_id):
    """A task touching the collection, its events, and admin cancel when allowed."""
    return _task_page(collection, str(task_id), AdminCancelForm(formdata=None))


@bp.post("/<uuid:collection_id>/activity/<uuid:task_id>/cancel")
@access.requires("cancel")
def cancel_task(collection, task_id):
    """Cancel the task as an admin, with a message its owner will see."""
    form = AdminCancelForm()
    if not form.validate():
        return _task_page(collection, str(task_id), form), 400
    try:
        service.admin_cancel_task(g.user, collection, str(task_id), form.message.data)
    except BadInput as error:
        flash(error.message, "error")
    else:
        flash("Cancel requested; the owner will see your message.", "success")
    return redirect(url_for(".task", collection_id=collection.id, task_id=task_id))
