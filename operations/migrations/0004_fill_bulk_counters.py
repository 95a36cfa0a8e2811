# Fill the counters, topic, started_at and changed_at of existing bulks from their
# operations. Batched by bulk id (a batch per transaction, one grouped query over the
# (bulk, status) index per batch), so that it works on a table of millions of
# operations without holding one long transaction or the whole table in memory.
#
# Not atomic as a whole: an interrupted run leaves some bulks filled and the others at
# zero; running it again (or `manage.py operations_recount`) puts them right.

from django.db import migrations, transaction
from django.db.models import Count, Max, Min

BATCH = 500
COUNTER_FIELDS = {
    1: "complete_count",
    2: "retriably_failed_count",
    3: "not_retriably_failed_count",
    4: "open_count",
    5: "rejected_count",
}


def fill(apps, schema_editor):
    Bulk = apps.get_model("operations", "Bulk")
    Operation = apps.get_model("operations", "Operation")
    OperationEvent = apps.get_model("operations", "OperationEvent")
    db = schema_editor.connection.alias
    last = 0
    while True:
        ids = list(
            Bulk.objects.using(db)
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            return
        low, high = ids[0], ids[-1]
        last = high
        with transaction.atomic(using=db):
            bulks = Bulk.objects.using(db).select_for_update().in_bulk(ids)
            rows = (
                Operation.objects.using(db)
                .filter(bulk_id__gte=low, bulk_id__lte=high)
                .order_by()
                .values_list("bulk_id", "status")
                .annotate(
                    n=Count("id"),
                    first_start=Min("started_at"),
                    attempts=Max("attempts"),
                    last_finish=Max("finished_at"),
                    last_open=Max("opened_at"),
                    topic=Min("topic"),
                )
            )
            ran_unknown = set()
            for bulk in bulks.values():
                for field in COUNTER_FIELDS.values():
                    setattr(bulk, field, 0)
                bulk.started_at = None
                bulk.changed_at = bulk.created
            for bulk_id, status, n, first_start, attempts, last_finish, last_open, topic in rows:
                bulk = bulks.get(bulk_id)
                if bulk is None:
                    continue
                setattr(bulk, COUNTER_FIELDS[status], n)
                bulk.topic = bulk.topic or topic or ""
                if first_start is not None and (
                    bulk.started_at is None or first_start < bulk.started_at
                ):
                    bulk.started_at = first_start
                if attempts:
                    ran_unknown.add(bulk_id)
                for moment in (last_finish, last_open, first_start):
                    if moment is not None and moment > bulk.changed_at:
                        bulk.changed_at = moment
            # A retry clears an operation's started_at: for a bulk whose operations all
            # ran once but none shows when, its first `started` event says.
            ran_unknown = [pk for pk in ran_unknown if bulks[pk].started_at is None]
            if ran_unknown:
                starts = (
                    OperationEvent.objects.using(db)
                    .filter(kind="started", operation__bulk_id__in=ran_unknown)
                    .order_by()
                    .values_list("operation__bulk_id")
                    .annotate(first=Min("at"))
                )
                for bulk_id, first in starts:
                    bulks[bulk_id].started_at = first
                for pk in ran_unknown:
                    if bulks[pk].started_at is None:
                        bulks[pk].started_at = bulks[pk].created
            Bulk.objects.using(db).bulk_update(
                list(bulks.values()),
                [*COUNTER_FIELDS.values(), "topic", "started_at", "changed_at"],
                batch_size=100,
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("operations", "0003_bulk_counters"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
