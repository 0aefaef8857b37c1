"""The fetcher gate's log line: INFO once per run (its first batch), DEBUG for the run's
other batches, so a nightly run over many sources does not repeat it per source while the
run's logs (Prefect's included) still show it once."""

from __future__ import annotations

import logging

from sqlalchemy import create_engine

from hubwatch.crawl.politeness import host_gate_for

LOGGER = "hubwatch.crawl.politeness"


def test_announce_picks_the_level(caplog):
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none")  # never connected
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    host_gate_for([], 1.5, engine)
    host_gate_for([], 1.5, engine, announce=False)
    levels = [r.levelno for r in caplog.records if r.name == LOGGER]
    assert levels == [logging.INFO, logging.DEBUG]
    assert caplog.records[0].getMessage() == "cross-process politeness on for 0 hosts (default delay 1.50 s)"
    engine.dispose()
