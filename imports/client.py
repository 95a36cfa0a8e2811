"""Client mode: send a file's chunks to a remote instance's async bulk API.

The rows are read and mapped here, exactly as a local import does (`imports.entities`),
but names that need the remote catalog (category paths, attribute set codes, emails)
cannot be looked up locally: in client mode they must be given as ids, and a row
needing a lookup is reported. Each chunk is one `POST /rest/<store>/async/bulk/V1/...`
with the bearer token and an Idempotency-Key derived from the file's hash and the
chunk's index, so running the same command again after a crash sends nothing twice:
the remote instance answers the chunks it already accepted with their first answer.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from imports import entities, readers
from imports.exceptions import ImportFileError, RowError
from webapi.routes import routes

RETRIES = 4


class ClientError(Exception):
    """The remote instance refused a chunk (its answer is in the message)."""


class _NoLookups:
    """A resolver for client mode: every lookup is refused with a readable reason."""

    create = False

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def refuse(value: Any, column: str = "", *args: Any) -> Any:
            raise RowError(
                f'"{value}" needs a lookup on the remote catalog: in client mode give ids '
                "(attribute_set_id, category_ids, …) instead of names.",
                column,
            )

        return refuse

    def check_store(self, code: str, column: str = "store_view_code") -> str:
        return code


@dataclass
class ClientSummary:
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    bulks: list[str] = field(default_factory=list)
    replayed: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)


def send_file(
    path: Path | str,
    *,
    url: str,
    token: str,
    entity: str,
    behaviour: str = entities.APPEND,
    fmt: str = "",
    encoding: str = "",
    chunk_size: int = 1000,
    mapping: Mapping[str, str] | None = None,
    on_chunk: Callable[[ClientSummary], None] | None = None,
) -> ClientSummary:
    """Send the file to `url` in chunks; return what the remote instance answered."""
    kind = entities.get(entity)
    fmt = fmt or readers.detect_format(path)
    encoding = encoding or readers.detect_encoding(path)
    readers.check_file(path, fmt, encoding)
    columns = readers.header(path, fmt, encoding)
    mapping = dict(mapping) if mapping is not None else kind.default_mapping(columns)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    options = json.dumps([entity, behaviour, chunk_size, mapping], sort_keys=True)
    prefix = f"cli:{digest.hexdigest()[:32]}:{hashlib.sha256(options.encode()).hexdigest()[:12]}"
    remote = _Remote(url, token)
    summary = ClientSummary()
    resolver: Any = _NoLookups()
    chunk: list[tuple[int, Any]] = []
    index = 0

    def flush() -> None:
        nonlocal chunk, index
        groups: dict[tuple[tuple[str, str], str], list[tuple[int, dict[str, Any]]]] = {}
        for number, built in chunk:
            if isinstance(built, RowError):
                summary.errors.append((number, built.column, built.message))
                summary.rejected += 1
                continue
            key, store, item = built
            groups.setdefault((key, store), []).append((number, item))
        for (key, store), items in sorted(groups.items()):
            route = routes.resolve(*key)[0]
            tag = hashlib.sha256(f"{store}|{key}".encode()).hexdigest()[:8]
            answer, replayed = remote.post(
                f"/rest/{store}/async/bulk{route.bulk_path}",
                [item for _n, item in items],
                f"{prefix}:{index}:{tag}",
                method=route.method,
            )
            summary.bulks.append(answer["bulk_uuid"])
            summary.replayed += int(replayed)
            for request_item in answer.get("request_items", []):
                number = items[int(request_item["id"])][0]
                if request_item.get("status") == "rejected":
                    summary.rejected += 1
                    summary.errors.append((number, "", request_item.get("error_message", "")))
                else:
                    summary.accepted += 1
        index += 1
        chunk = []
        if on_chunk is not None:
            on_chunk(summary)

    for number, row, _position in readers.rows(path, fmt, encoding):
        summary.rows = number
        if isinstance(row, RowError) or not isinstance(row, dict):
            error = row if isinstance(row, RowError) else RowError(readers.NOT_AN_OBJECT)
            chunk.append((number, error))
        else:
            try:
                built: Any = kind.build(entities.apply_mapping(row, mapping), behaviour, resolver)
            except RowError as exc:
                built = RowError(exc.message, entities.column_of(mapping, exc.column))
            chunk.append((number, built))
        if len(chunk) >= chunk_size:
            flush()
    if chunk:
        flush()
    return summary


class _Remote:
    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImportFileError(f"{url!r} is not an http(s) URL.")
        self.parts = parts
        self.token = token
        self.base = parts.path.rstrip("/")

    def _connection(self) -> http.client.HTTPConnection:
        cls = (
            http.client.HTTPSConnection
            if self.parts.scheme == "https"
            else http.client.HTTPConnection
        )
        return cls(self.parts.hostname or "", self.parts.port, timeout=120)

    def post(
        self, path: str, items: list[Any], key: str, *, method: str
    ) -> tuple[dict[str, Any], bool]:
        body = json.dumps(items).encode()
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": key,
        }
        delay = 0.5
        for attempt in range(RETRIES):
            conn = self._connection()
            try:
                conn.request(method, self.base + path, body=body, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except OSError as exc:
                if attempt == RETRIES - 1:
                    raise ClientError(f"{self.parts.netloc} did not answer: {exc}.") from exc
                time.sleep(delay)
                delay *= 2
                continue
            finally:
                conn.close()
            if response.status >= 500 and attempt < RETRIES - 1:
                time.sleep(delay)
                delay *= 2
                continue
            try:
                answer = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                answer = {"message": raw[:200].decode("utf-8", "replace")}
            if response.status != 202:
                raise ClientError(f"{response.status}: {answer.get('message', answer)}")
            return answer, response.getheader("Idempotent-Replayed") == "true"
        raise ClientError("unreachable")  # pragma: no cover
