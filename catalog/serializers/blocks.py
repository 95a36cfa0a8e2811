"""CMS blocks: request body spec and answer shape."""

from __future__ import annotations

from typing import Any

from catalog.models import Block
from catalog.serializers.fields import AnyValue, Bool, Int, Obj, RequestSerializer, Str
from catalog.serializers.render import timestamp

BLOCK = Obj(
    "Block",
    {
        "id": Int(min_value=1),
        "identifier": Str(max_length=255, allow_blank=False),
        "title": Str(max_length=255),
        "content": Str(),
        "active": Bool(),
        "is_active": Bool(help_text="Synonym of active, as Magento's data model accepts it."),
        # Blocks are global here (shown in every store view, as Magento's store 0);
        # clients send the stores anyway (`0`, `[0]`, `[1, 2]`): accepted and ignored.
        "store_id": AnyValue(help_text="Accepted and ignored: blocks apply to all store views."),
        # Read-only; accepted and ignored.
        "creation_time": AnyValue(),
        "update_time": AnyValue(),
    },
    class_name="Magento\\Cms\\Api\\Data\\BlockInterface",
)
READ_ONLY = ("creation_time", "update_time")


class BlockRequest(RequestSerializer):
    """`{"block": {...}}` for POST /V1/cmsBlock and PUT /V1/cmsBlock/:blockId."""

    spec = Obj(
        "BlockBody", {"block": BLOCK.but(required=True), "blockId": Int(min_value=1)}, strict=False
    )


def render_block(block: Block) -> dict[str, Any]:
    return {
        "id": block.pk,
        "identifier": block.identifier,
        "title": block.title,
        "content": block.content,
        "creation_time": timestamp(block.creation_time),
        "update_time": timestamp(block.update_time),
        "active": block.active,
    }
