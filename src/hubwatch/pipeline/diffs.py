"""Keep ``version_diff`` current: the sentences each edit added and removed, computed for
every version pair that has no row for its present texts (new versions, backfilled
older ones, re-extracted texts).

Called by the flows at the end of every writing run, in the transaction that brings the
maintained views up to date; plain Python, so a test or a script can call it on a session too.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from hubwatch.models import diffs
from hubwatch.text.redline import changed_sentences

BATCH = 200  # pairs loaded (both texts) at a time: memory stays bounded on a backfill


def update_version_diffs(session: Session, documents: Sequence[int] | None = None) -> int:
    """Compute and store every missing or stale diff; returns how many were written.

    ``documents``: only the pairs of these document ids (a run passes the documents its
    analytics upkeep took from the queue, ``refresh_analytics(on_claimed=...)``: a few
    index lookups instead of a scan of every version); None: the whole corpus (a backlog,
    ``hubwatch db refresh-analytics --full``).

    The caller commits (one transaction with the upkeep that follows, so readers see
    the diffs and the views change together).
    """
    if documents is not None and not documents:
        return 0
    written = 0
    while True:
        pairs = diffs.pending_pairs(session, BATCH, documents=documents)
        for pair in pairs:
            added, removed = changed_sentences(pair.previous_text, pair.text)
            diffs.save_diff(session, pair, added, removed)
        written += len(pairs)
        if len(pairs) < BATCH:
            return written
