"""The flow commands' progress count: ``done`` while the total is unknown, ``done/total``
once discovery says, and ``none due`` when it found nothing to fetch (a bare ``0/0`` read as
if the run had done nothing, or hung)."""

from __future__ import annotations

from rich.progress import Progress

from hubwatch.cli.main import _CountColumn


def _shown(total, completed) -> str:
    with Progress(disable=True) as progress:
        task = progress.add_task("nightly", total=total, completed=completed)
        return _CountColumn().render(progress.tasks[task]).plain


def test_counts_as_discovery_goes():
    assert _shown(None, 3) == "3"
    assert _shown(12, 5) == "5/12"
    assert _shown(0, 0) == "none due"
