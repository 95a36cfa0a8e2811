"""RabbitMQ's topic-exchange matching, shared by the db transport and the checks.

A routing key and a binding pattern are words separated by dots. In a pattern, `*`
matches exactly one word and `#` matches zero or more words; every other word must
be equal. `async.#` matches `async` and `async.a.b`; `*.b` matches `a.b` but not `b`.
"""

from __future__ import annotations

from functools import lru_cache


def is_pattern(name: str) -> bool:
    """Return True if `name` contains a wildcard word (`*` or `#`)."""
    return any(word in ("*", "#") for word in name.split("."))


def matches(pattern: str, topic: str) -> bool:
    """Return True if the routing key `topic` matches the binding `pattern`."""
    return _matches(_words(pattern), _words(topic))


def _words(name: str) -> tuple[str, ...]:
    # As RabbitMQ: an empty routing key (or binding) has no words at all, so `*`
    # does not match it; "a..b" has an empty middle word.
    return tuple(name.split(".")) if name else ()


@lru_cache(maxsize=4096)
def _matches(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    # Dynamic programming over (pattern position, word position); `#` either
    # matches nothing or swallows one more word.
    reachable = {0}
    for token in pattern:
        following: set[int] = set()
        for w in reachable:
            if token == "#":
                following.update(range(w, len(words) + 1))
            elif w < len(words) and (token == "*" or token == words[w]):
                following.add(w + 1)
        if not following:
            return False
        reachable = following
    return len(words) in reachable


def specificity(pattern: str) -> tuple[int, int]:
    """Return a sort key: more literal words first, then fewer `#`."""
    words = pattern.split(".")
    return (sum(w not in ("*", "#") for w in words), -words.count("#"))
