"""Reading an import file row by row, never whole: CSV with a header row, JSON lines,
or a JSON array (parsed incrementally with ijson).

Rows are numbered from 1: in a CSV the first row after the header, in JSON the first
object. A CSV field quoted over several lines is one field of one row (the csv module
reads the text stream with `newline=""`).
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from imports.exceptions import ImportFileError, RowError

FORMATS = ("csv", "jsonl", "json")
ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "cp1252": "Windows-1252 (Western, Excel)",
    "latin-1": "Latin-1 (ISO-8859-1)",
}
SNIFF_BYTES = 64 * 1024
CSV_DELIMITERS = ",;\t|"
NOT_AN_OBJECT = "The row is not a JSON object."
csv.field_size_limit(16 * 1024 * 1024)


def detect_encoding(path: Path | str) -> str:
    """Return the file's likely encoding: a BOM says UTF-8 with BOM, text that decodes as
    UTF-8 is UTF-8, anything else is taken as Windows-1252 (Latin-1's superset that
    spreadsheets write)."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the end is not an error
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def detect_format(path: Path | str, name: str = "") -> str:
    """Return csv, jsonl or json from the file's name, else from its first character."""
    lowered = (name or str(path)).lower()
    for suffix, kind in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl")):
        if lowered.endswith(suffix):
            return kind
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES).lstrip(codecs.BOM_UTF8).lstrip()
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        return "jsonl"
    if lowered.endswith(".json"):
        return "json"
    return "csv"


def check_file(path: Path | str, fmt: str, encoding: str) -> None:
    """Raise ImportFileError when the file is not what its format says (binary, empty)."""
    if fmt not in FORMATS:
        raise ImportFileError(f"Unknown file type {fmt!r}: use csv, jsonl or json.")
    if encoding not in ENCODINGS:
        raise ImportFileError(f"Unknown encoding {encoding!r}: use {', '.join(ENCODINGS)}.")
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise ImportFileError("The file is empty.")
    if b"\x00" in head:
        raise ImportFileError(
            "The file holds binary data (a spreadsheet workbook?): save it as CSV and try again."
        )
    if fmt == "json" and not head.lstrip(codecs.BOM_UTF8).lstrip().startswith(b"["):
        raise ImportFileError("A JSON file must hold one array of objects ([{...}, {...}]).")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in CSV_DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def header(path: Path | str, fmt: str, encoding: str) -> list[str]:
    """Return the columns of the file: a CSV's header, the keys of the first JSON rows."""
    columns: dict[str, None] = {}
    if fmt == "csv":
        with open(path, "rb") as handle:
            _skip_bom(handle)
            line = next(iter(Lines(handle, encoding)), "")
        first = next(csv.reader([line], delimiter=_delimiter(line)), [])
        return [c.strip() for c in first]
    for _number, row, _position in _take(rows(path, fmt, encoding), 50):
        if isinstance(row, dict):
            columns.update(dict.fromkeys(row))
    return list(columns)


def _take(iterator: Iterator[Any], n: int) -> Iterator[Any]:
    for i, value in enumerate(iterator):
        if i >= n:
            return
        yield value


class Lines:
    """The lines of a binary file, decoded, counting the bytes handed out so far (so that
    a reader can record where the next row starts and resume there after a crash).
    Splitting bytes on b"\\n" is safe in every encoding offered (all ASCII-compatible)."""

    def __init__(self, handle: IO[bytes], encoding: str) -> None:
        self.handle = handle
        self.encoding = "utf-8" if encoding == "utf-8-sig" else encoding
        self.offset = handle.tell()

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.offset += len(raw)
            yield raw.decode(self.encoding)


def rows(
    path: Path | str, fmt: str, encoding: str, start: tuple[int, int] = (0, 0)
) -> Iterator[tuple[int, Any, tuple[int, int]]]:
    """Yield (row number, row, position after it) for every row of the file, streaming.

    `start` is a position yielded earlier (byte offset, row number): reading resumes
    there (`(0, 0)`: from the start). A CSV row is a dict of its header's columns to
    their text (a missing trailing field is ""); a JSON row is what the file holds (a
    line that is not JSON is yielded as a RowError for the caller to report). Raise
    ImportFileError when the file stops being readable (bad encoding, broken JSON),
    naming the row.
    """
    if fmt == "csv":
        yield from _csv_rows(path, encoding, start)
    elif fmt == "jsonl":
        yield from _jsonl_rows(path, encoding, start)
    else:
        yield from _json_rows(path, start)


def _skip_bom(handle: IO[bytes]) -> None:
    if handle.read(3) != codecs.BOM_UTF8:
        handle.seek(0)


def _csv_rows(
    path: Path | str, encoding: str, start: tuple[int, int]
) -> Iterator[tuple[int, Any, tuple[int, int]]]:
    offset, number = start
    try:
        with open(path, "rb") as handle:
            _skip_bom(handle)
            lines = Lines(handle, encoding)
            first = next(iter(lines), "")
            delimiter = _delimiter(first)
            columns = [c.strip() for c in next(csv.reader([first], delimiter=delimiter), [])]
            if not any(columns):
                raise ImportFileError("The CSV file has no header row.")
            if offset:
                handle.seek(offset)
                lines.offset = offset
            width = len(columns)
            for values in csv.reader(lines, delimiter=delimiter):
                number += 1
                position = (lines.offset, number)
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue  # a blank line
                if len(values) < width:
                    values = values + [""] * (width - len(values))
                yield number, dict(zip(columns, values, strict=False)), position
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"Row {number + 1} is not valid {ENCODINGS.get(encoding, encoding)} text "
            f"({exc.reason}): choose the file's encoding and try again."
        ) from exc
    except csv.Error as exc:
        raise ImportFileError(f"Row {number + 1} is not valid CSV: {exc}.") from exc


def _jsonl_rows(
    path: Path | str, encoding: str, start: tuple[int, int]
) -> Iterator[tuple[int, Any, tuple[int, int]]]:
    offset, number = start
    try:
        with open(path, "rb") as handle:
            _skip_bom(handle)
            if offset:
                handle.seek(offset)
            lines = Lines(handle, encoding)
            for line in lines:
                if not line.strip():
                    continue
                number += 1
                position = (lines.offset, number)
                try:
                    yield number, json.loads(line), position
                except json.JSONDecodeError as exc:
                    yield number, RowError(f"The line is not JSON: {exc.msg}."), position
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"Row {number + 1} is not valid UTF-8 text.") from exc


def _json_rows(
    path: Path | str, start: tuple[int, int]
) -> Iterator[tuple[int, Any, tuple[int, int]]]:
    skip = start[1]
    number = 0
    with open(path, "rb") as handle:
        _skip_bom(handle)
        try:
            for number, item in enumerate(ijson.items(handle, "item", use_float=True), 1):
                if number > skip:  # a JSON array resumes by reading past the rows done
                    yield number, item, (0, number)
        except ijson.JSONError as exc:
            raise ImportFileError(f"The JSON array breaks after row {number}: {exc}.") from exc
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"Row {number + 1} is not valid UTF-8 text.") from exc
