"""Template filters of the dead-letters page."""

from __future__ import annotations

import json
from typing import Any

from django import template

from dashboard.views.dead_letters import row_id

register = template.Library()


@register.filter
def dead_row_id(section_slug: str, key: str) -> str:
    """Return the HTML id of a dead letter's row in its queue's section."""
    return row_id(section_slug, key)


@register.filter
def dead_pretty(value: Any) -> str:
    """Return headers as indented JSON (escaped by the template like any text)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
