"""The HTTP layer of `manage.py serve`: daphne, with answers under `/rest/` in Magento's shape.

Daphne (on Twisted) answers some requests itself, before Django sees them:

- Twisted parses `multipart/form-data` and form-encoded POST bodies for nobody
  (daphne passes the raw body on) and drops the connection with a bare `400` when a
  multipart body does not parse. `RestRequest` turns that parsing off: the body
  reaches the API, which reads every body as JSON (`Decoding error: %1`).
- A request line or header line over `MAX_LINE` bytes, or a request line and headers
  together over `MAX_HEADERS_SIZE` bytes (both Twisted's 16 KiB), made Twisted close
  the connection without an answer (or with a bare `400`). `RestHTTPChannel` answers
  `414` (request line) or `431` (headers), then closes; under `/rest/` the body is
  Magento's error shape, elsewhere plain text. Data the client is still sending is
  read and dropped for up to `LINGER_SECONDS` after the answer, so that the close
  does not reset the connection before the client has read it.
- Daphne's own error pages (invalid header name or value, non-ASCII path, the
  application failing or timing out) are HTML; under `/rest/` they are Magento's
  shape too.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any, cast

import daphne.server
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from twisted.internet.endpoints import AdoptedStreamServerEndpoint
from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web import http

from webapi.errors import error_json

MAX_LINE = 16 * 1024
MAX_HEADERS_SIZE = 16 * 1024
LINGER_SECONDS = 5.0
URI_TOO_LONG = "The request line is longer than the limit of %1 bytes."
HEADERS_TOO_LARGE = "The request headers are larger than the limit of %1 bytes."
MALFORMED = "The request is malformed."

_REQUEST_LINE = re.compile(rb"[A-Za-z]+ +(\S*)")
_REASONS = {400: b"Bad Request", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


def _is_rest(target: bytes) -> bool:
    path = target.split(b"?", 1)[0]
    return path == b"/rest" or path.startswith(b"/rest/")


class RestRequest(WebRequest):
    """Daphne's request, without Twisted's form parsing, with `/rest/` errors as JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)

    def basic_error(self, status: int, status_text: bytes, body: str) -> None:
        if not _is_rest(self.uri or b""):
            super().basic_error(status, status_text, body)
            return
        self.handle_reply(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"Content-Type", b"application/json")],
            }
        )
        self.handle_reply({"type": "http.response.body", "body": error_json(body)})


class RestHTTPChannel(http.HTTPChannel):
    """Twisted's HTTP channel, answering oversized request lines and headers (see module)."""

    MAX_LENGTH = MAX_LINE
    totalHeadersSize = MAX_HEADERS_SIZE
    _refused = False
    _linger: Any = None
    _request_line = b""

    def lineReceived(self, line: bytes) -> None:
        if self._refused:
            return
        if not self._receivedHeaderSize:
            self._request_line = line[:64]  # enough to tell `/rest/` (Twisted may refuse it)
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._refuse(431, HEADERS_TOO_LARGE, self.totalHeadersSize, self._target())
            return
        super().lineReceived(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        match = _REQUEST_LINE.match(line)
        if match is not None and not self._receivedHeaderSize:
            self._refuse(414, URI_TOO_LONG, self.MAX_LENGTH, match.group(1))
        else:
            self._refuse(431, HEADERS_TOO_LARGE, self.totalHeadersSize, self._target())

    def _respondToBadRequestAndDisconnect(self) -> None:
        # Twisted's bare 400 (malformed request line or header, too many headers, ...).
        target = self._target()
        if _is_rest(target):
            self._refuse(400, MALFORMED, None, target)
        else:
            super()._respondToBadRequestAndDisconnect()

    def _target(self) -> bytes:
        """The request target, as far as it is known (b"" before the request line)."""
        match = _REQUEST_LINE.match(self._request_line)
        return match.group(1) if match else b""

    def _refuse(self, status: int, message: str, limit: int | None, target: bytes) -> None:
        """Answer `status` and close, reading and dropping what the client still sends."""
        if self._refused:
            return
        self._refused = True
        parameters = [] if limit is None else [limit]
        if _is_rest(target):
            body, ctype = error_json(message, parameters), b"application/json"
        else:
            body = message.replace("%1", str(limit)).encode()
            ctype = b"text/plain; charset=utf-8"
        head = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])
        head += b"Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, len(body))
        head += b"Connection: close\r\n\r\n"
        self.setTimeout(None)
        self.setRawMode()  # what the client still sends goes to rawDataReceived: dropped
        transport: Any = self.transport
        transport.write(head + body)
        transport.loseWriteConnection()
        from twisted.internet import reactor  # daphne.server installs the asyncio reactor

        self._linger = cast(Any, reactor).callLater(LINGER_SECONDS, transport.abortConnection)

    def connectionMade(self) -> None:
        super().connectionMade()
        cast(Any, self.factory).transports.add(self.transport)

    def rawDataReceived(self, data: bytes) -> None:
        if not self._refused:
            super().rawDataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        super().connectionLost(reason)


class RestHTTPFactory(HTTPFactory):
    """Daphne's HTTP factory, building `RestHTTPChannel`s with `RestRequest`s."""

    protocol = RestHTTPChannel  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every connection accepted, HTTP or upgraded to a websocket, while it is open.
        self.transports: set[Any] = set()

    def open_connections(self) -> int:
        """The connections of this process still open (`serve --workers` balances them)."""
        self.transports = {t for t in self.transports if t.connected}
        return len(self.transports)

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = RestRequest
        return protocol


class RestServer(Server):
    """Daphne's server with `RestHTTPFactory`.

    Daphne builds its factory in `run` (`self.http_factory = HTTPFactory(self)`) and
    offers no option for it: the attribute takes a `RestHTTPFactory` instead.

    `adopt=(fileno, family)` serves a listening socket made by another process
    (`serve --workers`, `config.workers`) instead of `endpoints`. Daphne reads
    endpoints as Twisted description strings only, and Twisted's `fd:` parser passes
    `domain=` on as text, which `adoptStreamPort` refuses: while `run` parses the
    endpoints, the adopted socket's endpoint is built directly. `on_listening(port)`
    is called with each listening port (`config.workers.balance_accepts`).
    """

    def __init__(
        self,
        *args: Any,
        adopt: tuple[int, socket.AddressFamily] | None = None,
        on_listening: Callable[[Any], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self.adopt = adopt
        self.on_listening = on_listening
        if adopt is not None:
            kwargs["endpoints"] = [f"fd:fileno={adopt[0]}"]
        super().__init__(*args, **kwargs)

    def run(self) -> None:
        if self.adopt is None:
            super().run()
            return
        fileno, family = self.adopt
        parse = daphne.server.serverFromString

        def adopted(reactor: Any, description: str) -> Any:
            if description == f"fd:fileno={fileno}":
                return AdoptedStreamServerEndpoint(reactor, fileno, family)
            return parse(reactor, description)

        daphne.server.serverFromString = adopted  # type: ignore[assignment]
        try:
            super().run()
        finally:
            daphne.server.serverFromString = parse

    def listen_success(self, port: Any) -> None:
        super().listen_success(port)
        if self.on_listening is not None:
            self.on_listening(port)

    @property
    def http_factory(self) -> RestHTTPFactory:
        return self._rest_http_factory

    @http_factory.setter
    def http_factory(self, factory: HTTPFactory) -> None:
        self._rest_http_factory = RestHTTPFactory(self)
