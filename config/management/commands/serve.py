"""`manage.py serve`: one ASGI server (daphne) for HTTP, websockets and static files.

Daphne's HTTP layer is `config.serve.RestServer`: oversized request lines and headers
are answered (414/431), and its own errors under `/rest/` are in Magento's shape.

Unless `--no-consumers`, the consumers of db-transport queues run in threads of the
same process, so the embedded default needs this one command.

`--workers N` (default `SERVE_WORKERS`, 1) with N > 1 runs N server processes on one
listening socket under a supervising parent (`config.workers`); only the first runs
the embedded consumers. Websockets then need the Redis channel layer (`REDIS_URL`):
a page's socket and the change it shows may be in different processes. `--fd` and
`--parent-pid` are how the parent starts its children, not for users.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Serve HTTP and websockets with daphne, with the embedded queue consumers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1)."
        )
        parser.add_argument("--port", type=int, default=8000, help="Port to bind (default 8000).")
        parser.add_argument(
            "--backlog",
            type=int,
            default=1024,
            help=(
                "Connections the kernel queues before the server accepts them (default 1024,"
                " capped by net.core.somaxconn); Twisted's own default of 50 resets the"
                " connections of a burst."
            ),
        )
        parser.add_argument(
            "--no-consumers",
            action="store_true",
            help="Do not run the db-transport consumers (with --workers: in any process).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=(
                "Server processes sharing the listening socket (default SERVE_WORKERS, 1)."
                " More than 1 needs REDIS_URL (websockets across processes); the first"
                " process runs the embedded consumers."
            ),
        )
        # How a --workers parent starts its children: the inherited socket, the parent.
        parser.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)
        parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
        parser.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
        parser.add_argument("--board", default=None, help=argparse.SUPPRESS)  # fileno:workers

    def handle(
        self,
        *args,
        host: str,
        port: int,
        backlog: int,
        no_consumers: bool,
        workers: int | None,
        fd: int | None,
        parent_pid: int | None,
        worker_index: int,
        board: str | None,
        **options,
    ) -> None:
        workers = settings.SERVE_WORKERS if workers is None else workers
        if workers < 1:
            raise CommandError(f"--workers must be at least 1, got {workers}")
        if fd is not None:
            child = (fd, parent_pid, worker_index, board)
            self._serve(host, port, backlog, no_consumers, child=child)
        elif workers == 1:
            self._serve(host, port, backlog, no_consumers)
        else:
            self._supervise(host, port, backlog, no_consumers, workers)

    def _serve(
        self,
        host: str,
        port: int,
        backlog: int,
        no_consumers: bool,
        child: tuple[int, int | None, int, str | None] | None = None,
    ) -> None:
        """One daphne process: on (host, port), or as a child of `_supervise`
        (`child`: the inherited socket, the parent's pid, its index, its board)."""
        from daphne.endpoints import build_endpoint_description_strings

        from config.asgi import application
        from config.serve import RestServer
        from config.workers import Board, balance_accepts, die_with_parent, family_of
        from queues.embedded import start_embedded_consumers

        consumers = None if no_consumers else start_embedded_consumers()
        where = f"http://{host}:{port}/"
        if child is None:
            server = RestServer(
                application=application,
                endpoints=[
                    f"{endpoint}:backlog={backlog}"
                    for endpoint in build_endpoint_description_strings(host=host, port=port)
                ],
                server_name="asyncbulk",
            )
            self.stdout.write(
                f"Serving on {where} (consumers: {'off' if no_consumers else 'embedded'})"
            )
        else:
            fd, parent_pid, index, board = child
            on_listening = None
            if board is not None:
                board_fd, workers = (int(part) for part in board.split(":"))
                shared = Board(board_fd, workers)

                def on_listening(listening: Any) -> None:
                    balance_accepts(listening, server.http_factory.open_connections, shared, index)

            server = RestServer(
                application=application,
                adopt=(fd, family_of(host)),
                on_listening=on_listening,
                server_name="asyncbulk",
            )
            if parent_pid is not None:
                die_with_parent(parent_pid, server.stop)
            self.stdout.write(
                f"Worker {os.getpid()} serving on {where}"
                f" (consumers: {'off' if no_consumers else 'embedded'})"
            )
        self.stdout.flush()
        try:
            server.run()
        finally:
            if consumers is not None:
                consumers.stop()

    def _supervise(
        self, host: str, port: int, backlog: int, no_consumers: bool, workers: int
    ) -> None:
        """N children on one socket, started again when they die (see config.workers)."""
        from channels.layers import InMemoryChannelLayer, get_channel_layer
        from django.db import connection

        from config.workers import Board, Supervisor, listening_socket

        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            raise CommandError(
                f"--workers {workers} needs the Redis channel layer: set REDIS_URL (e.g."
                " redis://127.0.0.1:6379/0). With the in-memory layer a dashboard page's"
                " websocket would not hear of changes made in another server process."
            )
        if connection.vendor == "sqlite":
            self.stderr.write(
                f"Warning: {workers} server processes on SQLite: they share the file"
                " (WAL), but every write waits for the others' (one writer at a time);"
                " use PostgreSQL (DATABASE_URL) for writes on several cores."
            )
        try:
            sock = listening_socket(host, port, backlog)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from exc
        port = sock.getsockname()[1]  # the port chosen, for --port 0
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        board = Board.create(workers)

        def command(index: int) -> list[str]:
            child = [sys.executable, manage, "serve", "--host", host, "--port", str(port)]
            child += ["--fd", str(sock.fileno()), "--parent-pid", str(os.getpid())]
            child += ["--worker-index", str(index), "--board", f"{board.fileno}:{workers}"]
            if no_consumers or index > 0:
                child.append("--no-consumers")
            return child

        consumers = "off" if no_consumers else "embedded in the first worker"
        self.stdout.write(
            f"Serving on http://{host}:{port}/ with {workers} workers (consumers: {consumers})"
        )
        self.stdout.flush()
        Supervisor(sock, workers, command, board).run()
