"""Values produced in a forked child process come back in batches, in order; what the
producer raises is raised in the parent after the batches before it."""

import os

import pytest

from exam_portal.services.platform import child_process
from question_bank.formats.limits import UnreadableFile


def test_values_come_back_in_batches_in_order_from_another_process():
    parent = os.getpid()
    batches = list(child_process.batches(lambda: ((n, os.getpid()) for n in range(7)), 3))
    assert [[n for n, _pid in batch] for batch in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    assert {pid for batch in batches for _n, pid in batch} - {parent}, "not read elsewhere"


def test_an_error_is_raised_after_the_batches_before_it_with_its_values():
    def produce():
        yield from range(4)
        raise UnreadableFile("超过 %(n)d 道", n=4)

    received = []
    with pytest.raises(UnreadableFile) as raised:
        for batch in child_process.batches(produce, 2):
            received.append(batch)
    assert received == [[0, 1], [2, 3]]
    assert (raised.value.message, raised.value.params) == ("超过 %(n)d 道", {"n": 4})


def test_an_error_that_cannot_be_sent_arrives_as_its_text():
    class Local(Exception):  # a class pickle cannot find by name
        pass

    def produce():
        raise Local("坏了")
        yield

    with pytest.raises(RuntimeError, match="Local: 坏了"):
        list(child_process.batches(produce, 2))


def test_a_consumer_that_stops_early_leaves_no_process_behind():
    reading = child_process.batches(lambda: iter(range(10**9)), 1000)
    assert next(reading) == list(range(1000))
    reading.close()
    import multiprocessing

    assert multiprocessing.active_children() == []


def test_nothing_produced_is_no_batch():
    assert list(child_process.batches(lambda: iter(()), 5)) == []
