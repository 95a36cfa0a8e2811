"""What each entity's rows become: the async bulk route an item goes to and its body.

An entity declares the fields a column can map to, how headers map by default
(Magento's export layout for products), and `build(fields, behaviour, resolver)`,
which turns one row's mapped values into `(route key, store code, item)`: the route
(`routes.resolve(method, path)`) and the bulk item (a synchronous body carrying its
URL parameters, `operations.items`). A row that cannot become an item raises
`RowError` naming its column.

Mapping values: a field name, `attribute:<code>` (a custom attribute), or "" (the
column is not imported).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from imports.exceptions import RowError
from imports.resolving import Resolver, as_text

ATTRIBUTE = "attribute:"
# The two columns a failed-rows CSV adds (imports.reports): never imported back.
ERROR_COLUMNS = ("import_error_column", "import_error")
APPEND, DELETE = "append", "delete"
BEHAVIOURS = {APPEND: "Add/Update", DELETE: "Delete"}
Fields = Mapping[str, Any]  # mapped field -> value, with "attribute:<code>" keys too
Built = tuple[tuple[str, str], str, dict[str, Any]]


@dataclass(frozen=True)
class Entity:
    name: str
    label: str
    fields: tuple[str, ...]
    build: Callable[[Fields, str, Resolver], Built]
    routes: dict[str, tuple[str, str]]  # behaviour -> (method, path) shown to people
    aliases: dict[str, str] = field(default_factory=dict)  # header -> field
    ignored: frozenset[str] = frozenset()  # headers left out by default
    custom_attributes: bool = False  # unknown headers become custom attributes

    def default_mapping(self, columns: list[str]) -> dict[str, str]:
        mapping = {}
        for column in columns:
            key = column.strip()
            low = key.lower()
            if low in self.fields:
                mapping[column] = low
            elif low in self.aliases:
                mapping[column] = self.aliases[low]
            elif low in self.ignored or low in ERROR_COLUMNS or not key:
                mapping[column] = ""
            elif self.custom_attributes:
                mapping[column] = ATTRIBUTE + key
            else:
                mapping[column] = ""
        return mapping

    def targets(self) -> list[str]:
        return list(self.fields)


REGISTRY: dict[str, Entity] = {}


def register(entity: Entity) -> Entity:
    if entity.name in REGISTRY:
        raise ValueError(f"Import entity {entity.name!r} is declared twice.")
    REGISTRY[entity.name] = entity
    return entity


def get(name: str) -> Entity:
    try:
        return REGISTRY[name]
    except KeyError:
        raise RowError(f"Unknown entity {name!r}: use {', '.join(REGISTRY)}.") from None


def apply_mapping(row: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """Return {field: value} for the row; empty CSV cells are left out (they change
    nothing, as in Magento's import), JSON values are kept as they are."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        target = mapping.get(column, "")
        if not target or value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        out[target] = value
    return out


def column_of(mapping: Mapping[str, str], target: str) -> str:
    for column, mapped in mapping.items():
        if mapped == target:
            return column
    return target


# -- values -------------------------------------------------------------------------
_TRUE = {"1", "true", "yes", "y", "enabled", "on"}
_FALSE = {"0", "false", "no", "n", "disabled", "off"}


def boolean(value: Any, column: str) -> bool:
    if isinstance(value, bool):
        return value
    text = as_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowError(f'"{value}" is not yes/no (use 1 or 0).', column)


def _custom(fields: Fields, skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    return [
        {"attribute_code": key[len(ATTRIBUTE) :], "value": value}
        for key, value in fields.items()
        if key.startswith(ATTRIBUTE) and key[len(ATTRIBUTE) :] not in skip
    ]


def _required(fields: Fields, name: str) -> Any:
    value = fields.get(name)
    if value is None or as_text(value) == "":
        raise RowError(f'"{name}" is required. Enter and try again.', name)
    return value


def _plain(fields: Fields, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: fields[name] for name in names if name in fields}


# -- products (Magento's catalog_product import layout) ------------------------------
VISIBILITY = {
    "not visible individually": 1,
    "catalog": 2,
    "search": 3,
    "catalog, search": 4,
    "catalog,search": 4,
}
PRODUCT_FIELDS = (
    "sku",
    "name",
    "price",
    "type_id",
    "attribute_set_id",
    "attribute_set_code",
    "status",
    "visibility",
    "weight",
    "qty",
    "is_in_stock",
    "categories",
    "category_ids",
    "product_websites",
    "url_key",
    "store_view_code",
    "additional_attributes",
)
# Magento export columns this service does not model (media, links to other products,
# configurable and bundle data, computed dates): left out of the default mapping.
PRODUCT_IGNORED = frozenset(
    [
        "created_at",
        "updated_at",
        "base_image",
        "base_image_label",
        "small_image",
        "small_image_label",
        "thumbnail_image",
        "thumbnail_image_label",
        "swatch_image",
        "swatch_image_label",
        "additional_images",
        "additional_image_labels",
        "hide_from_product_page",
        "related_skus",
        "related_position",
        "crosssell_skus",
        "crosssell_position",
        "upsell_skus",
        "upsell_position",
        "configurable_variations",
        "configurable_variation_labels",
        "associated_skus",
        "bundle_price_type",
        "bundle_sku_type",
        "bundle_price_view",
        "bundle_weight_type",
        "bundle_values",
        "bundle_shipment_type",
        "custom_options",
        "map_price",
        "msrp_price",
        "map_enabled",
        "gift_message_available",
        "display_product_options_in",
        "new_from_date",
        "new_to_date",
        "special_price_from_date",
        "special_price_to_date",
        "custom_design_from",
        "custom_design_to",
        "out_of_stock_qty",
        "use_config_min_qty",
        "allow_backorders",
        "use_config_backorders",
        "min_cart_qty",
        "use_config_min_sale_qty",
        "max_cart_qty",
        "use_config_max_sale_qty",
        "notify_on_stock_below",
        "use_config_notify_stock_qty",
        "manage_stock",
        "use_config_manage_stock",
        "use_config_qty_increments",
        "qty_increments",
        "use_config_enable_qty_inc",
        "enable_qty_increments",
        "is_decimal_divided",
        "website_id",
        "deferred_stock_update",
        "use_config_deferred_stock_update",
        "product_has_weight",
        "is_qty_decimal",
        "allow_open_amount",
    ]
)
PRODUCT_ALIASES = {
    "product_type": "type_id",
    "product_online": "status",
    "_attribute_set": "attribute_set_code",
    "_type": "type_id",
    "_store": "store_view_code",
    "_product_websites": "product_websites",
    "_category": "categories",
}


def _status(value: Any, column: str) -> int:
    text = as_text(value).lower()
    if text in ("1", "enabled", "yes", "true"):
        return 1
    if text in ("0", "2", "disabled", "no", "false"):
        return 2
    raise RowError(f'"{value}" is not a status (1 enabled, 2 or 0 disabled).', column)


def _visibility(value: Any, column: str) -> Any:
    text = as_text(value)
    return VISIBILITY.get(" ".join(text.lower().split()), text)


def _additional(value: Any, column: str) -> list[dict[str, Any]]:
    """Magento's `additional_attributes`: "code=value,code2=value2" (a JSON object too)."""
    if isinstance(value, Mapping):
        return [{"attribute_code": str(k), "value": v} for k, v in value.items()]
    out: list[dict[str, Any]] = []
    for pair in as_text(value).split(","):
        if not pair.strip():
            continue
        code, sep, val = pair.partition("=")
        if not sep or not code.strip():
            if out:  # a multiselect's next value ("activity=Gym,Hiking"); Magento writes "|"
                out[-1]["value"] += "," + pair
                continue
            raise RowError(f'"{pair.strip()}" is not code=value.', column)
        out.append({"attribute_code": code.strip(), "value": val})
    return out


def build_product(fields: Fields, behaviour: str, resolver: Resolver) -> Built:
    sku = as_text(_required(fields, "sku"))
    store = as_text(fields.get("store_view_code")) or "all"
    if store != "all":
        resolver.check_store(store)
    if behaviour == DELETE:
        return ("DELETE", "/V1/products/:sku"), "all", {"sku": sku}
    product: dict[str, Any] = {"sku": sku}
    product.update(_plain(fields, ("name", "price", "type_id", "weight", "attribute_set_id")))
    if "attribute_set_code" in fields:
        product["attribute_set_id"] = resolver.attribute_set_id(
            as_text(fields["attribute_set_code"])
        )
    if "status" in fields:
        product["status"] = _status(fields["status"], "status")
    if "visibility" in fields:
        product["visibility"] = _visibility(fields["visibility"], "visibility")
    extension: dict[str, Any] = {}
    if "product_websites" in fields:
        extension["website_ids"] = resolver.website_ids(as_text(fields["product_websites"]))
    category_ids: list[Any] = []
    if "categories" in fields:
        category_ids += resolver.category_ids(as_text(fields["categories"]))
    if "category_ids" in fields:
        raw = fields["category_ids"]
        category_ids += raw if isinstance(raw, list) else as_text(raw).split(",")
    if category_ids:
        extension["category_links"] = [
            {"category_id": c, "position": 0} for c in category_ids if as_text(c)
        ]
    stock: dict[str, Any] = {}
    if "qty" in fields:
        stock["qty"] = fields["qty"]
    if "is_in_stock" in fields:
        stock["is_in_stock"] = boolean(fields["is_in_stock"], "is_in_stock")
    if stock:
        extension["stock_item"] = stock
    if extension:
        product["extension_attributes"] = extension
    custom = _custom(fields)
    if "url_key" in fields:
        custom.append({"attribute_code": "url_key", "value": fields["url_key"]})
    if "additional_attributes" in fields:
        custom += _additional(fields["additional_attributes"], "additional_attributes")
    if custom:
        product["custom_attributes"] = custom
    return ("PUT", "/V1/products/:sku"), store, {"product": product}


register(
    Entity(
        name="products",
        label="Products",
        fields=PRODUCT_FIELDS,
        build=build_product,
        routes={APPEND: ("PUT", "/V1/products/:sku"), DELETE: ("DELETE", "/V1/products/:sku")},
        aliases=PRODUCT_ALIASES,
        ignored=PRODUCT_IGNORED,
        custom_attributes=True,
    )
)


# -- categories ---------------------------------------------------------------------
CATEGORY_FIELDS = (
    "id",
    "name",
    "parent_id",
    "parent_path",
    "is_active",
    "position",
    "include_in_menu",
    "store_view_code",
)


def build_category(fields: Fields, behaviour: str, resolver: Resolver) -> Built:
    store = as_text(fields.get("store_view_code")) or "all"
    if store != "all":
        resolver.check_store(store)
    if behaviour == DELETE:
        return (
            ("DELETE", "/V1/categories/:categoryId"),
            "all",
            {"categoryId": as_text(_required(fields, "id"))},
        )
    category: dict[str, Any] = _plain(fields, ("id", "name", "parent_id", "position"))
    for flag in ("is_active", "include_in_menu"):
        if flag in fields:
            category[flag] = boolean(fields[flag], flag)
    if "parent_path" in fields and "parent_id" not in fields:
        names = tuple(p.strip() for p in as_text(fields["parent_path"]).split("/") if p.strip())
        parent = resolver.category_path(names, "parent_path") if names else None
        if parent is None and not resolver.create:
            parent = 2  # a dry run: the path will be created
        category["parent_id"] = parent
    custom = _custom(fields)
    if custom:
        category["custom_attributes"] = custom
    if "id" in category:
        return ("PUT", "/V1/categories/:categoryId"), store, {"category": category}
    if "name" not in category:
        raise RowError('"name" is required. Enter and try again.', "name")
    return ("POST", "/V1/categories"), store, {"category": category}


register(
    Entity(
        name="categories",
        label="Categories",
        fields=CATEGORY_FIELDS,
        build=build_category,
        routes={
            APPEND: ("POST", "/V1/categories"),
            DELETE: ("DELETE", "/V1/categories/:categoryId"),
        },
        aliases={"entity_id": "id", "parent": "parent_path", "path": "parent_path"},
        custom_attributes=True,
    )
)


# -- customers ----------------------------------------------------------------------
CUSTOMER_FIELDS = (
    "id",
    "email",
    "firstname",
    "lastname",
    "middlename",
    "prefix",
    "suffix",
    "dob",
    "gender",
    "taxvat",
    "website_id",
    "group_id",
    "store_id",
    "password",
)


def build_customer(fields: Fields, behaviour: str, resolver: Resolver) -> Built:
    if behaviour == DELETE:
        if "id" in fields:
            customer_id: Any = as_text(fields["id"])
        else:
            customer_id = resolver.customer_id(as_text(_required(fields, "email")))
        return ("DELETE", "/V1/customers/:customerId"), "all", {"customerId": customer_id}
    customer = _plain(fields, CUSTOMER_FIELDS[:-1])
    custom = _custom(fields)
    if custom:
        customer["custom_attributes"] = custom
    if "id" in customer:
        return ("PUT", "/V1/customers/:customerId"), "all", {"customer": customer}
    item: dict[str, Any] = {"customer": customer}
    if "password" in fields:
        item["password"] = fields["password"]
    return ("POST", "/V1/customers"), "all", item


register(
    Entity(
        name="customers",
        label="Customers",
        fields=CUSTOMER_FIELDS,
        build=build_customer,
        routes={
            APPEND: ("POST", "/V1/customers"),
            DELETE: ("DELETE", "/V1/customers/:customerId"),
        },
        aliases={"entity_id": "id", "group": "group_id", "_website": "", "_store": ""},
        custom_attributes=True,
    )
)


# -- CMS blocks ---------------------------------------------------------------------
BLOCK_FIELDS = ("id", "identifier", "title", "content", "active")


def build_block(fields: Fields, behaviour: str, resolver: Resolver) -> Built:
    identifier = as_text(fields.get("identifier"))
    if behaviour == DELETE:
        block_id = as_text(fields.get("id")) or resolver.block_id(
            as_text(_required(fields, "identifier"))
        )
        return ("DELETE", "/V1/cmsBlock/:blockId"), "all", {"blockId": block_id}
    block = _plain(fields, ("id", "identifier", "title", "content"))
    if "active" in fields:
        block["active"] = boolean(fields["active"], "active")
    if "id" not in block and identifier:
        existing = resolver.existing_block_id(identifier)
        if existing is not None:
            block["id"] = existing  # update semantics: the identifier names the block
    if "id" in block:
        return ("PUT", "/V1/cmsBlock/:blockId"), "all", {"block": block}
    return ("POST", "/V1/cmsBlock"), "all", {"block": block}


register(
    Entity(
        name="cms_blocks",
        label="CMS blocks",
        fields=BLOCK_FIELDS,
        build=build_block,
        routes={APPEND: ("POST", "/V1/cmsBlock"), DELETE: ("DELETE", "/V1/cmsBlock/:blockId")},
        aliases={"block_id": "id", "is_active": "active", "store_id": ""},
    )
)


# -- stock (inventory source items) -------------------------------------------------
SOURCE_FIELDS = ("sku", "source_code", "quantity", "status")


def build_source_item(fields: Fields, behaviour: str, resolver: Resolver) -> Built:
    item: dict[str, Any] = {
        "sku": as_text(_required(fields, "sku")),
        "source_code": as_text(fields.get("source_code")) or "default",
    }
    if behaviour == DELETE:
        return ("POST", "/V1/inventory/source-items-delete"), "all", {"sourceItems": [item]}
    if "quantity" in fields:
        item["quantity"] = fields["quantity"]
    if "status" in fields:
        item["status"] = 1 if boolean(fields["status"], "status") else 0
    return ("POST", "/V1/inventory/source-items"), "all", {"sourceItems": [item]}


register(
    Entity(
        name="stock",
        label="Stock (source items)",
        fields=SOURCE_FIELDS,
        build=build_source_item,
        routes={
            APPEND: ("POST", "/V1/inventory/source-items"),
            DELETE: ("POST", "/V1/inventory/source-items-delete"),
        },
        aliases={"qty": "quantity", "is_in_stock": "status", "stock_status": "status"},
    )
)


# -- prices -------------------------------------------------------------------------
PRICE_FIELDS = ("sku", "price", "store_id")


def build_price(fields: Fields, behaviour: str, resolver: Resolver) -> Built:
    if behaviour == DELETE:
        raise RowError("Base prices cannot be deleted: import a new price instead.", "price")
    price = {
        "sku": as_text(_required(fields, "sku")),
        "price": _required(fields, "price"),
        "store_id": fields.get("store_id", 0),
    }
    return ("POST", "/V1/products/base-prices"), "all", {"prices": [price]}


SPECIAL_FIELDS = ("sku", "price", "store_id", "price_from", "price_to")


def build_special_price(fields: Fields, behaviour: str, resolver: Resolver) -> Built:
    price = {
        "sku": as_text(_required(fields, "sku")),
        "price": _required(fields, "price"),
        "store_id": fields.get("store_id", 0),
        "price_from": as_text(_required(fields, "price_from")),
        "price_to": as_text(_required(fields, "price_to")),
    }
    path = (
        "/V1/products/special-price-delete" if behaviour == DELETE else "/V1/products/special-price"
    )
    return ("POST", path), "all", {"prices": [price]}


register(
    Entity(
        name="prices",
        label="Base prices",
        fields=PRICE_FIELDS,
        build=build_price,
        routes={APPEND: ("POST", "/V1/products/base-prices")},
        aliases={"base_price": "price"},
    )
)
register(
    Entity(
        name="special_prices",
        label="Special prices",
        fields=SPECIAL_FIELDS,
        build=build_special_price,
        routes={
            APPEND: ("POST", "/V1/products/special-price"),
            DELETE: ("POST", "/V1/products/special-price-delete"),
        },
        aliases={"special_price": "price", "from": "price_from", "to": "price_to"},
    )
)
