"""Root URLs.

Under `/rest/`: the OpenAPI schema and Swagger UI, then the asynchronous and bulk
API (`operations`), then the synchronous API (`catalog.webapi`). Each pattern takes
an optional store code (`/rest/<store>/V1/...`); anything else under `/rest/` is a
404 in Magento's error shape.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from operations import views as operations_views
from webapi import views as webapi_views
from webapi.signin import AdminSignInForm, SignInForm

# Both sign-in pages say when a username is locked (webapi.signin).
admin.site.login_form = AdminSignInForm

STORE = r"(?:(?P<store_code>[A-Za-z0-9_]+)/)?"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard:home"), name="home"),
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
    re_path(r"^rest/.*$", webapi_views.ServiceView.as_view(), name="webapi-unknown"),
]
