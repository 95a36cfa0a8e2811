"""The dashboard's forms: the filters of the bulk log and of a bulk's operations, and the edit form.

Filters are plain GET forms: a value that makes no sense (a status of 9, a date of
"soon", a uuid with letters past f) is a field error shown next to the field, and
the list is shown unfiltered by it, never a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms

from operations.models import BulkStatus, OperationStatus

_CURSOR = re.compile(r"^(?P<created>\d+(?:\.\d+)?)_(?P<id>\d+)$")
_UUID_PART = re.compile(r"^[0-9a-f-]{1,36}$")


class BulkFilterForm(forms.Form):
    """What the bulk log is filtered by."""

    status = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any status"), *((s.value, s.label) for s in BulkStatus)],
    )
    q = forms.CharField(
        required=False,
        max_length=200,
        strip=True,
        label="Description or topic",
    )
    uuid = forms.CharField(required=False, max_length=36, strip=True, label="Bulk uuid")
    owner = forms.CharField(required=False, max_length=150, strip=True, label="Owner")
    since = forms.DateField(required=False, label="Started from")
    until = forms.DateField(required=False, label="Started until")

    def __init__(self, *args: Any, can_view_all: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not can_view_all:
            del self.fields["owner"]

    def clean_uuid(self) -> str:
        value = self.cleaned_data["uuid"].lower()
        if value and not _UUID_PART.match(value):
            raise forms.ValidationError(
                "A bulk uuid has only the digits 0–9, the letters a–f and -."
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the range is before its start.")
        return data

    def filters(self) -> dict[str, Any]:
        """Return the valid, non-empty filters (those with errors left out)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {
            name: value
            for name, value in getattr(self, "cleaned_data", {}).items()
            if value not in (None, "") and name not in self.errors
        }


def parse_cursor(value: str | None) -> tuple[float, int] | None:
    """Return (created as a timestamp, id) of a bulk log cursor `"<ts>_<id>"`, or None."""
    match = _CURSOR.match(value or "")
    if not match:
        return None
    return float(match["created"]), int(match["id"])


def format_cursor(created: Any, pk: int) -> str:
    return f"{created.timestamp():.6f}_{pk}"


class OperationFilterForm(forms.Form):
    """What a bulk's operations table is filtered by."""

    status = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "All"), *((s.value, s.label) for s in OperationStatus)],
    )
    failed = forms.BooleanField(required=False)  # statuses 2, 3 and 5 together
    code = forms.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)
    after = forms.IntegerField(required=False, min_value=-1, max_value=2**31 - 1)
    before = forms.IntegerField(required=False, min_value=0, max_value=2**31 - 1)

    def filters(self) -> dict[str, Any]:
        """Return the valid, non-empty filters (those with errors left out)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {
            name: value
            for name, value in getattr(self, "cleaned_data", {}).items()
            if value not in (None, "", False) and name not in self.errors
        }


class EditOperationForm(forms.Form):
    """The new payload of an operation: a bulk item as JSON (the synchronous body with its
    URL parameters), validated by the route's own serializer when submitted."""

    payload = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "code"}),
        max_length=1_000_000,
        label="Payload (JSON)",
    )

    def clean_payload(self) -> Any:
        text = self.cleaned_data["payload"]
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"This is not valid JSON: {exc}.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("The payload must be a JSON object ({…}).")
        return value
