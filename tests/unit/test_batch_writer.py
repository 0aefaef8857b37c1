"""import-warc's writer thread (pipeline.ingest._BatchWriter): batches are written one at a
time in the order given, while the caller goes on; a failed write is raised in the caller
at its next hand-over or when the block ends, and nothing is written after it."""

from __future__ import annotations

import threading

import pytest

from hubwatch.pipeline.ingest import _BatchWriter


def test_batches_are_written_in_order_while_the_caller_goes_on():
    written, started, release = [], threading.Event(), threading.Event()

    def write(batch):
        if batch == [1]:
            started.set()
            assert release.wait(10)
        written.append(list(batch))

    with _BatchWriter(write) as writer:
        writer.write([1])
        assert started.wait(10)
        filled = [2, 3]  # the caller fills the next batch while [1] is being written
        assert written == []
        release.set()
        writer.write(filled)
        writer.write([])  # an empty batch writes nothing
    assert written == [[1], [2, 3]]


def test_a_failed_write_is_raised_at_the_next_hand_over():
    written = []

    def write(batch):
        if batch == ["bad"]:
            raise ConnectionError("database gone")
        written.append(batch)

    writer = _BatchWriter(write)
    with pytest.raises(ConnectionError, match="database gone"), writer:
        writer.write(["bad"])
        writer.write(["next"])
    assert written == []


def test_a_failed_last_write_is_raised_when_the_block_ends():
    def write(batch):
        raise ConnectionError("lost at the end")

    with pytest.raises(ConnectionError, match="lost at the end"), _BatchWriter(write) as writer:
        writer.write(["last"])


def test_leaving_on_an_error_waits_for_the_write_under_way():
    written, release = [], threading.Event()

    def write(batch):
        assert release.wait(10)
        written.append(batch)

    with pytest.raises(KeyError), _BatchWriter(write) as writer:
        writer.write(["under way"])
        release.set()
        raise KeyError("the caller fails")
    assert written == [["under way"]]  # finished, not abandoned half-way
