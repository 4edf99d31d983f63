"""Forms of the admin pages; every check here runs before any call to Globus."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app import paths
from app.admin.models import ACTIONS
from app.errors import BadInput
from app.formatting import as_utc
from app.globus.admin_types import ROLE_NAMES
from app.inputs import clean_uuid, has_control

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

PRINCIPAL_TYPES = [
    ("identity", "A person (username or email)"),
    ("group", "A group (group id)"),
    ("all_authenticated_users", "All signed-in users"),
    ("anonymous", "Anyone, without signing in"),
]
PERMISSIONS = [("r", "Read"), ("rw", "Read and write")]
TASK_STATUSES = [(s, s.title()) for s in ("ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED")]


def rule_path_problem(path: str) -> str | None:
    """Why `path` is not a valid access rule path, or None. A rule path names a folder of
    the guest collection: a path of the portal's one grammar (app.paths), from the
    collection's root ('/'), ending in `/`."""
    problem = paths.problem(path)
    if problem:
        return problem
    if not path.startswith("/") or not path.endswith("/"):
        return "The path must start and end with /, for example /results/2024/."
    return None


def _rule_path(form, field) -> None:
    problem = rule_path_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def _no_control(form, field) -> None:
    if field.data and has_control(field.data, lines=True):
        raise ValidationError("Control characters are not allowed.")


def _single_line(form, field) -> None:
    if field.data and has_control(field.data):
        raise ValidationError("Use one line, without control characters.")


def _future(form, field) -> None:
    if field.data and as_utc(field.data) <= datetime.now(UTC):
        raise ValidationError("The expiration must be in the future.")


class _PrincipalMixin:
    principal_type: SelectField  # declared by each form

    def validate_principal(self, field) -> None:
        """A person or a group needs a value; a group id is a UUID."""
        kind = self.principal_type.data
        value = (field.data or "").strip()
        field.data = value
        if kind in ("identity", "group") and not value:
            raise ValidationError("Say who: a username or email, or a group id.")
        if kind == "group":
            try:
                field.data = clean_uuid(value, message="A group id looks like 1a2b3c4d-...-...")
            except BadInput as error:
                raise ValidationError(error.message) from None


class RuleForm(_PrincipalMixin, FlaskForm):
    """Add an access rule to a guest collection."""

    principal_type = SelectField("Who", choices=PRINCIPAL_TYPES, default="identity")
    principal = StringField(
        "Username, email or group id", validators=[Length(max=255), _single_line]
    )
    path = StringField("Folder", validators=[DataRequired(), Length(max=1024), _rule_path])
    permissions = RadioField("Permissions", choices=PERMISSIONS, default="r")
    expiration = DateTimeLocalField(
        "Expires (UTC, optional)", format="%Y-%m-%dT%H:%M", validators=[Optional(), _future]
    )
    notify_email = StringField(
        "Notify by email (optional)",
        validators=[Optional(), Length(max=255), Regexp(_EMAIL, message="Not an email address.")],
    )
    notify_message = TextAreaField(
        "Message in the notification (optional)", validators=[Length(max=1000), _no_control]
    )

    def validate_permissions(self, field) -> None:
        """rw for anonymous only when FERRY_ALLOW_ANONYMOUS_WRITE is set."""
        if (
            field.data == "rw"
            and self.principal_type.data == "anonymous"
            and not current_app.config.get("FERRY_ALLOW_ANONYMOUS_WRITE")
        ):
            raise ValidationError("This portal does not allow write access for anonymous users.")


class RuleUpdateForm(FlaskForm):
    """Change a rule's permissions or expiration."""

    permissions = RadioField("Permissions", choices=PERMISSIONS)
    expiration = DateTimeLocalField(
        "Expires (UTC, empty for never)", format="%Y-%m-%dT%H:%M", validators=[Optional(), _future]
    )


class RoleForm(_PrincipalMixin, FlaskForm):
    """Grant a role on a collection."""

    principal_type = SelectField("Who", choices=PRINCIPAL_TYPES[:2], default="identity")
    principal = StringField(
        "Username, email or group id", validators=[Length(max=255), _single_line]
    )
    # The least powerful role first: granting administrator is a deliberate choice.
    role = SelectField(
        "Role",
        choices=[(r, r.replace("_", " ")) for r in reversed(ROLE_NAMES)],
        default="activity_monitor",
    )


class AdminCancelForm(FlaskForm):
    """Cancel somebody's task as an admin; the owner sees the message."""

    message = TextAreaField(
        "Message to the task's owner",
        validators=[DataRequired(), Length(max=500), _no_control],
    )


class _MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActivityFilterForm(FlaskForm):
    """The endpoint manager task list's filters (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    status = _MultiCheckbox("Status", choices=TASK_STATUSES)
    owner = StringField("Owner (username)", validators=[Optional(), Length(max=255), _single_line])
    completed_after = DateField("Completed from", validators=[Optional()])
    completed_before = DateField("Completed until", validators=[Optional()])
    paused = SelectField(
        "Paused", choices=[("", "Any"), ("yes", "Paused"), ("no", "Not paused")], default=""
    )

    def validate_paused(self, field) -> None:
        """Globus filters is_paused among running tasks only."""
        if field.data and set(self.status.data or ()) - {"ACTIVE", "INACTIVE"}:
            raise ValidationError("Paused applies to active or inactive tasks only.")


class AuditFilterForm(FlaskForm):
    """The audit log's filters (GET)."""

    class Meta:
        csrf = False

    action = SelectField("Action", choices=[("", "Any"), *ACTIONS.items()], default="")
    actor = StringField("By (username)", validators=[Optional(), Length(max=255), _single_line])
    since = DateField("From", validators=[Optional()])
    until = DateField("Until", validators=[Optional()])
    collection = StringField("Collection id", validators=[Optional(), Length(max=64)])
    result = SelectField(
        "Result",
        choices=[("", "Any"), ("ok", "Done"), ("failed", "Failed"), ("pending", "Pending")],
        default="",
    )
