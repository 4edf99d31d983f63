"""Forms of the activity area: the task list filters, editing a task, canceling it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, SelectField, StringField
from wtforms.validators import Optional, ValidationError

from app import inputs
from app.tasks.service import TaskFilters

STATUS_CHOICES = [
    ("", "Any status"),
    ("ACTIVE", "Active"),
    ("INACTIVE", "Inactive"),
    ("SUCCEEDED", "Succeeded"),
    ("FAILED", "Failed"),
]
TYPE_CHOICES = [("", "Any type"), ("TRANSFER", "Transfer"), ("DELETE", "Delete")]


class TaskFilterForm(FlaskForm):
    """The task list's filters: a GET form, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField("Status", choices=STATUS_CHOICES, default="")
    type = SelectField("Type", choices=TYPE_CHOICES, default="")
    label = StringField("Label contains", validators=[Optional()])
    since = DateField("Requested from", validators=[Optional()])
    until = DateField("Requested until", validators=[Optional()])

    def validate_label(self, field):
        error = inputs.problem(inputs.clean_label, field.data)
        if error:
            raise ValidationError(error)
        if "/" in field.data or "," in field.data:
            raise ValidationError("Label search cannot contain / or ,.")

    def validate_until(self, field):
        if self.since.data and field.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date.")

    def filters(self) -> TaskFilters:
        return TaskFilters(
            status=self.status.data or None,
            type=self.type.data or None,
            label=(self.label.data or "").strip() or None,
            since=self.since.data,
            until=self.until.data,
        )

    def page_args(self, page: int) -> dict:
        """Query arguments for a link to another page with the same filters."""
        args = {k: self[k].data for k in ("status", "type", "label") if self[k].data}
        for k in ("since", "until"):
            if self[k].data:
                args[k] = self[k].data.isoformat()
        return {**args, "page": page}


class TaskEditForm(FlaskForm):
    """Label and deadline: the two things Globus lets change on a running task."""

    label = StringField("Label", validators=[Optional()])
    deadline = DateTimeLocalField(
        "Deadline (UTC)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
    )

    def validate_label(self, field):
        error = inputs.problem(inputs.clean_label, field.data)
        if error:
            raise ValidationError(error)

    def validate_deadline(self, field):
        error = inputs.problem(inputs.clean_deadline, field.data)
        if error:
            raise ValidationError(error)


class CancelForm(FlaskForm):
    """Only the CSRF token: canceling is a POST confirmed in the page."""
