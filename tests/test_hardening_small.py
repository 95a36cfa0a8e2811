"""Issue 12, defect 11: the smaller things.

- A Content-Security-Policy on every page, that the dashboard, Swagger UI and the
  admin work under (checked in a real Chromium: no violation reported, live updates).
- A staff user's admin tokens stop working when their password changes.
- Password reset says when no mail is configured; `EMAIL_URL` configures mail.
- HEAD on GET routes under /rest/ answers like GET without a body.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from tests.fixtures.browser import page_for
from tests.fixtures.dashboard import OPERATOR, VIEWER, customer, make_bulk
from tests.fixtures.webapi import ADMIN_PASSWORD
from webapi import actions

NOT_AUTHORIZED = {
    "message": "The consumer isn't authorized to access %resources.",
    "parameters": {"resources": "catalog.view_category"},
}

# --- Content-Security-Policy ------------------------------------------------------------


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: " ".join(part.split()[1:])
        for part in (p.strip() for p in header.split(";"))
        if part
    }


@pytest.mark.django_db
def test_every_dashboard_page_answers_with_a_strict_policy(signed_in):
    client, user = signed_in((*OPERATOR, "queues.view_queues", "operations.view_all_bulks"))
    bulk = make_bulk(user, [customer(1)])
    pages = [
        "/dashboard/",
        "/dashboard/bulks/",
        f"/dashboard/bulks/{bulk.uuid}/",
        "/dashboard/queues/",
        "/dashboard/consumers/",
        "/dashboard/dead-letters/",
        "/dashboard/failures/",
        "/rest/docs/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = _policy(response)
        assert policy["default-src"] == "'self'", url
        assert "'unsafe-inline'" not in policy["script-src"], url
        assert "'unsafe-eval'" not in policy["script-src"], url
        assert "'unsafe-inline'" not in policy["style-src"], url
        assert policy["connect-src"] == "'self'", url  # the websocket is same-origin
        assert policy["frame-ancestors"] == "'none'", url
        assert policy["object-src"] == "'none'", url
    anonymous = Client()
    for url in ("/accounts/login/", "/accounts/password_reset/", "/admin/login/"):
        assert "frame-ancestors 'none'" in anonymous.get(url).headers["Content-Security-Policy"]


def test_the_pages_have_no_inline_script_style_or_handler():
    """Inline code needs 'unsafe-inline': scripts and styles come by URL (or with a nonce)."""
    offenders = []
    for folder in (settings.BASE_DIR / "templates", settings.BASE_DIR / "dashboard"):
        for path in folder.rglob("*.html"):
            text = path.read_text()
            for needle in (" style=", "<style>", " hx-on", " onclick=", " onload=", "<script>"):
                if needle in text:
                    offenders.append(f"{path.relative_to(settings.BASE_DIR)}: {needle.strip()}")
    assert offenders == []


@pytest.fixture(scope="module")
def csp_staff(live_site):
    return live_site.user(
        "csp-staff", (*OPERATOR, "operations.view_all_bulks", "queues.view_queues")
    )


_WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def test_the_dashboard_swagger_and_admin_work_under_the_policy(browser, live_site, csp_staff):
    pytest.importorskip("playwright.sync_api")
    from playwright.sync_api import expect

    username, password, token = csp_staff
    status, answer = live_site.api(
        "POST", "/rest/all/async/bulk/V1/customers", [customer(901), customer(902)], token
    )
    assert status == 202, answer
    page = page_for(browser, live_site, username, password)
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.add_init_script(_WATCH_VIOLATIONS)

    def visit(url: str) -> None:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], url

    def no_violation(url: str) -> None:
        assert page.evaluate("window.__cspViolations") == [], url
        assert console == [], url

    for url in ("/dashboard/bulks/", f"/dashboard/bulks/{answer['bulk_uuid']}/"):
        visit(url)
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
        no_violation(url)

    visit("/rest/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    no_violation("/rest/docs/")

    live_site.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model\n"
        f"get_user_model().objects.filter(username={username!r}).update(is_superuser=True)",
    )
    for url in ("/admin/", "/admin/rest/integration/", "/admin/rest/integration/add/"):
        visit(url)
        expect(page.locator("#content")).to_be_visible()
        no_violation(url)
    page.context.close()


# --- admin tokens and passwords ----------------------------------------------------------


@pytest.mark.django_db
def test_a_password_change_revokes_the_users_admin_tokens(api, admin_user, admin_token):
    path = "V1/categories/1"
    assert api.get(path, token=admin_token).status_code == 200
    other = actions.issue_admin_token("admin", ADMIN_PASSWORD)

    admin_user.set_password("a brand new passphrase")
    admin_user.save()

    for token in (admin_token, other):
        response = api.get(path, token=token)
        assert response.status_code == 401
        assert response.json() == NOT_AUTHORIZED
        assert response.headers["WWW-Authenticate"] == "Bearer"
    fresh = actions.issue_admin_token("admin", "a brand new passphrase")
    assert api.get(path, token=fresh).status_code == 200


@pytest.mark.django_db
def test_saving_a_user_without_a_new_password_keeps_the_tokens(
    api, admin_user, admin_token, make_integration
):
    admin_user.email = "renamed@example.com"
    admin_user.save()
    # Signing in again may rehash the password: no new password, the tokens stay.
    admin_user.check_password(ADMIN_PASSWORD)
    assert api.get("V1/categories/1", token=admin_token).status_code == 200

    integration, integration_token = make_integration(perms=("catalog.view_category",))
    integration.user.set_password("whatever it is")
    integration.user.save()
    assert api.get("V1/categories/1", token=integration_token).status_code == 200


@pytest.mark.django_db
def test_the_password_change_page_revokes_the_tokens_too(api, admin_user, admin_token):
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": ADMIN_PASSWORD,
            "new_password1": "Another-long-pass-77",
            "new_password2": "Another-long-pass-77",
        },
    )
    assert response.status_code == 302
    assert api.get("V1/categories/1", token=admin_token).status_code == 401


# --- password reset and mail ------------------------------------------------------------

NO_MAIL = "no mail will be sent. Ask an administrator to reset your password."


@pytest.mark.django_db
def test_password_reset_says_no_mail_is_sent_without_mail_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    client = Client()
    form = client.get("/accounts/password_reset/").content.decode()
    assert "This server has no mail configured: " + NO_MAIL in form
    assert "a link to choose a new password is sent there" not in form
    done = client.post("/accounts/password_reset/", {"email": "x@example.com"}, follow=True)
    page = done.content.decode()
    assert "No mail was sent" in page and NO_MAIL in page
    assert "Check your mail" not in page


@pytest.mark.django_db
def test_password_reset_with_mail_sends_the_link(settings, mailoutbox):
    get_user_model().objects.create_user("resetme", "resetme@example.com", "Old-pass-12345")
    client = Client()
    form = client.get("/accounts/password_reset/").content.decode()
    assert NO_MAIL not in form
    done = client.post("/accounts/password_reset/", {"email": "resetme@example.com"}, follow=True)
    assert "Check your mail" in done.content.decode()
    assert len(mail.outbox) == 1


def _mail_settings(**env: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "from config.mail import sends_mail;"
        "print(json.dumps({k: getattr(s, k, None) for k in ('EMAIL_BACKEND', 'EMAIL_HOST',"
        " 'EMAIL_PORT', 'EMAIL_HOST_USER', 'EMAIL_HOST_PASSWORD', 'EMAIL_USE_TLS',"
        " 'EMAIL_USE_SSL', 'DEFAULT_FROM_EMAIL')} | {'sends_mail': sends_mail()}))"
    )
    base = {k: v for k, v in os.environ.items() if k not in ("EMAIL_URL", "DJANGO_EMAIL_BACKEND")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_email_url_configures_smtp():
    configured = _mail_settings(
        EMAIL_URL="submission://mailer%40example.com:s3cr%3At@smtp.example.com:587",
        DJANGO_DEFAULT_FROM_EMAIL="bulk@example.com",
    )
    assert configured == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer@example.com",
        "EMAIL_HOST_PASSWORD": "s3cr:t",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "DEFAULT_FROM_EMAIL": "bulk@example.com",
        "sends_mail": True,
    }
    ssl = _mail_settings(EMAIL_URL="smtp://u:p@mail.example.com:465?ssl=True")
    assert (ssl["EMAIL_USE_SSL"], ssl["EMAIL_PORT"], ssl["sends_mail"]) == (True, 465, True)
    default = _mail_settings()
    assert default["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert default["sends_mail"] is False


# --- HEAD ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_head_answers_like_get_without_a_body(api, admin_token, signed_in):
    _client, user = signed_in(VIEWER)
    bulk = make_bulk(user, [customer(5)])
    for path in (
        "V1/categories/1",
        "V1/customers/search?searchCriteria[pageSize]=1",
        "/rest/all/V1/cmsBlock/search?searchCriteria[pageSize]=1",
        f"V1/bulk/{bulk.uuid}/status",
        "V1/categories/999999",  # 404 in Magento's shape
    ):
        get = api.get(path, token=admin_token)
        head = api.request("HEAD", path, token=admin_token)
        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        assert head.headers["Content-Type"] == get.headers["Content-Type"], path
        assert head.headers["Content-Length"] == str(len(get.content)), path
    # Without a token: the same 401 as GET, no body.
    head = api.request("HEAD", "V1/categories/1")
    assert head.status_code == 401 and head.content == b""
    # A path with no GET route: 405 as for GET.
    assert api.request("HEAD", "V1/integration/admin/token").status_code == 405


@pytest.mark.django_db
def test_head_drops_the_body_in_the_view_itself(admin_token):
    """Django's test client drops HEAD bodies itself: check the application's answer."""
    from django.test import RequestFactory

    from webapi.views import ServiceView

    request = RequestFactory().head(
        "/rest/V1/categories/1", headers={"Authorization": f"Bearer {admin_token}"}
    )
    response = ServiceView.as_view()(request, path="V1/categories/1")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response["Content-Length"]) > 2
