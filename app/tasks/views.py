"""Activity: the task list, a task's page with live progress, cancel and edit."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app.tasks import service
from app.tasks.forms import CancelForm, TaskEditForm, TaskFilterForm

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


@bp.get("/")
def list_tasks():
    """The user's tasks, newest first, with filters and paging."""
    form = TaskFilterForm(request.args)
    if not form.validate():
        return render_template("tasks/list.html", form=form, page=None), 400
    number = request.args.get("page", 1, type=int)
    page = service.list_tasks(g.user.id, form.filters(), page=number)
    return render_template("tasks/list.html", form=form, page=page)


@bp.get("/<task_id>")
def detail(task_id: str):
    """A task: status, progress, counts, options, events, files, pause information."""
    events_offset = request.args.get("events_offset", 0, type=int)
    detail = service.task_detail(g.user.id, task_id, events_offset=events_offset)
    edit = TaskEditForm(data={"label": detail.task.label, "deadline": detail.task.deadline})
    return _render_detail(detail, edit)


@bp.get("/<task_id>/progress")
def progress(task_id: str):
    """The progress fragment the task page polls while the task runs (htmx)."""
    task = service.get_task(g.user.id, task_id)
    return render_template("tasks/_progress.html", task=task)


@bp.get("/<task_id>/<any(transferred, skipped):kind>")
def files(task_id: str, kind: str):
    """All transferred files, or all skipped errors, of a task, a page at a time."""
    marker = request.args.get("marker") or None
    page = service.task_files(g.user.id, task_id, kind, marker)
    task = service.get_task(g.user.id, task_id)
    return render_template("tasks/files.html", task=task, kind=kind, page=page)


@bp.post("/<task_id>/cancel")
def cancel(task_id: str):
    """Cancel the task (confirmed in the page); back to the task page with the outcome."""
    flash(service.cancel_task(g.user.id, task_id), "info")
    return redirect(url_for("tasks.detail", task_id=task_id))


@bp.post("/<task_id>/edit")
def edit(task_id: str):
    """Change the label and deadline of a running task."""
    form = TaskEditForm()
    if not form.validate():
        return _render_detail(service.task_detail(g.user.id, task_id), form, status=400)
    message = service.update_task(
        g.user.id, task_id, label=form.label.data, deadline=form.deadline.data
    )
    flash(message, "info")
    return redirect(url_for("tasks.detail", task_id=task_id))


def _render_detail(detail: service.TaskDetail, edit: TaskEditForm, status: int = 200):
    page = render_template(
        "tasks/detail.html",
        detail=detail,
        task=detail.task,
        edit=edit,
        cancel=CancelForm(),
        preview=service.PREVIEW,
    )
    return page, status
