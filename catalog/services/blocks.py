"""CMS blocks: Magento's `BlockRepositoryInterface`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from catalog.models import Block
from catalog.serializers.blocks import BLOCK, render_block
from catalog.services.base import as_id, clean, insert_unless_taken, required, search, writes
from webapi.exceptions import CouldNotSaveException, NoSuchEntityException

if TYPE_CHECKING:
    from webapi.routes import CallContext

BLOCK_NOT_FOUND = 'The CMS block with the "%1" ID doesn\'t exist.'
DUPLICATE_IDENTIFIER = (
    "A block identifier with the same properties already exists in the selected store."
)

SEARCH_FIELDS = {
    "id": "id",
    "block_id": "id",
    "identifier": "identifier",
    "title": "title",
    "content": "content",
    "active": "active",
    "is_active": "active",
    "creation_time": "creation_time",
    "update_time": "update_time",
}


def _get(block_id: Any, *, lock: bool = False) -> Block:
    try:
        pk = as_id(block_id, "id")
    except NoSuchEntityException:
        raise NoSuchEntityException(BLOCK_NOT_FOUND, [block_id]) from None
    queryset = Block.objects.select_for_update() if lock else Block.objects
    block = queryset.filter(pk=pk).first()
    if block is None:
        raise NoSuchEntityException(BLOCK_NOT_FOUND, [block_id])
    return block


def _conflict() -> Exception:
    return CouldNotSaveException(DUPLICATE_IDENTIFIER)


class BlockRepository:
    """Create, read, update, search and delete CMS blocks (`catalog.services.BlockRepository`)."""

    @classmethod
    @writes
    def save(cls, ctx: CallContext, block_data: Any, block_id: Any = None) -> dict[str, Any]:
        """Create a block, or update the one with `block_id` (the URL's, else the body's `id`)."""
        data = clean(BLOCK, block_data)
        active = data.get("active", data.get("is_active"))
        if block_id is None:
            block_id = data.get("id")
        if block_id is None:
            block = Block(
                identifier=required(data.get("identifier"), "identifier"),
                title=required(data.get("title"), "title"),
                content=data.get("content", ""),
                active=True if active is None else active,
            )
            if not insert_unless_taken(block):
                raise _conflict()
            return render_block(block)
        block = _get(block_id, lock=True)
        for field in ("identifier", "title", "content"):
            if field in data:
                setattr(block, field, data[field])
        required(block.title, "title")
        if active is not None:
            block.active = active
        changed_identifier = "identifier" in data
        if (
            changed_identifier
            and Block.objects.filter(identifier=block.identifier).exclude(pk=block.pk).exists()
        ):
            raise _conflict()
        try:
            with transaction.atomic():
                block.save()
        except IntegrityError:
            raise _conflict() from None
        return render_block(block)

    @classmethod
    def get_by_id(cls, ctx: CallContext, block_id: Any) -> dict[str, Any]:
        return render_block(_get(block_id))

    @classmethod
    @writes
    def delete_by_id(cls, ctx: CallContext, block_id: Any) -> bool:
        _get(block_id, lock=True).delete()
        return True

    @classmethod
    def get_list(cls, ctx: CallContext, query_params: Any) -> dict[str, Any]:
        return search(
            Block.objects.all(),
            query_params,
            SEARCH_FIELDS,
            lambda rows: [render_block(b) for b in rows],
        )
