"""Stopping a run early (SIGTERM, SIGINT) without losing what it finished.

A :class:`Cancellation` is a run's stop signal, shared by every batch of that run in this
process (:func:`for_run`). Setting it runs the callbacks registered by whoever holds work
that must be cut short: fetchers shut their open sockets, the parse pool kills its
workers. Batches check it before each page; a page in flight is dropped unrecorded (the
next run redoes it), so every snapshot a cancelled run wrote is a finished fetch.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class Cancellation:
    """A stop signal with callbacks; thread-safe and safe to set from a signal handler."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], object]] = []
        self.reason: str | None = None

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self, reason: str = "cancelled") -> None:
        """Stop: record ``reason`` and run every registered callback once."""
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - one failing callback must not stop the others
                log.exception("cancel callback %r failed", callback)

    def register(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on cancellation (at once if already set); registered once."""
        with self._lock:
            already = self._event.is_set()
            if not already and callback not in self._callbacks:
                self._callbacks.append(callback)
        if already:
            callback()

    @contextmanager
    def on_cancel(self, callback: Callable[[], object]) -> Iterator[None]:
        """Run ``callback`` on cancellation while the block runs (at once if already set)."""
        with self._lock:
            already = self._event.is_set()
            if not already:
                self._callbacks.append(callback)
        if already:
            callback()
        try:
            yield
        finally:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)


_runs: dict[int, Cancellation] = {}
_runs_lock = threading.Lock()


def for_run(run_id: int | None) -> Cancellation:
    """The cancellation of run ``run_id`` in this process (a fresh one for ``None``)."""
    if run_id is None:
        return Cancellation()
    with _runs_lock:
        return _runs.setdefault(run_id, Cancellation())


def forget(run_id: int) -> None:
    with _runs_lock:
        _runs.pop(run_id, None)


@contextmanager
def stop_on_signals(cancellation: Cancellation) -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT set ``cancellation`` instead of killing the
    process. On leaving, the previous handlers come back and, if a signal came,
    ``SystemExit(128 + signal)`` is raised: the exit status a shell expects of a process
    ended by that signal. Only the main thread can take signals; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum, frame):  # noqa: ARG001 - signal handler protocol
        if not received:
            received.append(signum)
            log.warning("%s received: cancelling the run", signal.Signals(signum).name)
            cancellation.set(f"cancelled by {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if received:
        raise SystemExit(128 + received[0])
