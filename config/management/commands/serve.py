"""`manage.py serve`: one ASGI server (daphne) for HTTP, websockets and static files.

Daphne's HTTP layer is `config.serve.RestServer`: oversized request lines and headers
are answered (414/431), and its own errors under `/rest/` are in Magento's shape.

Unless `--no-consumers`, the consumers of db-transport queues run in threads of the
same process, so the embedded default needs this one command.
"""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandParser

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
            help="Do not run the db-transport consumers in this process.",
        )

    def handle(
        self, *args, host: str, port: int, backlog: int, no_consumers: bool, **options
    ) -> None:
        from daphne.endpoints import build_endpoint_description_strings

        from config.asgi import application
        from config.serve import RestServer
        from queues.embedded import start_embedded_consumers

        consumers = None if no_consumers else start_embedded_consumers()
        self.stdout.write(
            f"Serving on http://{host}:{port}/ (consumers: {'off' if no_consumers else 'embedded'})"
        )
        try:
            RestServer(
                application=application,
                endpoints=[
                    f"{endpoint}:backlog={backlog}"
                    for endpoint in build_endpoint_description_strings(host=host, port=port)
                ],
                server_name="asyncbulk",
            ).run()
        finally:
            if consumers is not None:
                consumers.stop()
