"""The one backoff helper of every retry loop: how long each loop waits, and when it gives up."""

from __future__ import annotations

import pytest

from queues.backoff import Backoff


def test_a_backoff_waits_nothing_first_then_doubles_up_to_its_longest_wait():
    backoff = Backoff(delay=0.5, max_delay=30)

    assert [backoff.pause_before(n) for n in range(1, 10)] == [0, 0.5, 1, 2, 4, 8, 16, 30, 30]


def test_a_backoff_without_attempts_never_gives_up_and_its_waits_stay_bounded():
    backoff = Backoff(delay=0.5, max_delay=30)

    assert not backoff.gives_up_after(10**6)
    assert backoff.pause_before(10**6) == 30
    with pytest.raises(ValueError, match="waits for ever"):
        backoff.waits()


def test_a_bounded_backoff_lists_its_waits_and_gives_up_after_the_last_attempt():
    backoff = Backoff(delay=0.1, max_delay=2, attempts=4, factor=5)

    assert backoff.waits() == [0.1, 0.5, 2.0]
    assert [backoff.gives_up_after(n) for n in (1, 2, 3, 4)] == [False, False, False, True]


def test_a_single_attempt_backoff_never_waits():
    backoff = Backoff(delay=1, max_delay=5, attempts=1)

    assert backoff.waits() == []
    assert backoff.gives_up_after(1)


def test_a_constant_backoff_waits_the_same_every_time():
    assert [Backoff(delay=5, max_delay=5).pause_before(n) for n in (2, 3, 50)] == [5, 5, 5]


@pytest.mark.parametrize(
    "options",
    [
        {"delay": -1, "max_delay": 1},
        {"delay": 2, "max_delay": 1},
        {"delay": 1, "max_delay": 2, "factor": 0.5},
        {"delay": 1, "max_delay": 2, "attempts": 0},
    ],
    ids=["negative delay", "delay above max", "shrinking", "no attempt"],
)
def test_a_backoff_that_makes_no_sense_is_refused(options):
    with pytest.raises(ValueError):
        Backoff(**options)


# -- each retry loop's waits ----------------------------------------------------------


def test_a_consumer_reconnects_after_half_a_second_then_doubling_up_to_30_s_for_ever():
    from queues.consumer import RECONNECT_BACKOFF

    assert [RECONNECT_BACKOFF.pause_before(n) for n in range(2, 10)] == [
        0.5,
        1,
        2,
        4,
        8,
        16,
        30,
        30,
    ]
    assert not RECONNECT_BACKOFF.gives_up_after(10_000)


def test_the_publisher_sends_four_times_waiting_a_tenth_half_and_two_seconds():
    from queues.publisher import SEND_BACKOFF

    assert SEND_BACKOFF.waits() == [0.1, 0.5, 2.0]


def test_a_rabbitmq_link_rides_out_about_28_s_in_ten_attempts_by_default():
    from queues.transports.amqp import Backoff as AmqpBackoff

    waits = AmqpBackoff().waits()

    assert waits == [0.25, 0.5, 1, 2, 4, 5, 5, 5, 5]
    assert sum(waits) == pytest.approx(27.75)
    assert AmqpBackoff(attempts=1).waits() == [], "a probe tries once"


def test_the_runner_restarts_a_crashed_consumer_after_1_2_4_s_up_to_its_max_backoff():
    from queues.registry import Registry
    from queues.runner import Runner

    runner = Runner(options={"consumers": [], "max_backoff": 10}, registry=Registry())

    assert [runner.crash_backoff.pause_before(crashes + 1) for crashes in range(1, 7)] == [
        1,
        2,
        4,
        8,
        10,
        10,
    ]


def test_the_embedded_server_restarts_a_crashed_consumer_after_5_s_every_time():
    from queues.embedded import CRASH_BACKOFF

    assert [CRASH_BACKOFF.pause_before(crashes + 1) for crashes in (1, 2, 10)] == [5, 5, 5]
