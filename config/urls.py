"""Root URLs.

Under `/rest/`: the OpenAPI schema and Swagger UI, then the asynchronous and bulk
API (`operations`), then the synchronous API (`catalog.webapi`). Each pattern takes
an optional store code (`/rest/<store>/V1/...`); anything else under `/rest/` (any
character included: `%0A` too) is a 404 in Magento's error shape.

Django's own error answers (handler400/403/404/500: a suspicious request, an error
raised outside a view) are in Magento's shape under `/rest/` and Django's HTML pages
elsewhere; a disallowed Host under `/rest/` is answered by
`webapi.middleware.RestHostMiddleware`.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views import defaults
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from operations import views as operations_views
from webapi import views as webapi_views
from webapi.errors import NO_ROUTE, plain_error_response
from webapi.exceptions import CONSUMER_NOT_AUTHORIZED
from webapi.middleware import is_rest_path
from webapi.signin import AdminSignInForm, SignInForm

# Both sign-in pages say when a username is locked (webapi.signin).
admin.site.login_form = AdminSignInForm

STORE = r"(?:(?P<store_code>[A-Za-z0-9_]+)/)?"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard:home"), name="home"),
    path("dashboard/imports/", include("imports.urls")),
    path("dashboard/", include("dashboard.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=SignInForm),
        name="login",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("rest/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("rest/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    re_path(
        rf"^rest/{STORE}async/bulk/(?P<path>V1/.*)$",
        operations_views.AsyncBulkView.as_view(),
        name="async-bulk",
    ),
    re_path(
        rf"^rest/{STORE}async/(?P<path>V1/.*)$", operations_views.AsyncView.as_view(), name="async"
    ),
    re_path(rf"^rest/{STORE}(?P<path>V1/.*)$", webapi_views.ServiceView.as_view(), name="webapi"),
    # No `$` and no `.`: a path holding a newline is matched too.
    re_path(r"^rest(?:/|$)", webapi_views.ServiceView.as_view(), name="webapi-unknown"),
]


def _rest_or_html(status: int, message: str, parameters, html_view):
    def handler(request, *args, **kwargs):
        if is_rest_path(request.path_info):
            return plain_error_response(status, message, parameters)
        return html_view(request, *args, **kwargs)

    handler.__name__ = html_view.__name__
    return handler


handler400 = _rest_or_html(400, "The request is malformed.", None, defaults.bad_request)
handler403 = _rest_or_html(
    403, CONSUMER_NOT_AUTHORIZED, {"resources": ""}, defaults.permission_denied
)
handler404 = _rest_or_html(404, NO_ROUTE, None, defaults.page_not_found)
handler500 = _rest_or_html(
    500, "Internal Error. Details are available in the server log.", None, defaults.server_error
)
