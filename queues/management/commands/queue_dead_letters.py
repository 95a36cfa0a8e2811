"""`manage.py queue_dead_letters`: list, send back or discard dead letters without the dashboard."""

from __future__ import annotations

import getpass
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from queues import dead_letters
from queues.exceptions import QueueError


class Command(BaseCommand):
    help = (
        "Show the dead letters of every declared queue (or of QUEUE), or send them back to "
        "their queue (trials reset, same message id) or discard them. At most "
        "QUEUES['DEAD_LETTER_BATCH'] messages per run: run it again for the rest. "
        "Every change is recorded with who made it (--actor, default: the OS user)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("queue", nargs="?", help="A declared queue (default: all, to list).")
        parser.add_argument("--topic", help="Only dead letters of this topic.")
        parser.add_argument("--list", action="store_true", help="List the dead letters.")
        parser.add_argument(
            "--limit", type=int, default=50, help="List at most this many (default 50)."
        )
        parser.add_argument("--requeue", nargs="+", metavar="KEY", help="Send these back.")
        parser.add_argument(
            "--requeue-all", action="store_true", help="Send back all (of --topic)."
        )
        parser.add_argument("--discard", nargs="+", metavar="KEY", help="Discard these.")
        parser.add_argument("--discard-all", action="store_true", help="Discard all (of --topic).")
        parser.add_argument("--actor", help="Who acts, for the record (default: the OS user).")

    def handle(self, *args, **options) -> None:
        queue, topic = options["queue"], options["topic"] or None
        acting = [
            name for name in ("requeue", "requeue_all", "discard", "discard_all") if options[name]
        ]
        if len(acting) > 1:
            raise CommandError("choose one of --requeue, --requeue-all, --discard, --discard-all")
        try:
            if acting:
                if not queue:
                    raise CommandError("name the QUEUE whose dead letters to act on")
                self._act(acting[0], queue, topic, options)
            elif queue:
                self._list(queue, topic, options["limit"], verbose=True)
            else:
                self._overview(topic, options["limit"], options["list"])
        except QueueError as exc:
            raise CommandError(str(exc)) from exc

    def _overview(self, topic: str | None, limit: int, listing: bool) -> None:
        names = dead_letters.queues()
        if not names:
            self.stdout.write("No queue is declared.")
            return
        for name, found in dead_letters.counts().items():
            shown = "unreachable" if found is None else f"{found} dead letter(s)"
            self.stdout.write(f"{name}: {shown}")
            if listing and found:
                self._list(name, topic, limit, verbose=False)

    def _list(self, queue: str, topic: str | None, limit: int, *, verbose: bool) -> None:
        page = dead_letters.list_dead(queue, topic=topic, limit=limit)
        if verbose:
            total = dead_letters.count(queue, topic)
            self.stdout.write(
                f"{queue}: {total} dead letter(s)" + (f" of {topic}" if topic else "")
            )
        for letter in page.letters:
            when = letter.dead_at.isoformat(timespec="seconds") if letter.dead_at else "?"
            self.stdout.write(f"  {letter.key}  {letter.topic}  dead at {when}")
            self.stdout.write(f"    reason: {letter.reason}")
            if letter.headers:
                self.stdout.write(f"    headers: {json.dumps(letter.headers, default=str)}")
            body = letter.body if len(letter.body) <= 500 else letter.body[:500] + "…"
            self.stdout.write("    body: " + body.replace("\n", "\n          "))
        if page.more or not page.scanned_all:
            self.stdout.write(f"  … more than {len(page.letters)}: use --limit")

    def _act(self, action: str, queue: str, topic: str | None, options: dict) -> None:
        actor = options["actor"] or getpass.getuser()
        keys = options[action] if action in ("requeue", "discard") else None
        run = dead_letters.requeue if action.startswith("requeue") else dead_letters.discard
        result = run(queue, keys, topic=topic, actor=actor)
        verb = "sent back to" if action.startswith("requeue") else "discarded from"
        self.stdout.write(
            f"{result.done} dead letter(s) {verb} {queue}; {result.remaining} remain"
            + (" (run again for the rest)" if result.remaining and keys is None else "")
        )
        if keys is not None and result.done < len(keys):
            self.stderr.write(f"{len(keys) - result.done} key(s) matched no dead letter of {queue}")
