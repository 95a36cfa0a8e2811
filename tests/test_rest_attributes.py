"""Product attributes, their options and attribute sets through REST, and the checks a
product's custom attributes get against their definitions."""

from __future__ import annotations

import json

import pytest

from catalog.models import AttributeOption, ProductAttribute
from catalog.serializers.attributes import OPTION_CLASS
from catalog.services.attributes import check_attribute_set, check_custom_attributes
from operations.models import OperationStatus
from tests.fixtures.magento_shapes import assert_shape
from tests.fixtures.operations import bulk_post, product_item
from webapi.exceptions import CouldNotSaveException, InputException

pytestmark = pytest.mark.django_db

ATTRIBUTES = "V1/products/attributes"


def new_attribute(code: str | None = "material", **fields) -> dict:
    attribute = {
        "frontend_input": "select",
        "default_frontend_label": "Material",
        "options": [{"label": "Cotton"}, {"label": "Wool", "is_default": True}],
    }
    if code is not None:
        attribute["attribute_code"] = code
    attribute.update(fields)
    return {"attribute": attribute}


@pytest.fixture
def admin(api, admin_token):
    return api.as_admin(admin_token)


# --- reading ---------------------------------------------------------------------------


def test_a_system_select_attribute_answers_magentos_shape_with_its_options(admin):
    response = admin.get(f"{ATTRIBUTES}/status")
    assert response.status_code == 200
    body = response.json()
    assert_shape(body, "ProductAttributeInterface")
    assert body["attribute_id"] == 97 and body["frontend_input"] == "select"
    assert body["is_user_defined"] is False and body["entity_type_id"] == "4"
    assert body["options"] == [
        {"label": "Enabled", "value": "1"},
        {"label": "Disabled", "value": "2"},
    ]
    for option in body["options"]:
        assert_shape(option, "AttributeOptionInterface")
    assert body["used_in_product_listing"] == "1" and body["is_unique"] == "0"


def test_the_default_set_has_magentos_system_attributes(admin):
    codes = {
        a["attribute_code"] for a in admin.get("V1/products/attribute-sets/4/attributes").json()
    }
    assert codes >= {
        "name",
        "sku",
        "price",
        "status",
        "visibility",
        "weight",
        "description",
        "short_description",
        "url_key",
        "tax_class_id",
        "category_ids",
        "special_price",
        "special_from_date",
        "special_to_date",
        "cost",
        "meta_title",
        "meta_keyword",
        "meta_description",
        "news_from_date",
        "news_to_date",
        "country_of_manufacture",
        "quantity_and_stock_status",
        "image",
        "small_image",
        "thumbnail",
        "color",
        "manufacturer",
    }
    tax = admin.get(f"{ATTRIBUTES}/tax_class_id").json()
    assert tax["options"] == [
        {"label": "None", "value": "0"},
        {"label": "Taxable Goods", "value": "2"},
    ]
    assert [o["value"] for o in admin.get(f"{ATTRIBUTES}/visibility").json()["options"]] == [
        "1",
        "2",
        "3",
        "4",
    ]
    sku = admin.get(f"{ATTRIBUTES}/sku").json()
    assert sku["is_unique"] == "1" and sku["is_required"] is True and sku["options"] == []


def test_an_unknown_attribute_is_404_with_magentos_message(admin):
    response = admin.get(f"{ATTRIBUTES}/no_such_code")
    assert response.status_code == 404
    assert response.json() == {
        "message": 'The attribute with a "%1" attributeCode doesn\'t exist. '
        "Verify the attribute and try again.",
        "parameters": ["no_such_code"],
    }


def test_attributes_are_searched_with_search_criteria(admin):
    query = {
        "searchCriteria[filter_groups][0][filters][0][field]": "frontend_input",
        "searchCriteria[filter_groups][0][filters][0][value]": "price",
        "searchCriteria[sortOrders][0][field]": "attribute_code",
        "searchCriteria[sortOrders][0][direction]": "ASC",
    }
    body = admin.get(ATTRIBUTES, query).json()
    assert [a["attribute_code"] for a in body["items"]] == ["cost", "price", "special_price"]
    assert body["total_count"] == 3
    for item in body["items"]:
        assert_shape(item, "ProductAttributeInterface")


def test_the_attributes_path_is_never_read_as_a_sku(admin):
    created = admin.post("V1/products", product_item("attributes"))
    assert created.status_code == 200
    listing = admin.get(ATTRIBUTES)
    assert listing.status_code == 200 and "items" in listing.json()
    assert admin.get(f"{ATTRIBUTES}/sku").json()["attribute_code"] == "sku"
    # A SKU route still answers for other SKUs.
    assert admin.get("V1/products/attributes-not").status_code == 404
    assert admin.get("V1/products/attribute-sets/4").json()["attribute_set_name"] == "Default"


def test_the_input_types_are_listed_before_any_attribute_code(admin):
    types = admin.get(f"{ATTRIBUTES}/types").json()
    assert {"value": "select", "label": "Dropdown"} in types
    assert {"value": "text", "label": "Text Field"} in types
    for item in types:
        assert_shape(item, "ProductAttributeTypeInterface")


# --- creating, updating, deleting ------------------------------------------------------


def test_creating_a_select_attribute_stores_its_options(admin):
    response = admin.post(ATTRIBUTES, new_attribute())
    assert response.status_code == 200, response.json()
    body = response.json()
    assert_shape(body, "ProductAttributeInterface")
    assert body["attribute_code"] == "material" and body["is_user_defined"] is True
    assert body["attribute_id"] > 136  # after Magento's ids, on every database
    assert body["backend_type"] == "int"
    assert body["source_model"] == "Magento\\Eav\\Model\\Entity\\Attribute\\Source\\Table"
    labels = [o["label"] for o in body["options"]]
    assert labels == [" ", "Cotton", "Wool"]
    wool = AttributeOption.objects.get(label="Wool")
    assert body["default_value"] == str(wool.pk)
    assert admin.get(f"{ATTRIBUTES}/material").json() == body


def test_a_missing_code_is_generated_from_the_label(admin):
    response = admin.post(
        ATTRIBUTES, new_attribute(None, frontend_input="text", default_frontend_label="Fit Type")
    )
    assert response.status_code == 200, response.json()
    assert response.json()["attribute_code"] == "fit_type"
    assert response.json()["backend_type"] == "varchar"


@pytest.mark.parametrize(
    ("attribute", "message", "parameters"),
    [
        (
            new_attribute("1bad"),
            'Invalid value of "%value" provided for the %fieldName field.',
            {"value": "1bad", "fieldName": "attribute_code"},
        ),
        (
            new_attribute("ok_code", frontend_input="dropdown"),
            'Invalid value of "%value" provided for the %fieldName field.',
            {"value": "dropdown", "fieldName": "frontend_input"},
        ),
        (
            {"attribute": {"attribute_code": "nolabel", "frontend_input": "text"}},
            '"%fieldName" is required. Enter and try again.',
            {"fieldName": "frontend_label"},
        ),
        (
            {"attribute": {"attribute_code": "x", "frontend_input": "text", "colour": 1}},
            'Property "%fieldName" does not have accessor method "%accessorMethod" in class '
            '"%className".',
            {
                "fieldName": "colour",
                "accessorMethod": "getColour",
                "className": "Magento\\Catalog\\Api\\Data\\ProductAttributeInterface",
            },
        ),
    ],
)
def test_invalid_attributes_are_refused_with_magentos_errors(admin, attribute, message, parameters):
    response = admin.post(ATTRIBUTES, attribute)
    assert response.status_code == 400
    assert response.json() == {"message": message, "parameters": parameters}
    assert not ProductAttribute.objects.filter(is_user_defined=True, pk__gt=136).exists()


def test_a_duplicate_code_is_refused(admin):
    assert admin.post(ATTRIBUTES, new_attribute()).status_code == 200
    response = admin.post(ATTRIBUTES, new_attribute())
    assert response.status_code == 400
    assert response.json() == {
        "message": "%1 already exists.",
        "parameters": ["Attribute with the same code"],
    }
    sku = admin.post(ATTRIBUTES, new_attribute("sku", frontend_input="text"))
    assert sku.status_code == 400


def test_updating_keeps_the_code_and_input_type(admin):
    admin.post(ATTRIBUTES, new_attribute())
    response = admin.put(
        f"{ATTRIBUTES}/material",
        {
            "attribute": {
                "attribute_code": "renamed",
                "frontend_input": "text",
                "default_frontend_label": "Fabric",
                "is_filterable": True,
                "is_comparable": "1",
                "scope": "global",
                "frontend_labels": [{"store_id": 1, "label": "Stoff"}],
            }
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["attribute_code"] == "material" and body["frontend_input"] == "select"
    assert body["default_frontend_label"] == "Fabric" and body["is_filterable"] is True
    assert body["is_comparable"] == "1" and body["scope"] == "global"
    assert body["frontend_labels"] == [{"store_id": 1, "label": "Stoff"}]


def test_updating_an_unknown_attribute_is_404(admin):
    response = admin.put(f"{ATTRIBUTES}/nothing", {"attribute": {"default_frontend_label": "X"}})
    assert response.status_code == 404


def test_only_user_defined_attributes_can_be_deleted(admin):
    admin.post(ATTRIBUTES, new_attribute())
    assert admin.delete(f"{ATTRIBUTES}/material").json() is True
    assert admin.get(f"{ATTRIBUTES}/material").status_code == 404
    assert not AttributeOption.objects.filter(label="Wool").exists()
    response = admin.delete(f"{ATTRIBUTES}/sku")
    assert response.status_code == 400
    assert response.json()["message"] == "The system attribute can't be deleted."
    assert admin.delete(f"{ATTRIBUTES}/nothing").status_code == 404


# --- options -----------------------------------------------------------------------------


def test_adding_an_option_answers_its_id_as_a_string(admin):
    response = admin.post(f"{ATTRIBUTES}/color/options", {"option": {"label": "Red"}})
    assert response.status_code == 200, response.json()
    option_id = response.json()
    assert isinstance(option_id, str) and option_id.isdigit()
    options = admin.get(f"{ATTRIBUTES}/color/options").json()
    assert options == [{"label": " ", "value": ""}, {"label": "Red", "value": option_id}]
    assert {"label": "Red", "value": option_id} in admin.get(f"{ATTRIBUTES}/color").json()[
        "options"
    ]


def test_an_option_marked_default_becomes_the_attributes_default(admin):
    option_id = admin.post(
        f"{ATTRIBUTES}/color/options",
        {
            "option": {
                "label": "Blue",
                "is_default": True,
                "store_labels": [{"store_id": 1, "label": "Blau"}],
            }
        },
    ).json()
    assert admin.get(f"{ATTRIBUTES}/color").json()["default_value"] == option_id
    assert AttributeOption.objects.get(pk=option_id).store_labels == [
        {"store_id": 1, "label": "Blau"}
    ]


@pytest.mark.parametrize(
    ("code", "option", "status", "message"),
    [
        (
            "color",
            {"label": "  "},
            400,
            "The attribute option label is empty. Enter the value and try again.",
        ),
        ("color", {"label": "red"}, 400, 'Admin store attribute option label "%1" already exists.'),
        ("sku", {"label": "X"}, 400, 'The "%1" attribute doesn\'t work with options.'),
        ("status", {"label": "X"}, 400, 'The "%1" attribute doesn\'t work with options.'),
        (
            "nothing",
            {"label": "X"},
            404,
            'The attribute with a "%1" attributeCode doesn\'t exist. '
            "Verify the attribute and try again.",
        ),
    ],
)
def test_options_that_cannot_be_added_are_refused(admin, code, option, status, message):
    admin.post(f"{ATTRIBUTES}/color/options", {"option": {"label": "Red"}})
    response = admin.post(f"{ATTRIBUTES}/{code}/options", {"option": option})
    assert response.status_code == status
    assert response.json()["message"] == message
    assert AttributeOption.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "message", "parameters"),
    [
        ({}, '"%fieldName" is required. Enter and try again.', {"fieldName": "option"}),
        (
            {"option": "Red"},
            'The "%value" value\'s type is invalid. The "%type" type was expected. '
            "Verify and try again.",
            {"value": "Red", "type": OPTION_CLASS},
        ),
        (
            {"option": {"label": "Red", "sort_order": "first"}},
            'The "%value" value\'s type is invalid. The "%type" type was expected. '
            "Verify and try again.",
            {"value": "first", "type": "int"},
        ),
    ],
)
def test_option_bodies_are_validated_in_magentos_shape(admin, body, message, parameters):
    response = admin.post(f"{ATTRIBUTES}/color/options", body)
    assert response.status_code == 400
    assert response.json() == {"message": message, "parameters": parameters}


def test_deleting_an_option(admin):
    option_id = admin.post(
        f"{ATTRIBUTES}/color/options", {"option": {"label": "Red", "is_default": True}}
    ).json()
    assert admin.delete(f"{ATTRIBUTES}/color/options/{option_id}").json() is True
    assert admin.get(f"{ATTRIBUTES}/color/options").json() == [{"label": " ", "value": ""}]
    assert admin.get(f"{ATTRIBUTES}/color").json()["default_value"] == ""
    response = admin.delete(f"{ATTRIBUTES}/color/options/{option_id}")
    assert response.status_code == 404
    assert response.json() == {
        "message": 'The "%1" attribute doesn\'t include an option with "%2" ID.',
        "parameters": ["color", option_id],
    }


# --- attribute sets ------------------------------------------------------------------------


def test_attribute_sets_are_listed_and_read(admin):
    body = admin.get("V1/products/attribute-sets/sets/list").json()
    assert body["total_count"] == 1
    assert body["items"] == [
        {
            "attribute_set_id": 4,
            "attribute_set_name": "Default",
            "sort_order": 2,
            "entity_type_id": 4,
        }
    ]
    one = admin.get("V1/products/attribute-sets/4").json()
    assert_shape(one, "AttributeSetInterface")
    assert one == body["items"][0]


@pytest.mark.parametrize("set_id", ["999", "abc", "0"])
def test_an_unknown_attribute_set_is_404(admin, set_id):
    response = admin.get(f"V1/products/attribute-sets/{set_id}")
    assert response.status_code == 404
    assert response.json()["parameters"] == {"fieldName": "id", "fieldValue": set_id}
    listing = admin.get(f"V1/products/attribute-sets/{set_id}/attributes")
    assert listing.status_code == 404
    assert listing.json() == {
        "message": "No such entity with %1 = %2",
        "parameters": ["attributeSetId", set_id],
    }


def test_a_new_attribute_is_put_into_a_set(admin):
    admin.post(ATTRIBUTES, new_attribute())
    response = admin.post(
        "V1/products/attribute-sets/attributes",
        {"attributeSetId": 4, "attributeGroupId": 7, "attributeCode": "material", "sortOrder": 99},
    )
    assert response.status_code == 200, response.json()
    assert isinstance(response.json(), int)
    codes = [
        a["attribute_code"] for a in admin.get("V1/products/attribute-sets/4/attributes").json()
    ]
    assert codes[-1] == "material"


# --- permissions ---------------------------------------------------------------------------


def test_reading_and_writing_attributes_need_their_own_permissions(api, make_integration):
    _i, reader = make_integration("attr-reader", ["catalog.view_productattribute"])
    assert api.get(f"{ATTRIBUTES}/sku", token=reader).status_code == 200
    refused = api.post(f"{ATTRIBUTES}/color/options", {"option": {"label": "Red"}}, token=reader)
    assert refused.status_code == 403
    assert refused.json()["parameters"] == {"resources": "catalog.change_productattribute"}
    assert api.get("V1/products/attribute-sets/4", token=reader).status_code == 403
    _i, sets = make_integration("set-reader", ["catalog.view_attributeset"])
    assert api.get("V1/products/attribute-sets/sets/list", token=sets).status_code == 200
    _i, writer = make_integration("attr-writer", ["catalog.change_productattribute"])
    assert api.post(ATTRIBUTES, new_attribute(), token=writer).status_code == 200


# --- async and bulk ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bulk_of_options_is_applied_by_the_consumer(api, admin_token, db_ops_topology):
    items = [
        {"attributeCode": "color", "option": {"label": "Red"}},
        {"attributeCode": "color", "option": {"label": "Blue"}},
        {"attributeCode": "color", "option": {"label": "red"}},  # a duplicate, refused
        {"attributeCode": "color", "option": "Green"},  # not an option object, rejected
    ]
    response, bulk = bulk_post(
        api, "async/bulk/V1/products/attributes/byAttributeCode/options", items, admin_token
    )
    assert response.status_code == 202, response.json()
    assert response.json()["errors"] is True
    assert [i["status"] for i in response.json()["request_items"]] == [
        "accepted",
        "accepted",
        "accepted",
        "rejected",
    ]
    db_ops_topology.run()

    operations = list(bulk.operations.order_by("index"))
    assert [op.status for op in operations] == [
        OperationStatus.COMPLETE,
        OperationStatus.COMPLETE,
        OperationStatus.NOT_RETRIABLY_FAILED,
        OperationStatus.REJECTED,
    ]
    assert operations[0].topic == (
        "async.catalog.services.productattributeoptionmanagement.add.post"
    )
    red = AttributeOption.objects.get(label="Red")
    assert json.loads(operations[0].result_serialized_data) == str(red.pk)
    assert 'option label "red" already exists' in operations[2].result_message
    assert sorted(AttributeOption.objects.values_list("label", flat=True)) == ["Blue", "Red"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_attribute_created_asynchronously(api, admin_token, db_ops_topology):
    response = api.post("async/V1/products/attributes", new_attribute(), token=admin_token)
    assert response.status_code == 202, response.json()
    db_ops_topology.run()
    assert ProductAttribute.objects.get(attribute_code="material").options.count() == 2


# --- custom attribute checks ---------------------------------------------------------------


def _option(code: str, label: str) -> str:
    attribute = ProductAttribute.objects.get(attribute_code=code)
    return str(AttributeOption.objects.create(attribute=attribute, label=label).pk)


def test_unknown_codes_and_product_fields_are_ignored(db):
    check_custom_attributes(
        [
            {"attribute_code": "no_such_attribute", "value": {"anything": 1}},
            {"attribute_code": "name", "value": ""},
            {"attribute_code": "description", "value": "<p>Fine</p>"},
            {"attribute_code": "url_key", "value": "fine"},
        ]
    )


def test_select_values_are_taken_as_given_as_on_magento(api, admin_token, db):
    """Magento stores a select's value as sent, even a label or an id naming no option:
    a client written for a Magento store must not be refused here."""
    red = _option("color", "Red")
    for value in (red, "Red", "9999", 2):
        check_custom_attributes([{"attribute_code": "color", "value": value}])
    check_custom_attributes([{"attribute_code": "tax_class_id", "value": "7"}])
    admin = api.as_admin(admin_token)
    saved = admin.post(
        "V1/products",
        {
            "product": {
                "sku": "SELECTS",
                "name": "Selects",
                "price": 1,
                "custom_attributes": [{"attribute_code": "color", "value": "Red"}],
            }
        },
    )
    assert saved.status_code == 200, saved.content
    values = {a["attribute_code"]: a["value"] for a in saved.json()["custom_attributes"]}
    assert values["color"] == "Red"


def test_other_typed_values_are_checked_with_magentos_message(db):
    for code, value in [("special_price", "cheap"), ("news_from_date", "soon")]:
        with pytest.raises(InputException):
            check_custom_attributes([{"attribute_code": code, "value": value}])


@pytest.mark.parametrize(
    ("code", "value", "message"),
    [
        ("cost", "abc", "Please enter a number 0 or greater in this field."),
        ("special_price", "-1", "Please enter a number 0 or greater in this field."),
        ("special_price", "1.23456", "Please enter a number 0 or greater in this field."),
        (
            "special_from_date",
            "tomorrow",
            'Invalid value of "%value" provided for the %fieldName field.',
        ),
        (
            "description",
            ["a", "list"],
            'Invalid value of "%value" provided for the %fieldName field.',
        ),
    ],
)
def test_typed_values_are_checked(db, code, value, message):
    with pytest.raises(InputException) as caught:
        check_custom_attributes([{"attribute_code": code, "value": value}])
    assert caught.value.message == message


def test_typed_values_that_fit_pass(db):
    check_custom_attributes(
        [
            {"attribute_code": "cost", "value": "12.50"},
            {"attribute_code": "special_price", "value": 9},
            {"attribute_code": "special_from_date", "value": "2026-01-31 00:00:00"},
            {"attribute_code": "special_to_date", "value": None},
        ]
    )


def test_a_required_attribute_must_be_given_when_creating(api, admin_token):
    admin = api.as_admin(admin_token)
    admin.post(
        ATTRIBUTES,
        new_attribute(
            "season", frontend_input="text", is_required=True, default_frontend_label="Season"
        ),
    )
    admin.post(
        "V1/products/attribute-sets/attributes",
        {"attributeSetId": 4, "attributeGroupId": 7, "attributeCode": "season", "sortOrder": 1},
    )
    check_custom_attributes([], creating=False)  # an update keeps the stored value
    check_custom_attributes([{"attribute_code": "season", "value": "Summer"}], creating=True)
    for given in ([], [{"attribute_code": "season", "value": ""}]):
        with pytest.raises(InputException) as caught:
            check_custom_attributes(given, creating=True)
        assert (
            caught.value.rendered
            == 'The "Season" attribute value is empty. Set the attribute and try again.'
        )


def test_attributes_outside_the_set_are_not_checked(api, admin_token):
    admin = api.as_admin(admin_token)
    admin.post(
        ATTRIBUTES,
        new_attribute("loose", frontend_input="price", options=[], default_frontend_label="Loose"),
    )
    check_custom_attributes([{"attribute_code": "loose", "value": "not a number"}])


@pytest.mark.parametrize("set_id", [999, "abc", None, 0])
def test_a_product_attribute_set_must_exist(db, set_id):
    with pytest.raises(CouldNotSaveException) as caught:
        check_attribute_set(set_id)
    assert caught.value.rendered == "Invalid product data: Invalid attribute set entity type"
    with pytest.raises(CouldNotSaveException):
        check_custom_attributes([], set_id)
    check_attribute_set(4)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_bulk_update_names_each_attribute_inside_its_body(api, admin_token, db_ops_topology):
    items = [
        {"attribute": {"attribute_code": "color", "default_frontend_label": "Colour"}},
        {"attribute": {"attribute_code": "manufacturer", "is_filterable": False}},
    ]
    response, bulk = bulk_post(
        api,
        "async/bulk/V1/products/attributes/byAttributeCode",
        items,
        admin_token,
        method="PUT",
    )
    assert response.status_code == 202, response.json()
    db_ops_topology.run()
    assert set(bulk.operations.values_list("status", flat=True)) == {OperationStatus.COMPLETE}
    assert ProductAttribute.objects.get(attribute_code="color").default_frontend_label == "Colour"
    assert ProductAttribute.objects.get(attribute_code="manufacturer").is_filterable is False
