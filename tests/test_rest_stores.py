"""The store routes: websites, store groups, store views and store configs, in Magento's
shapes, with Magento's default structure (admin 0 / base 1, groups 0 and 1, stores 0
and 1), their permissions and the settings behind the store configs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from store.conf import store_settings
from store.models import Store, StoreGroup, Website
from tests.fixtures.magento_shapes import assert_shape

pytestmark = pytest.mark.django_db

CONSUMER_NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."


@pytest.fixture
def french(db):
    """A second store view in the main website's group, and one without a group."""
    base = Website.objects.get(pk=1)
    fr = Store.objects.create(
        id=2, code="fr", name="French", website=base, group_id=1, is_active=False
    )
    loose = Store.objects.create(id=3, code="de", name="German", website=base)
    return fr, loose


def test_websites_answer_magentos_default_structure(api, admin_token):
    response = api.get("V1/store/websites", token=admin_token)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body == [
        {"id": 0, "code": "admin", "name": "Admin", "default_group_id": 0},
        {"id": 1, "code": "base", "name": "Main Website", "default_group_id": 1},
    ]
    for website in body:
        assert_shape(website, "WebsiteInterface")


def test_store_groups_carry_their_root_category_and_default_store(api, admin_token):
    response = api.get("V1/store/storeGroups", token=admin_token)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body == [
        {
            "id": 0,
            "website_id": 0,
            "root_category_id": 0,
            "default_store_id": 0,
            "name": "Default",
            "code": "default",
        },
        {
            "id": 1,
            "website_id": 1,
            "root_category_id": 2,
            "default_store_id": 1,
            "name": "Main Website Store",
            "code": "main_website_store",
        },
    ]
    for group in body:
        assert_shape(group, "GroupInterface")


def test_store_views_list_every_store_admin_and_inactive_ones_included(api, admin_token, french):
    response = api.get("V1/store/storeViews", token=admin_token)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body[:2] == [
        {
            "id": 0,
            "code": "admin",
            "name": "Admin",
            "website_id": 0,
            "store_group_id": 0,
            "is_active": True,
        },
        {
            "id": 1,
            "code": "default",
            "name": "Default Store View",
            "website_id": 1,
            "store_group_id": 1,
            "is_active": True,
        },
    ]
    fr, loose = body[2:]
    assert (fr["code"], fr["store_group_id"], fr["is_active"]) == ("fr", 1, False)
    # A store created without a group belongs to its website's default group.
    assert (loose["code"], loose["store_group_id"]) == ("de", 1)
    for store in body:
        assert_shape(store, "StoreInterface")


def test_a_new_website_with_its_group_is_listed(api, admin_token):
    eu = Website.objects.create(id=2, code="eu", name="Europe")
    group = StoreGroup.objects.create(
        id=2, code="eu_store", name="EU Store", website=eu, root_category_id=2
    )
    store = Store.objects.create(id=7, code="eu_en", name="EU English", website=eu, group=group)
    group.default_store = store
    group.save()
    eu.default_group = group
    eu.save()

    websites = api.get("V1/store/websites", token=admin_token).json()
    groups = api.get("V1/store/storeGroups", token=admin_token).json()

    assert websites[-1] == {"id": 2, "code": "eu", "name": "Europe", "default_group_id": 2}
    assert groups[-1]["default_store_id"] == 7 and groups[-1]["website_id"] == 2


def test_store_configs_answer_every_store_view_but_the_admin_one(api, admin_token, french):
    response = api.get("V1/store/storeConfigs", token=admin_token)

    assert response.status_code == 200, response.content
    body = response.json()
    assert [c["code"] for c in body] == ["default", "fr", "de"]
    default = body[0]
    assert default == {
        "id": 1,
        "code": "default",
        "website_id": 1,
        "locale": "en_US",
        "base_currency_code": "USD",
        "default_display_currency_code": "USD",
        "timezone": "America/Los_Angeles",
        "weight_unit": "lbs",
        "base_url": "http://testserver/",
        "base_link_url": "http://testserver/",
        "base_static_url": "http://testserver/static/",
        "base_media_url": "http://testserver/media/",
        "secure_base_url": "http://testserver/",
        "secure_base_link_url": "http://testserver/",
        "secure_base_static_url": "http://testserver/static/",
        "secure_base_media_url": "http://testserver/media/",
    }
    for config in body:
        assert_shape(config, "StoreConfigInterface")


@pytest.mark.parametrize(
    "query",
    [
        "storeCodes[]=fr&storeCodes[]=default",
        "storeCodes[0]=fr&storeCodes[1]=default",
        "storeCodes[]=fr&storeCodes[]=default&storeCodes[]=unknown",
    ],
)
def test_store_configs_of_the_store_codes_asked_for(api, admin_token, french, query):
    response = api.get(f"V1/store/storeConfigs?{query}", token=admin_token)

    assert response.status_code == 200, response.content
    assert [c["code"] for c in response.json()] == ["default", "fr"]


def test_store_configs_of_unknown_store_codes_are_an_empty_list(api, admin_token):
    response = api.get("V1/store/storeConfigs?storeCodes[]=nowhere", token=admin_token)

    assert response.status_code == 200
    assert response.json() == []


def test_store_config_urls_follow_the_request_scheme_and_host(api, admin_token, settings):
    settings.ALLOWED_HOSTS = ["shop.example.com"]

    response = api.get(
        "V1/store/storeConfigs", token=admin_token, HTTP_HOST="shop.example.com", secure=True
    )

    config = response.json()[0]
    assert config["base_url"] == "https://shop.example.com/"
    assert config["secure_base_media_url"] == "https://shop.example.com/media/"


def test_store_configs_follow_the_settings(api, admin_token, settings):
    settings.STORE = {
        "LOCALE": "fr_FR",
        "BASE_CURRENCY": "EUR",
        "DEFAULT_DISPLAY_CURRENCY": "CHF",
        "TIMEZONE": "Europe/Paris",
        "WEIGHT_UNIT": "kgs",
        "BASE_URL": "http://shop.example.com",
        "SECURE_BASE_URL": "https://shop.example.com/",
    }

    config = api.get("V1/store/storeConfigs", token=admin_token).json()[0]

    assert {k: config[k] for k in ("locale", "base_currency_code", "timezone", "weight_unit")} == {
        "locale": "fr_FR",
        "base_currency_code": "EUR",
        "timezone": "Europe/Paris",
        "weight_unit": "kgs",
    }
    assert config["default_display_currency_code"] == "CHF"
    assert config["base_url"] == config["base_link_url"] == "http://shop.example.com/"
    assert config["base_static_url"] == "http://shop.example.com/static/"
    assert config["secure_base_url"] == "https://shop.example.com/"
    assert config["secure_base_static_url"] == "https://shop.example.com/static/"


def test_the_secure_url_defaults_to_the_base_url_setting(api, admin_token, settings):
    settings.STORE = {"BASE_URL": "https://shop.example.com/"}

    config = api.get("V1/store/storeConfigs", token=admin_token).json()[0]

    assert config["secure_base_link_url"] == "https://shop.example.com/"


def test_an_unknown_store_setting_stops_start_up(settings):
    settings.STORE = {"LOCAL": "fr_FR"}

    with pytest.raises(ImproperlyConfigured, match="LOCAL"):
        store_settings.validate()


@pytest.mark.parametrize(
    ("path", "permission"),
    [
        ("V1/store/websites", "store.view_website"),
        ("V1/store/storeGroups", "store.view_storegroup"),
        ("V1/store/storeViews", "store.view_store"),
        ("V1/store/storeConfigs", "store.view_store"),
    ],
)
def test_each_store_route_needs_its_view_permission(api, make_integration, path, permission):
    _integration, allowed = make_integration(perms=[permission])
    _integration, other = make_integration(perms=["catalog.view_product"])

    assert api.get(path, token=allowed).status_code == 200
    refused = api.get(path, token=other)
    assert refused.status_code == 403
    assert refused.json() == {
        "message": CONSUMER_NOT_AUTHORIZED,
        "parameters": {"resources": permission},
    }
    assert api.get(path).status_code == 401


def test_store_routes_answer_in_a_named_store_scope_too(api, admin_token):
    response = api.get("default/V1/store/websites", token=admin_token)
    assert response.status_code == 200
    assert api.get("all/V1/store/storeViews", token=admin_token).status_code == 200


def test_a_store_route_unknown_below_store_is_404_in_magentos_shape(api, admin_token):
    response = api.get("V1/store/nothing", token=admin_token)

    assert response.status_code == 404
    assert set(response.json()) >= {"message"}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_store_routes_are_read_only(api, admin_token, method):
    response = api.request(method, "V1/store/websites", {}, token=admin_token)

    assert response.status_code == 405


@pytest.mark.parametrize("bulk", [False, True])
def test_store_routes_have_no_async_variant(api, admin_token, bulk):
    prefix = "async/bulk" if bulk else "async"
    response = api.post(f"{prefix}/V1/store/websites", [{}] if bulk else {}, token=admin_token)

    assert response.status_code in (404, 405)
    assert "message" in response.json()


def test_the_django_admin_lists_websites_groups_and_store_views(client, admin_user):
    client.force_login(admin_user)

    for model in ("website", "storegroup", "store"):
        response = client.get(f"/admin/store/{model}/")
        assert response.status_code == 200, model
    assert "Main Website Store" in client.get("/admin/store/storegroup/").content.decode()
    assert client.get("/admin/store/storegroup/1/change/").status_code == 200
