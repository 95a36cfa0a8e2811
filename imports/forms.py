"""The upload form of /dashboard/imports/."""

from __future__ import annotations

from typing import Any

from django import forms

from imports import entities, readers
from imports.conf import imports_settings

ALLOWED_SUFFIXES = (".csv", ".txt", ".json", ".jsonl", ".ndjson")


class UploadForm(forms.Form):
    file = forms.FileField(label="File (CSV, JSON lines or a JSON array)")
    entity = forms.ChoiceField(label="Import", choices=())
    behaviour = forms.ChoiceField(label="Behaviour", choices=list(entities.BEHAVIOURS.items()))
    encoding = forms.ChoiceField(
        label="Encoding",
        required=False,
        choices=[("", "Detect"), *readers.ENCODINGS.items()],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        entity = self.fields["entity"]
        assert isinstance(entity, forms.ChoiceField)
        entity.choices = [(e.name, e.label) for e in entities.REGISTRY.values()]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = imports_settings.MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file has {upload.size:,} bytes; the limit is {limit:,} bytes. "
                "Import it with manage.py import_file instead."
            )
        if not upload.name.lower().endswith(ALLOWED_SUFFIXES):
            raise forms.ValidationError(
                "Only .csv, .json, .jsonl (or .ndjson) and .txt files can be imported."
            )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = entities.REGISTRY.get(data.get("entity", ""))
        if kind is not None and data.get("behaviour") not in kind.routes:
            self.add_error("behaviour", f"{kind.label} cannot be imported with this behaviour.")
        return data
