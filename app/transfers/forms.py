"""The transfer options form (two-pane page) and the resume confirmation."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import Optional, ValidationError

from app import inputs, paths
from app.transfers import validation as v
from app.transfers.service import TransferOptions

SYNC_CHOICES = [
    ("", "Always transfer every file"),
    ("exists", "Only files missing at the destination"),
    ("size", "Files whose size differs"),
    ("mtime", "Files that are newer or whose modification time differs"),
    ("checksum", "Files whose checksum differs"),
]


def _uuid(message: str):
    def check(_form, field):
        if not inputs.is_uuid(field.data):
            raise ValidationError(message)

    return check


def _path(_form, field):
    error = paths.problem(field.data)
    if error:
        raise ValidationError(error)


class TransferForm(FlaskForm):
    """Items picked in the source pane, the two folders, and every transfer option.
    `submission_id` is minted when the form is shown, so a resent form submits once."""

    submission_id = HiddenField(validators=[_uuid("This form has expired; reload the page.")])
    return_to = HiddenField()
    source_id = HiddenField(validators=[_uuid("Choose a source collection.")])
    source_path = HiddenField(validators=[_path])
    destination_id = HiddenField(validators=[_uuid("Choose a destination collection.")])
    destination_path = HiddenField(validators=[_path])
    items = SelectMultipleField("Files and folders to transfer", validate_choice=False)
    label = StringField("Label", validators=[Optional()])
    sync_level = SelectField("Sync level", choices=SYNC_CHOICES, validate_choice=False)
    verify_checksum = BooleanField("Verify checksums after transfer", default=True)
    preserve_timestamp = BooleanField("Preserve modification times")
    encrypt_data = BooleanField("Encrypt data in transit")
    delete_destination_extra = BooleanField(
        "Delete files at the destination that are not at the source"
    )
    skip_source_errors = BooleanField("Skip files that cannot be read at the source")
    fail_on_quota_errors = BooleanField("Fail the task when the destination is over quota")
    deadline = DateTimeLocalField(
        "Deadline (UTC)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
    )
    notify = BooleanField("Email me when the task succeeds, fails or needs attention", default=True)
    submit = SubmitField("Start transfer")

    def validate_items(self, field):
        if not field.data:
            raise ValidationError("Choose at least one file or folder in the source pane.")
        for name in field.data:
            error = inputs.problem(inputs.clean_name, name.removesuffix("/"))
            if error:
                raise ValidationError(error)

    def validate_label(self, field):
        error = inputs.problem(inputs.clean_label, field.data)
        if error:
            raise ValidationError(error)

    def validate_sync_level(self, field):
        if field.data and field.data not in v.SYNC_LEVELS:
            raise ValidationError("Choose one of the sync levels listed.")

    def validate_deadline(self, field):
        error = inputs.problem(inputs.clean_deadline, field.data)
        if error:
            raise ValidationError(error)

    def options(self) -> TransferOptions:
        """The validated options, as the service takes them."""
        return TransferOptions(
            label=(self.label.data or "").strip() or None,
            sync_level=self.sync_level.data or None,
            verify_checksum=self.verify_checksum.data,
            preserve_timestamp=self.preserve_timestamp.data,
            encrypt_data=self.encrypt_data.data,
            delete_destination_extra=self.delete_destination_extra.data,
            skip_source_errors=self.skip_source_errors.data,
            fail_on_quota_errors=self.fail_on_quota_errors.data,
            deadline=self.deadline.data,
            notify=self.notify.data,
        )


class ResumeForm(FlaskForm):
    """The confirm button that sends a pending submission again (POST, CSRF); after a
    consent round trip the user comes back to `return_to` (this page)."""

    return_to = HiddenField()
    submit = SubmitField("Submit now")
