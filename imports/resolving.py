"""Names in a file turned into the ids the API takes: category paths, attribute set
codes, website and store codes, a customer's email, a block's identifier.

A `Resolver` caches what it looked up for the length of one import. Category paths
("Default Category/Gear/Bags") are created when missing, through the catalog's own
service, unless the resolver is for a dry run (it then only says they will be).
"""

from __future__ import annotations

from typing import Any

from catalog.models import ROOT_CATEGORY_ID, AttributeSet, Block, Category, Customer
from catalog.services import CategoryRepository
from imports.exceptions import RowError
from store.models import Store, Website
from webapi.routes import CallContext


class Resolver:
    def __init__(self, ctx: CallContext, *, create: bool) -> None:
        self.ctx = ctx
        self.create = create
        self._categories: dict[tuple[str, ...], int | None] = {}
        self._sets: dict[str, int] | None = None
        self._websites: dict[str, int] | None = None
        self._stores: set[str] | None = None

    # -- categories ------------------------------------------------------------
    def category_ids(self, value: str, column: str = "categories") -> list[int]:
        """Return the ids of Magento's `categories` cell: comma-separated paths of
        slash-separated names, each under the root catalog ("Default Category/Gear").
        In a dry run, paths that do not exist yet are checked and left out."""
        ids: list[int] = []
        for raw in _split_paths(value):
            names = tuple(part.strip() for part in raw.split("/") if part.strip())
            if not names:
                continue
            found = self.category_path(names, column)
            if found is not None and found not in ids:
                ids.append(found)
        return ids

    def category_path(self, names: tuple[str, ...], column: str = "categories") -> int | None:
        if names in self._categories:
            return self._categories[names]
        if len(names) == 1:
            parent_id: int | None = ROOT_CATEGORY_ID
        else:
            parent_id = self.category_path(names[:-1], column)
        name = names[-1]
        if len(name) > 255:
            raise RowError(f'The category name "{name[:40]}…" is longer than 255.', column)
        found: int | None = None
        if parent_id is not None:
            found = (
                Category.objects.filter(parent_id=parent_id, name=name)
                .order_by("id")
                .values_list("id", flat=True)
                .first()
            )
        if found is None and self.create:
            if parent_id == ROOT_CATEGORY_ID:
                # A new root would need a store group to show it: Magento's import refuses too.
                raise RowError(
                    f'The root category "{name}" does not exist: paths start with an existing '
                    'root, such as "Default Category".',
                    column,
                )
            created = CategoryRepository.save(
                self.ctx, {"name": name, "parent_id": parent_id, "is_active": True}
            )
            found = int(created["id"])
        self._categories[names] = found
        return found

    # -- codes ----------------------------------------------------------------
    def attribute_set_id(self, code: str, column: str = "attribute_set_code") -> int:
        if self._sets is None:
            self._sets = dict(AttributeSet.objects.values_list("attribute_set_name", "id"))
        if code not in self._sets:
            raise RowError(f'The attribute set "{code}" does not exist.', column)
        return self._sets[code]

    def website_ids(self, value: str, column: str = "product_websites") -> list[int]:
        if self._websites is None:
            self._websites = dict(Website.objects.values_list("code", "id"))
        ids = []
        for code in (c.strip() for c in value.split(",")):
            if not code:
                continue
            if code not in self._websites:
                raise RowError(f'The website "{code}" does not exist.', column)
            ids.append(self._websites[code])
        return ids

    def check_store(self, code: str, column: str = "store_view_code") -> str:
        if self._stores is None:
            self._stores = set(Store.objects.values_list("code", flat=True))
        if code not in self._stores:
            raise RowError(f'The store view "{code}" does not exist.', column)
        return code

    def customer_id(self, email: str, column: str = "email") -> int:
        found = Customer.objects.filter(email__iexact=email).values_list("id", flat=True).first()
        if found is None:
            raise RowError(f'No customer has the email "{email}".', column)
        return found

    def block_id(self, identifier: str, column: str = "identifier") -> int:
        found = Block.objects.filter(identifier=identifier).values_list("id", flat=True).first()
        if found is None:
            raise RowError(f'No CMS block has the identifier "{identifier}".', column)
        return found

    def existing_block_id(self, identifier: str) -> int | None:
        return Block.objects.filter(identifier=identifier).values_list("id", flat=True).first()


def _split_paths(value: str) -> list[str]:
    """Split Magento's `categories` cell on commas (a name holding a comma is quoted
    in the cell as Magento writes it: "Gear/\"Bags, Totes\"" is rare; commas split)."""
    return [part for part in value.split(",")]


def as_text(value: Any) -> str:
    return "" if value is None else str(value).strip()
