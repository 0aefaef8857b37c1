"""A batch's counts travel to its run as plain values and add up there."""

from __future__ import annotations

import dataclasses
import json

from hubwatch.pipeline.ingest import RunCounts


def test_every_count_round_trips_through_state_and_merge():
    batch = RunCounts()
    numbers = [f.name for f in dataclasses.fields(batch)
               if not f.name.startswith("_") and f.type in ("int", int)]
    assert len(numbers) >= 10  # new_documents ... not_due
    batch.add(**{name: i + 1 for i, name in enumerate(numbers)})
    batch.count("ok", ["gba", "gba"])
    batch.count("bad_feed", discovery=True)
    state = json.loads(json.dumps(batch.state()))  # plain values: survives any task runner

    run = RunCounts()
    run.merge(state)
    run.merge(state)
    assert {name: getattr(run, name) for name in numbers} == {
        name: 2 * (i + 1) for i, name in enumerate(numbers)}
    assert run.outcomes == {"ok": 2} and run.discovery_outcomes == {"bad_feed": 2}
    assert run.mentions == {"gba": 4}
    assert run.as_dict()["errors"] == 2 and run.as_dict()["pages_fetched"] == 2
