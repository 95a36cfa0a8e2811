"""How long to wait between the attempts of something that may fail for a while.

One helper for every retry loop of the queue framework (a consumer reconnecting,
the publisher re-sending, a RabbitMQ connection re-opening, the runner and the
embedded server restarting a crashed consumer), and for any other app's:

    from queues.backoff import Backoff

    backoff = Backoff(delay=0.2, max_delay=5.0, attempts=3)   # waits 0.2 s, 0.4 s, then gives up
    attempt = 1
    while True:
        try:
            return work()
        except TransientError:
            if backoff.gives_up_after(attempt):
                raise
            time.sleep(backoff.pause_before(attempt + 1))
            attempt += 1

Attempts are counted from 1; the first attempt does not wait. A `Backoff` only says
how long; the caller does the waiting (e.g. on a `threading.Event`, so that a stop
request cuts the wait short) and decides what counts as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: wait `delay`, then `factor` times longer after each failure,
    never longer than `max_delay`; give up after `attempts` attempts (None: never).

    `Backoff(delay=0.5, max_delay=30)` waits 0.5, 1, 2, 4, 8, 16, 30, 30 … seconds;
    `Backoff(delay=5, max_delay=5)` always waits 5 s; `Backoff(delay=0.1,
    max_delay=2, attempts=4, factor=5)` waits 0.1, 0.5 and 2 s between four attempts.
    """

    delay: float
    max_delay: float
    attempts: int | None = None
    factor: float = 2.0

    def __post_init__(self) -> None:
        if self.delay < 0 or self.max_delay < self.delay:
            raise ValueError(
                f"a backoff needs 0 <= delay <= max_delay, got {self.delay} and {self.max_delay}"
            )
        if self.factor < 1:
            raise ValueError(f"a backoff's factor must be at least 1, got {self.factor}")
        if self.attempts is not None and self.attempts < 1:
            raise ValueError(f"a backoff allows at least one attempt, got {self.attempts}")

    def pause_before(self, attempt: int) -> float:
        """Return the seconds to wait before attempt number `attempt` (counted from 1):
        nothing before the first, `delay` before the second, `factor` times longer
        before each next one, at most `max_delay`."""
        if attempt <= 1:
            return 0.0
        try:
            pause = self.delay * self.factor ** (attempt - 2)
        except OverflowError:  # a loop that retries for ever gets there in the end
            return float(self.max_delay)
        return float(min(pause, self.max_delay))

    def gives_up_after(self, attempt: int) -> bool:
        """Return True if attempt number `attempt` is the last one allowed (never when
        `attempts` is None)."""
        return self.attempts is not None and attempt >= self.attempts

    def waits(self) -> list[float]:
        """Return the waits between consecutive attempts (`attempts` - 1 of them).

        Raise ValueError for a backoff that never gives up: its waits never end.
        """
        if self.attempts is None:
            raise ValueError("a backoff without a number of attempts waits for ever")
        return [self.pause_before(attempt) for attempt in range(2, self.attempts + 1)]
