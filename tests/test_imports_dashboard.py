"""/dashboard/imports/ with Django's test client: upload, mapping, dry run, start, the
failed-rows CSV, permissions, and the checks an upload gets."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Product
from imports import actions
from imports.models import Import, ImportState
from operations.actions import execute_operations
from operations.models import Operation, OperationStatus

MAY_IMPORT = ("imports.run_imports", "operations.view_bulk", "catalog.change_product")
CSV = b"sku,name,price,colour\nDASH-1,One,5,red\nDASH-2,Two,lots,blue\nDASH-3,Three,7,green\n"


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.IMPORTS = {"UPLOAD_DIR": str(tmp_path / "uploads")}


def upload(client, content=CSV, name="products.csv", **fields):
    data = {"entity": "products", "behaviour": "append", "encoding": "", **fields}
    data["file"] = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post("/dashboard/imports/", data)


def test_the_nav_and_the_page_need_the_permission(signed_in):
    client, _user = signed_in(("operations.view_bulk",))
    assert client.get("/dashboard/imports/").status_code == 403
    assert b"/dashboard/imports/" not in client.get("/dashboard/bulks/").content
    client, _user = signed_in(MAY_IMPORT)
    page = client.get("/dashboard/imports/")
    assert page.status_code == 200 and b"No import yet" in page.content
    assert b'href="/dashboard/imports/"' in client.get("/dashboard/bulks/").content


def test_upload_preview_mapping_dry_run_start_and_failed_rows(
    signed_in, django_capture_on_commit_callbacks
):
    client, user = signed_in(MAY_IMPORT)
    response = upload(client)
    assert response.status_code == 302
    job = Import.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "DASH-1" in page and "Preview and mapping" in page
    assert 'value="attribute:colour" selected' in page  # unknown column: a custom attribute

    # Leave out the colour column.
    columns = actions.columns(job)
    form = {f"map-{i}": job.mapping[c] for i, c in enumerate(columns)}
    form[f"map-{columns.index('colour')}"] = ""
    form.update(encoding="utf-8", behaviour="append")
    client.post(f"/dashboard/imports/{job.uuid}/options/", form)
    job.refresh_from_db()
    assert job.mapping["colour"] == ""

    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/dashboard/imports/{job.uuid}/dry-run/")
    actions.run_slice(job.pk)  # what the imports.jobs consumer does with the message
    job.refresh_from_db()
    assert (job.state, job.dry_run_errors) == (ImportState.VALIDATED, 1)
    page = client.get(f"/dashboard/imports/{job.uuid}/").content.decode()
    assert "Rows with errors" in page and "lots" in page
    assert not Product.objects.exists()

    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/dashboard/imports/{job.uuid}/start/")
    job = actions.run_slice(job.pk)
    assert job.state == ImportState.DONE
    execute_operations(
        Operation.objects.filter(status=OperationStatus.OPEN).values_list("pk", flat=True)
    )
    progress = client.get(f"/dashboard/imports/{job.uuid}/progress/").content.decode()
    assert 'data-count="completed">2<' in progress and 'data-count="rejected">1<' in progress
    assert "/dashboard/bulks/" in progress and "hx-trigger" not in progress  # done: no polling
    failed = client.get(f"/dashboard/imports/{job.uuid}/failed-rows.csv")
    body = b"".join(failed.streaming_content).decode()
    assert body.splitlines()[0] == "sku,name,price,colour,import_error_column,import_error"
    assert body.splitlines()[1].startswith("DASH-2,Two,lots,blue,price,")
    assert "import" in client.get("/dashboard/imports/").content.decode()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"PK\x03\x04\x00\x00binary", "book.csv", "binary data"),
        (b"sku\nA\n", "products.xlsx", "Only .csv"),
        (b"", "empty.csv", "empty"),
    ],
)
def test_uploads_that_cannot_be_imported_say_why(signed_in, content, name, message):
    client, _user = signed_in(MAY_IMPORT)
    response = upload(client, content, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Import.objects.exists()


def test_the_size_limit(signed_in, settings):
    settings.IMPORTS = {**settings.IMPORTS, "MAX_UPLOAD_BYTES": 10}
    client, _user = signed_in(MAY_IMPORT)
    response = upload(client)
    assert response.status_code == 400 and "the limit is 10 bytes" in response.content.decode()


def test_an_owner_without_the_route_permission_is_refused(signed_in):
    client, user = signed_in(("imports.run_imports",))
    upload(client)
    job = actions.run_to_end(Import.objects.get())
    assert job.state == ImportState.FAILED and "may not call" in job.error
    assert not Operation.objects.exists()


def test_another_persons_import_is_not_found(signed_in):
    client, _user = signed_in(MAY_IMPORT)
    upload(client)
    other, _ = signed_in(MAY_IMPORT)
    job = Import.objects.get()
    assert other.get(f"/dashboard/imports/{job.uuid}/").status_code == 404


def test_a_latin1_file_is_detected_and_the_encoding_can_be_overridden(signed_in):
    client, _user = signed_in(MAY_IMPORT)
    upload(client, "sku,name\nENC-1,Crème brûlée\n".encode("latin-1"))
    job = Import.objects.get()
    assert job.encoding == "cp1252"
    assert "Crème brûlée" in client.get(f"/dashboard/imports/{job.uuid}/").content.decode()
    columns = {f"map-{i}": job.mapping[c] for i, c in enumerate(actions.columns(job))}
    client.post(
        f"/dashboard/imports/{job.uuid}/options/",
        {**columns, "encoding": "latin-1", "behaviour": "append"},
    )
    job.refresh_from_db()
    assert job.encoding == "latin-1"
    assert "Crème brûlée" in client.get(f"/dashboard/imports/{job.uuid}/").content.decode()


def test_a_json_array_upload_is_previewed(signed_in):
    client, _user = signed_in(MAY_IMPORT)
    body = b'[{"sku": "J-1", "name": "From JSON", "price": 4}, {"sku": "J-2", "name": "Two"}]'
    upload(client, body, "products.json")
    job = Import.objects.get()
    assert job.format == "json"
    page = client.get(f"/dashboard/imports/{job.uuid}/").content.decode()
    assert "From JSON" in page and "J-2" in page


def test_the_live_panel_sends_each_user_the_progress_of_their_running_imports(signed_in):
    from dashboard.live import panels
    from dashboard.live.render import Abilities

    client, user = signed_in(MAY_IMPORT)
    upload(client)
    job = actions.start(Import.objects.get())
    other, other_user = signed_in(MAY_IMPORT)
    panel = panels.get("import")
    assert panel is not None
    mine = panel.draw(Abilities(), user.pk)
    assert len(mine) == 1 and f'id="import-progress-{job.uuid}"' in mine[0]
    assert 'hx-swap-oob="true"' in mine[0] and 'data-count="read">0<' in mine[0]
    assert panel.draw(Abilities(), other_user.pk) == []
    actions.run_slice(job.pk)
    assert 'data-count="read">3<' in panel.draw(Abilities(), user.pk)[0]


def _urls(job) -> list[str]:
    from django.urls import reverse

    from imports import urls

    return [
        reverse(
            f"imports:{p.name}", kwargs={"import_uuid": job.uuid} if p.pattern.converters else {}
        )
        for p in urls.urlpatterns
    ]


def test_every_import_url_refuses_anonymous_visitors_users_without_the_permission_and_no_csrf(
    signed_in,
):
    from django.test import Client

    owner_client, _owner = signed_in(MAY_IMPORT)
    upload(owner_client)
    job = Import.objects.get()
    anonymous = Client()
    bare, _user = signed_in(("operations.view_bulk",))
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(job.owner)
    for url in _urls(job):
        for method in ("get", "post"):
            got = getattr(anonymous, method)(url)
            assert got.status_code == 302 and "/accounts/login/" in got["Location"], url
            assert getattr(bare, method)(url).status_code == 403, url
        assert strict.post(url).status_code == 403, url
    job.refresh_from_db()
    assert job.state == ImportState.UPLOADED and Import.objects.count() == 1
