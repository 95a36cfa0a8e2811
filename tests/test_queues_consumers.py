"""Running consumers: the commands, signals, single instances, restarts, crashes (db transport)."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from queues import processes
from queues.consumer import ConsumerRuntime
from queues.exceptions import ConsumerAlreadyRunning
from queues.models import ConsumerProcess, QueueMessage
from tests.fixtures.queues import wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def registered(name: str) -> ConsumerProcess | None:
    return ConsumerProcess.objects.filter(name=name, stopped_at__isnull=True).first()


def test_max_messages_makes_the_consumer_exit_zero_and_leaves_the_rest(
    subprocess_topology, manage_py
):
    topo = subprocess_topology
    topo.publish(3)

    done = manage_py.run(
        "queue_consumers_start", topo.consumer, "--max-messages", "2", env=topo.env()
    )

    assert done.returncode == 0, done.stdout
    assert len(topo.traces()) == 2
    assert topo.waiting() == 1
    assert "2 processed" in done.stdout


def test_max_idle_time_makes_the_consumer_exit_zero_when_nothing_comes(
    subprocess_topology, manage_py
):
    topo = subprocess_topology
    started = time.monotonic()

    done = manage_py.run(
        "queue_consumers_start", topo.consumer, "--max-idle-time", "0.5", env=topo.env()
    )

    assert done.returncode == 0, done.stdout
    assert "max_idle_time" in done.stdout
    assert time.monotonic() - started < 15


def test_sigterm_lets_the_current_message_finish_then_exits_cleanly(subprocess_topology, manage_py):
    topo = subprocess_topology
    topo.publish(3, sleep=1.0)
    proc = manage_py.start("queue_consumers_start", topo.consumer, env=topo.env())
    wait_for(lambda: QueueMessage.objects.filter(queue=topo.queue, status="claimed").exists())
    time.sleep(0.3)  # inside the first message's handler

    proc.send_signal(signal.SIGTERM)

    assert proc.wait(timeout=20) == 0
    assert len(topo.traces()) == 1, "the message in hand was finished, no other was started"
    assert topo.waiting() == 2, "the rest were given back at once, not after the visibility timeout"
    row = ConsumerProcess.objects.get(name=topo.consumer)
    assert row.stopped_at is not None and row.exit_reason == "SIGTERM"


def test_single_thread_refuses_a_second_instance_with_a_clear_message(
    subprocess_topology, manage_py
):
    topo = subprocess_topology
    manage_py.start("queue_consumers_start", topo.consumer, env=topo.env())
    first = wait_for(lambda: registered(topo.consumer))

    second = manage_py.run(
        "queue_consumers_start",
        topo.consumer,
        "--single-thread",
        "--max-idle-time",
        "1",
        env=topo.env(),
    )

    assert second.returncode != 0
    assert f"consumer '{topo.consumer}' is already running (pid {first.pid}" in second.stdout
    assert "--single-thread" in second.stdout


def test_single_thread_starts_when_the_earlier_instance_died(subprocess_topology, manage_py):
    topo = subprocess_topology
    proc = manage_py.start("queue_consumers_start", topo.consumer, env=topo.env())
    wait_for(lambda: registered(topo.consumer))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    call_command(
        "queue_consumers_start", topo.consumer, "--single-thread", "--max-idle-time", "0.2"
    )

    assert (
        ConsumerProcess.objects.filter(name=topo.consumer, exit_reason="max_idle_time").count() == 1
    )


def test_single_thread_in_process_raises_already_running(subprocess_topology):
    processes.register(subprocess_topology.consumer, "db")  # this very process, alive

    with pytest.raises(CommandError, match="already running"):
        call_command(
            "queue_consumers_start",
            subprocess_topology.consumer,
            "--single-thread",
            "--max-idle-time",
            "1",
        )
    with pytest.raises(ConsumerAlreadyRunning):
        ConsumerRuntime(subprocess_topology.consumer, single_instance=True).run()


def test_an_unknown_consumer_name_is_a_command_error(queue_registry):
    with pytest.raises(CommandError, match="no consumer named 'nope'"):
        call_command("queue_consumers_start", "nope")


def test_restart_makes_running_consumers_exit_after_their_message(subprocess_topology, manage_py):
    topo = subprocess_topology
    proc = manage_py.start("queue_consumers_start", topo.consumer, env=topo.env())
    wait_for(lambda: registered(topo.consumer))

    call_command("queue_consumers_restart")

    assert proc.wait(timeout=20) == 0
    assert ConsumerProcess.objects.get(name=topo.consumer).exit_reason == "restart"
    # A consumer started after the restart request is not affected by it.
    later = processes.register(topo.consumer, "db")
    assert not processes.heartbeat(later, 0, 0)


def test_a_consumer_killed_mid_batch_loses_nothing_and_processes_nothing_twice(
    subprocess_topology, manage_py
):
    topo = subprocess_topology
    ids = topo.publish(40, sleep=0.02)
    env = topo.env(QUEUE_DB_VISIBILITY_TIMEOUT="1", QUEUE_DB_CLAIM_BATCH="20")
    victim = manage_py.start("queue_consumers_start", topo.consumer, env=env)
    wait_for(lambda: len(topo.traces()) >= 5)

    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    assert QueueMessage.objects.filter(queue=topo.queue, status="claimed").exists(), (
        "it died holding a batch"
    )

    survivor = manage_py.run(
        "queue_consumers_start", topo.consumer, "--max-idle-time", "2.5", env=env
    )

    assert survivor.returncode == 0, survivor.stdout
    assert Counter(topo.traces()) == Counter(ids), "every message processed exactly once"
    assert set(QueueMessage.objects.filter(queue=topo.queue).values_list("status", flat=True)) == {
        "done"
    }


def test_consumers_list_shows_queue_handler_batch_waiting_and_running(subprocess_topology, capsys):
    topo = subprocess_topology
    topo.publish(2)
    processes.register(topo.consumer, "db")

    call_command("queue_consumers_list")

    line = next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith(topo.consumer)
    )
    assert line.split() == [
        topo.consumer,
        topo.queue,
        "db",
        "tests.fixtures.queues_topology.record",
        "1",  # its declared batch size
        "2",
        "1",
    ]


def test_queue_setup_dry_run_prints_the_topology(subprocess_topology, capsys):
    call_command("queue_setup", "--dry-run")

    out = capsys.readouterr().out
    assert (
        f"queue {subprocess_topology.queue} (dead letters: {subprocess_topology.queue}.dlq)" in out
    )
    assert "work.#" in out and "dry run" in out
