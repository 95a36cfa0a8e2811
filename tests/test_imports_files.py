"""Importing files into bulks: every entity, Magento's product CSV, bad rows, dry runs,
encodings, quoted newlines, and a run killed half-way then run again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from catalog.models import Block, Category, Customer, Product, SourceItem
from imports import actions, reports
from imports.models import Import, ImportChunk, ImportState
from operations.actions import execute_operations
from operations.models import Bulk, Operation, OperationStatus

FIXTURES = Path(__file__).parent / "fixtures" / "imports"


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_superuser("importer", "imp@example.com", "Imp-pass-1")


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(owner, path: Path, entity: str, **options) -> Import:
    """Import the file in this process, then run its operations (what the consumer does)."""
    dry_run = options.pop("dry_run", False)
    job = actions.create_import(owner=owner, source=path, entity=entity, copy=False, **options)
    job = actions.run_to_end(job, dry_run=dry_run)
    execute_operations(
        Operation.objects.filter(status=OperationStatus.OPEN).values_list("pk", flat=True)
    )
    job.refresh_from_db()
    return job


def test_products_from_a_csv_of_the_api_fields(owner, tmp_path):
    path = write(
        tmp_path,
        "p.csv",
        "sku,name,price,attribute_set_id,type_id,qty,colour\n"
        "IMP-1,First,10.50,4,simple,7,red\nIMP-2,Second,3,4,simple,,\n",
    )
    job = run(owner, path, "products")
    assert job.state == ImportState.DONE
    assert (job.rows_read, job.rows_accepted, job.rows_rejected) == (2, 2, 0)
    first = Product.objects.get(sku="IMP-1")
    assert (first.name, float(first.price)) == ("First", 10.5)
    assert first.stock_item.qty == 7
    assert actions.outcome(job).complete == 2


def test_a_magento_export_imports_unchanged(owner):
    job = run(owner, FIXTURES / "magento_products.csv", "products")
    assert job.state == ImportState.DONE, job.error
    assert job.rows_rejected == 0, list(job.row_errors.values_list("row_number", "message"))
    bag = Product.objects.get(sku="24-MB01")
    assert bag.name == "Joust Duffle Bag"
    assert bag.visibility == 4 and bag.status == 1 and float(bag.price) == 34
    assert bag.url_key == "joust-duffle-bag"
    assert bag.stock_item.qty == 100
    gear = Category.objects.get(name="Gear", parent_id=2)
    bags = Category.objects.get(name="Bags", parent=gear)
    assert set(bag.categories.values_list("pk", flat=True)) == {gear.pk, bags.pk}
    band = Product.objects.get(sku="24-UG01")
    assert band.status == 2 and band.visibility == 1
    assert band.categories.get().name == "Fitness Equipment"
    # The store view row (store_view_code "default") went to a bulk of that store.
    stores = set(ImportChunk.objects.filter(job=job).values_list("store_code", flat=True))
    assert any(s.startswith("default|") for s in stores) and any(
        s.startswith("all|") for s in stores
    )
    # Created once each, however many rows name them.
    assert Category.objects.filter(name="Bags").count() == 1


def test_bad_rows_are_reported_by_row_and_column_and_the_others_import(owner, tmp_path):
    path = write(
        tmp_path,
        "bad.csv",
        "sku,name,price,attribute_set_code,visibility\n"
        "OK-1,Fine,1,Default,Catalog\n"
        "BAD-1,Bad price,lots,Default,Catalog\n"
        ",No sku,2,Default,Catalog\n"
        "BAD-3,Bad set,2,Nope,Catalog\n"
        "OK-2,Fine too,2,Default,Search\n",
    )
    job = run(owner, path, "products")
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["OK-1", "OK-2"]
    errors = {e.row_number: (e.column, e.message) for e in job.row_errors.all()}
    assert set(errors) == {2, 3, 4}
    assert errors[2][0] == "price" and "lots" in errors[2][1]
    assert errors[3][0] == "sku"
    assert errors[4][0] == "attribute_set_code" and "Nope" in errors[4][1]
    lines = "".join(reports.failed_rows_csv(job)).splitlines()
    assert (
        lines[0] == "sku,name,price,attribute_set_code,visibility,import_error_column,import_error"
    )
    assert [line.split(",")[0] for line in lines[1:]] == ["BAD-1", "", "BAD-3"]
    # Fixed and uploaded again, error columns and all: the rows import.
    fixed = "\n".join(lines).replace("lots", "3").replace("\n,No sku", "\nOK-3,No sku")
    fixed = fixed.replace(",Nope,", ",Default,")
    again = run(owner, write(tmp_path, "fixed.csv", fixed + "\n"), "products")
    assert again.rows_rejected == 0 and again.mapping["import_error"] == ""
    assert Product.objects.count() == 5


def test_a_dry_run_reports_the_same_errors_and_creates_nothing(owner, tmp_path):
    path = write(
        tmp_path,
        "dry.csv",
        "sku,name,price,categories\nD-1,One,1,Default Category/New/Deeper\nD-2,Two,-5,\n",
    )
    bulks, categories = Bulk.objects.count(), Category.objects.count()
    job = run(owner, path, "products", dry_run=True)
    assert job.state == ImportState.VALIDATED
    assert (job.dry_run_rows, job.dry_run_errors) == (2, 1)
    error = job.row_errors.get(dry_run=True)
    assert (error.row_number, error.column) == (2, "price")
    assert Bulk.objects.count() == bulks and Category.objects.count() == categories
    assert not Product.objects.filter(sku__startswith="D-").exists()


@pytest.mark.parametrize(
    ("encoding", "declared"), [("utf-8-sig", ""), ("latin-1", "latin-1"), ("cp1252", "")]
)
def test_encodings(owner, tmp_path, encoding, declared):
    path = write(tmp_path, "e.csv", "sku,name\nENC-1,Crème brûlée à la façon\n", encoding)
    job = run(owner, path, "products", encoding=declared)
    assert job.encoding == (declared or encoding)
    assert Product.objects.get(sku="ENC-1").name == "Crème brûlée à la façon"


def test_quoted_fields_hold_newlines_and_commas(owner, tmp_path):
    path = write(
        tmp_path,
        "q.csv",
        'identifier,title,content\r\nfooter,"Footer, big","<p>One\r\nTwo, ""three""</p>"\r\n'
        "side,Side,plain\r\n",
    )
    job = run(owner, path, "cms_blocks")
    assert job.rows_read == 2 and job.rows_accepted == 2
    assert Block.objects.get(identifier="footer").content == '<p>One\r\nTwo, "three"</p>'
    assert Block.objects.get(identifier="footer").title == "Footer, big"


def test_round_trip_of_every_entity(owner, tmp_path):
    categories = write(
        tmp_path, "c.jsonl", '{"name": "Imported", "parent_path": "Default Category"}\n'
    )
    assert run(owner, categories, "categories").rows_accepted == 1
    imported = Category.objects.get(name="Imported")
    assert imported.parent_id == 2

    customers = write(
        tmp_path,
        "cu.json",
        json.dumps(
            [
                {"email": "a@example.com", "firstname": "A", "lastname": "One"},
                {"email": "b@example.com", "firstname": "B", "lastname": "Two", "gender": 2},
            ]
        ),
    )
    assert run(owner, customers, "customers").rows_accepted == 2
    assert Customer.objects.get(email="b@example.com").gender == 2

    run(owner, write(tmp_path, "p.csv", "sku,name,price\nST-1,Stocked,5\n"), "products")
    stock = write(tmp_path, "s.csv", "sku,source_code,quantity,status\nST-1,default,42,1\n")
    assert run(owner, stock, "stock").rows_accepted == 1
    assert SourceItem.objects.get(product__sku="ST-1", source_id="default").quantity == 42

    prices = write(tmp_path, "pr.csv", "sku,price\nST-1,99.5\n")
    assert run(owner, prices, "prices").rows_accepted == 1
    assert float(Product.objects.get(sku="ST-1").price) == 99.5

    specials = write(
        tmp_path,
        "sp.csv",
        "sku,price,store_id,price_from,price_to\n"
        "ST-1,80,0,2030-01-01 00:00:00,2030-02-01 00:00:00\n",
    )
    assert run(owner, specials, "special_prices").rows_accepted == 1
    assert _special_prices(owner) == [80.0]
    run(owner, specials, "special_prices", behaviour="delete")
    assert _special_prices(owner) == []

    blocks = write(tmp_path, "b.csv", "identifier,title,content,active\nhello,Hello,Hi,1\n")
    run(owner, blocks, "cms_blocks")
    # Imported again with a new title: the identifier names the block (update semantics).
    blocks2 = write(tmp_path, "b2.csv", "identifier,title,content,active\nhello,Hello 2,Hi,0\n")
    run(owner, blocks2, "cms_blocks")
    assert Block.objects.get(identifier="hello").title == "Hello 2"

    # Deleting, by the same keys.
    run(owner, write(tmp_path, "bd.csv", "identifier\nhello\n"), "cms_blocks", behaviour="delete")
    assert not Block.objects.filter(identifier="hello").exists()
    run(owner, write(tmp_path, "cd.csv", "email\na@example.com\n"), "customers", behaviour="delete")
    assert not Customer.objects.filter(email="a@example.com").exists()
    run(owner, write(tmp_path, "kd.csv", f"id\n{imported.pk}\n"), "categories", behaviour="delete")
    assert not Category.objects.filter(pk=imported.pk).exists()
    run(owner, write(tmp_path, "sd.csv", "sku\nST-1\n"), "stock", behaviour="delete")
    assert not SourceItem.objects.filter(product__sku="ST-1", source_id="default").exists()
    run(owner, write(tmp_path, "pd.csv", "sku\nST-1\n"), "products", behaviour="delete")
    assert not Product.objects.filter(sku="ST-1").exists()


def _special_prices(owner) -> list[float]:
    from store.models import Store
    from webapi.execution import run_route
    from webapi.routes import CallContext, routes

    route, _params = routes.resolve("POST", "/V1/products/special-price-information")
    ctx = CallContext(store=Store.objects.get(pk=0), user=owner)
    return [float(p["price"]) for p in run_route(route, ctx, {}, {"skus": ["ST-1"]})]


def _rows(n: int) -> str:
    return "sku,name,price\n" + "".join(f"K-{i},Row {i},{i}\n" for i in range(1, n + 1))


def test_an_import_killed_half_way_and_run_again_doubles_nothing(owner, tmp_path):
    path = write(tmp_path, "k.csv", _rows(50))
    job = actions.create_import(
        owner=owner, source=path, entity="products", chunk_size=10, copy=False
    )
    actions.start(job)
    actions.run_slice(job.pk, max_chunks=2)  # two chunks committed
    with pytest.raises(RuntimeError):  # the third slice dies half-way: rolled back whole
        from django.db import transaction

        with transaction.atomic():
            actions.run_slice(job.pk, max_chunks=2)
            raise RuntimeError("killed")
    job.refresh_from_db()
    assert (job.state, job.position_chunk, job.rows_accepted) == (ImportState.RUNNING, 2, 20)
    assert Bulk.objects.count() == 2
    actions.run_to_end(job)  # the consumer's message comes back: it resumes there
    job.refresh_from_db()
    assert (job.state, job.rows_accepted, job.chunks_done) == (ImportState.DONE, 50, 5)
    assert Bulk.objects.count() == 5
    # The same file imported again from the start: every chunk replays its first bulk.
    again = actions.run_to_end(
        actions.create_import(
            owner=owner, source=path, entity="products", chunk_size=10, copy=False
        )
    )
    assert again.rows_accepted == 50
    assert Bulk.objects.count() == 5 and Operation.objects.count() == 50
    assert all(ImportChunk.objects.filter(job=again).values_list("replayed", flat=True))
    execute_operations(Operation.objects.values_list("pk", flat=True))
    assert Product.objects.filter(sku__startswith="K-").count() == 50
