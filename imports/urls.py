"""The imports' pages, under /dashboard/imports/."""

from __future__ import annotations

from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_list, name="list"),
    path("<uuid:import_uuid>/", views.import_detail, name="detail"),
    path("<uuid:import_uuid>/options/", views.save_options, name="options"),
    path("<uuid:import_uuid>/dry-run/", views.dry_run, name="dry-run"),
    path("<uuid:import_uuid>/start/", views.start, name="start"),
    path("<uuid:import_uuid>/progress/", views.progress, name="progress"),
    path("<uuid:import_uuid>/failed-rows.csv", views.failed_rows, name="failed-rows"),
]
