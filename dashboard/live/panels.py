"""Live panels: parts of a page redrawn on a timer rather than on a bulk's change.

A page kind (the overview, the queues, dead letters...) registers a `Panel`; the hub
calls its `render` at most once per `interval` per distinct set of abilities while a
visible page of that kind is open, however many are open, and sends each such page
the fragments that differ from what it was last sent::

    from dashboard.live import panels

    panels.register(panels.Panel(kind="dead-letters", render=render_fn, interval=1.0))

`render_fn(abilities)` runs in a worker thread (it may read the database) and returns
htmx out-of-band fragments, each a root element with an `id` and `hx-swap-oob="true"`.
A panel whose content depends on who looks (`per_user=True`) is called
`render_fn(abilities, user_id)`, once per user among those who may not see every
bulk, and once, with `user_id` None, for those who may: its cost grows with the
people looking, never with their pages. `requires` names the `Abilities` flag a user
needs to be sent the panel at all (`can_view_queues` for the operators' pages): a
page of another user that says it is of that kind gets nothing.
A page says its kind with `{% block page %}dead-letters{% endblock %}` in its template.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.live.render import Abilities

BUILT_IN = ("bulks", "bulk")  # kinds the hub keeps live from bulk changes, not panels


@dataclass(frozen=True)
class Panel:
    """A page kind whose fragments are redrawn every `interval` seconds."""

    kind: str
    render: Callable[..., list[str]]
    interval: float = 1.0
    per_user: bool = False
    requires: str = ""  # an Abilities flag a page's user needs to be sent it

    def allowed(self, abilities: Abilities) -> bool:
        """Return True if a user with `abilities` may be sent this panel."""
        return not self.requires or bool(getattr(abilities, self.requires))

    def audience(self, abilities: Abilities, user_id: int) -> int | None:
        """Return whose drawing a page of `user_id` gets: None when one is shared."""
        return user_id if self.per_user and not abilities.can_view_all else None

    def draw(self, abilities: Abilities, user_id: int | None) -> list[str]:
        return self.render(abilities, user_id) if self.per_user else self.render(abilities)

    def __post_init__(self) -> None:
        if not self.kind or self.kind in BUILT_IN or self.kind == "other":
            raise ValueError(f"a panel cannot take the page kind {self.kind!r}")
        if self.interval <= 0:
            raise ValueError("a panel's interval must be positive")


_lock = threading.Lock()
_panels: dict[str, Panel] = {}


def register(panel: Panel) -> Panel:
    """Register (or replace) the panel of a page kind; return it."""
    with _lock:
        _panels[panel.kind] = panel
    return panel


def unregister(kind: str) -> None:
    """Forget the panel of a page kind (tests)."""
    with _lock:
        _panels.pop(kind, None)


def get(kind: str) -> Panel | None:
    """Return the panel registered for a page kind, if any."""
    return _panels.get(kind)


def kinds() -> set[str]:
    """Return the page kinds that have a panel."""
    return set(_panels)
