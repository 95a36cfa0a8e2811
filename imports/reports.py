"""The failed rows of an import as a CSV ready to fix and upload again.

The file is read again (streaming) and every row that was not sent, was rejected,
or whose operation failed is written with its original columns and two more:
`import_error_column` and `import_error`. A CSV import gives back its own columns;
a JSON import gives one column per key of the failed rows (nested values as JSON).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from imports import entities, readers
from imports.models import Import, ImportChunk
from imports.models import RowError as RowErrorRow
from operations.models import Operation, OperationStatus

ERROR_COLUMNS = entities.ERROR_COLUMNS
FAILED = (OperationStatus.RETRIABLY_FAILED, OperationStatus.NOT_RETRIABLY_FAILED)


class _Echo:
    def write(self, value: str) -> str:
        return value


def failures(job: Import, *, dry_run: bool = False) -> dict[int, tuple[str, str]]:
    """Return {row number: (column, message)} of the import's failed rows."""
    found: dict[int, tuple[str, str]] = {}
    for number, column, message in RowErrorRow.objects.filter(job=job, dry_run=dry_run).values_list(
        "row_number", "column", "message"
    ):
        found.setdefault(number, (column, message))
    if dry_run:
        return found
    for chunk in ImportChunk.objects.filter(job=job, bulk__isnull=False).only(
        "bulk_id", "row_numbers"
    ):
        for index, message in Operation.objects.filter(
            bulk_id=chunk.bulk_id or 0, status__in=FAILED
        ).values_list("index", "result_message"):
            if index < len(chunk.row_numbers):
                found.setdefault(chunk.row_numbers[index], ("", message or "The operation failed."))
    return found


def failed_rows_csv(job: Import, *, dry_run: bool = False) -> Iterator[str]:
    """Yield the lines of the failed-rows CSV (for a StreamingHttpResponse or a file)."""
    wanted = failures(job, dry_run=dry_run)
    writer = csv.writer(_Echo())
    columns = readers.header(job.file_path, job.format, job.encoding)
    if job.format != "csv":
        keys: dict[str, None] = {}
        for _number, row, _position in readers.rows(job.file_path, job.format, job.encoding):
            if _number in wanted and isinstance(row, dict):
                keys.update(dict.fromkeys(row))
        columns = list(keys)
    yield writer.writerow([*columns, *ERROR_COLUMNS])
    if not wanted:
        return
    last = max(wanted)
    for number, row, _position in readers.rows(job.file_path, job.format, job.encoding):
        if number in wanted:
            column, message = wanted[number]
            values = row if isinstance(row, dict) else {}
            yield writer.writerow([_cell(values.get(c, "")) for c in columns] + [column, message])
        if number >= last:
            break
    # Rows the reader could not yield (a line that is not JSON) have no values to give back.


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)
