"""Page extraction in reusable worker processes, under a deadline and a memory limit.

libxml2 is quadratic in the attributes of one tag (one tag with 100,000 attributes took
48 s, 10^6 never ended), and a thread cannot be stopped inside C code. So
:func:`hubwatch.text.extract.parse_page` runs in child processes: the parent waits at
most ``deadline`` seconds for an answer, then kills the child (SIGKILL) and starts a
fresh one on the next call; the child runs under ``RLIMIT_AS`` (a ``MemoryError`` in
there is an answer, not a crash) and ``RLIMIT_CPU`` (a backstop should the parent die
while the child is busy). Either limit ends the page as ``parse_limit``.

Children are plain ``python -m hubwatch.text.worker`` processes (not multiprocessing:
no re-import of the caller's ``__main__``, no fork of a threaded parent), reused for
many pages; messages are pickles over their stdin/stdout pipes. Each costs about one
interpreter start (0.3-0.5 s) once, and about a millisecond per page in pickling.
The main text is cut to ``max_text_chars`` in the child (see :class:`Parsed`); given a
watch-list, the child also matches its mentions in the cut text (the parent then only
writes). A worker is sent a watch-list once, then reuses its matcher for every page of that
revision.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from hubwatch.config.settings import ParseSettings
from hubwatch.outcomes import Outcome
from hubwatch.text.extract import ExtractError, Page

if TYPE_CHECKING:
    from hubwatch.config.watchlist import Watchlist

_MIB = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    """Bounds of one page's extraction: ``deadline`` wall-clock seconds, ``memory_mb``
    MiB of address space per worker, ``workers`` processes at once, ``max_text_chars``
    characters of main text kept."""

    # Defaults are the settings' (HUBWATCH_PARSE_*, HUBWATCH_MAX_TEXT_CHARS), defined once there.
    deadline: float = ParseSettings.model_fields["parse_deadline_seconds"].default
    memory_mb: int = ParseSettings.model_fields["parse_memory_mb"].default
    workers: int = ParseSettings.model_fields["parse_workers"].get_default(call_default_factory=True)
    max_text_chars: int = ParseSettings.model_fields["max_text_chars"].default

    @classmethod
    def from_settings(cls, p: ParseSettings, **overrides) -> ParseLimits:
        """The limits ``settings.parse`` sets (``overrides`` replace single fields)."""
        return replace(cls(deadline=p.parse_deadline_seconds, memory_mb=p.parse_memory_mb,
                           workers=p.parse_workers, max_text_chars=p.max_text_chars), **overrides)


@dataclass(frozen=True)
class Parsed:
    """A page and how long its main text was before the cut (``text_chars``): more than
    ``len(page.text)`` when the text was cut at ``max_text_chars``."""

    page: Page
    text_chars: int
    #: the page's mentions (title and cut main text) when a watch-list was given, else None
    mentions: list | None = None

    @property
    def text_cut(self) -> bool:
        return self.text_chars > len(self.page.text)


class WorkerCrashed(RuntimeError):
    """The worker raised something other than ``ExtractError`` (a bug of ours)."""


class ParseCancelled(RuntimeError):
    """The pool was closed (the run is stopping) while this page was being parsed."""


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        self.revision: str | None = None  # the watch-list revision its matcher has
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hubwatch.text.worker", str(memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        self.to_child = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.from_child = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for conn in (self.to_child, self.from_child):
            conn.close()


class ParsePool:
    """Up to ``limits.workers`` worker processes shared by the threads of a run.

    :meth:`parse` takes the arguments of ``parse_page`` and returns a :class:`Parsed`, or
    raises ``ExtractError`` (its outcomes, plus ``parse_limit`` past the deadline or the
    memory limit), ``WorkerCrashed`` or ``ParseCancelled``. Thread-safe.
    """

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(limits.workers)
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def parse(self, body: bytes, *, url: str | None, content_type: str | None,
              fetched_at: datetime, site_timezone: str = "Asia/Shanghai",
              watchlist: tuple[str, Watchlist] | None = None) -> Parsed:
        """Parse one page in a worker; ``watchlist``: ``(revision, watch-list)`` to also
        match its mentions there (``Parsed.mentions``), as ``Matcher(watchlist)`` would."""
        job = dict(body=body, url=url, content_type=content_type,
                   fetched_at=fetched_at, site_timezone=site_timezone,
                   max_text_chars=self.limits.max_text_chars)
        return _unpack(self._run(job, watchlist), self.limits)

    def match(self, title: str | None, text: str | None, watchlist: tuple[str, Watchlist]) -> list:
        """``Matcher(watchlist).find(title, text)`` in a worker (``watchlist``: ``(revision,
        watch-list)``). Raises ``WorkerCrashed`` (also past the deadline or memory limit:
        matching is linear, so that is a bug), ``ParseCancelled``."""
        answer = self._run(dict(match=(title, text)), watchlist)
        if answer[0] != "ok":
            raise WorkerCrashed(f"{answer[1]}: {answer[2]}")
        return answer[3]

    def _run(self, job: dict, watchlist: tuple[str, Watchlist] | None) -> tuple:
        """One job on an idle (or new) worker, the watch-list sent along if it lacks it."""
        job["cpu_seconds"] = int(self.limits.deadline) + 2
        with self._slots:
            worker = self._take()
            try:
                if watchlist is not None:
                    job["revision"] = watchlist[0]
                    if worker.revision != watchlist[0]:  # sent once per worker and revision
                        job["watchlist"] = watchlist[1]
                answer = self._ask(worker, pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
                if watchlist is not None and answer[0] != "crash":  # its matcher is built
                    worker.revision = watchlist[0]
            finally:
                self._give_back(worker)
        return answer

    def prestart(self, count: int = 1) -> None:
        """Start workers now until the pool has ``count`` (at most ``limits.workers``): their
        interpreter start and imports (about a second of CPU each) then run in parallel
        with the caller's own start-up instead of delaying the first pages. Does nothing
        on a closed pool."""
        with self._lock:
            if self._closed:
                return
            missing = min(count, self.limits.workers) - len(self._busy) - self._idle.qsize()
        for _ in range(missing):
            self._idle.put(_Worker(self.limits.memory_mb))

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise ParseCancelled("the parse pool is closed")
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                worker = _Worker(self.limits.memory_mb)
            if worker.alive():
                break
            worker.kill()  # died while idle (e.g. exited after a MemoryError): replace it
        with self._lock:
            self._busy.add(worker)
        return worker

    def _ask(self, worker: _Worker, job: bytes) -> tuple:
        started = time.monotonic()
        try:
            worker.to_child.send_bytes(job)
            if worker.from_child.poll(self.limits.deadline):
                return pickle.loads(worker.from_child.recv_bytes())
        except (EOFError, OSError):
            pass  # the child died: by a limit, or killed by close()
        with self._lock:
            closed = self._closed
        worker.kill()
        if closed:
            raise ParseCancelled("the run is stopping")
        code = worker.proc.returncode
        if code is None or code == -9 or time.monotonic() - started >= self.limits.deadline:
            return ("error", Outcome.PARSE_LIMIT.value,
                    f"parsing took over {self.limits.deadline:g} s (worker killed)")
        return ("error", Outcome.PARSE_LIMIT.value,
                f"parse worker ended by {_exit_reason(code)} (memory limit "
                f"{self.limits.memory_mb} MiB, CPU limit {int(self.limits.deadline) + 2} s)")

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            closed = self._closed
        if worker.alive() and not closed:
            self._idle.put(worker)
        else:
            worker.kill()

    def close(self) -> None:
        """Kill every worker, busy ones included (their callers get ``ParseCancelled``)."""
        with self._lock:
            self._closed = True
            busy = list(self._busy)
        for worker in busy:
            if worker.proc.poll() is None:
                worker.proc.kill()
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                break


def _exit_reason(code: int) -> str:
    if code < 0:
        import signal

        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def _unpack(answer: tuple, limits: ParseLimits) -> Parsed:
    kind = answer[0]
    if kind == "ok":
        return Parsed(answer[1], answer[2], answer[3])
    if kind == "error":
        raise ExtractError(answer[1], answer[2])
    raise WorkerCrashed(f"{answer[1]}: {answer[2]}")


_shared: dict[ParseLimits, ParsePool] = {}
_shared_lock = threading.Lock()


def shared_pool(limits: ParseLimits) -> ParsePool:
    """The process's pool for these limits (created on first use, closed at exit), so that
    every run and test in one process reuses the same few workers."""
    with _shared_lock:
        pool = _shared.get(limits)
        if pool is None or pool._closed:
            pool = _shared[limits] = ParsePool(limits)
        return pool


@atexit.register
def _close_shared() -> None:
    with _shared_lock:
        pools = list(_shared.values())
    for pool in pools:
        pool.close()


# -- the child ---------------------------------------------------------------------------

def cut_text(page: Page, max_chars: int) -> Page:
    """``page`` with its main text cut to at most ``max_chars`` characters, at the last
    paragraph break before the limit when there is one (mention offsets stay valid)."""
    if len(page.text) <= max_chars:
        return page
    cut = page.text.rfind("\n\n", 0, max_chars + 1)
    return replace(page, text=page.text[:cut if cut > 0 else max_chars])


def _serve(conn_in: Connection, conn_out: Connection) -> None:
    matchers: dict[str, object] = {}  # revision -> Matcher (the latest one only)
    while True:
        try:
            job = pickle.loads(conn_in.recv_bytes())
        except EOFError:
            return  # the parent is gone
        used = resource.getrusage(resource.RUSAGE_SELF)
        soft = int(used.ru_utime + used.ru_stime) + job.pop("cpu_seconds")
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
        fatal = False
        try:
            answer = _answer(job, matchers)
        except ExtractError as exc:
            answer = ("error", exc.outcome, exc.message)
        except MemoryError:
            answer, fatal = ("error", Outcome.PARSE_LIMIT.value, "over the parse worker's memory limit"), True
        except RecursionError:
            answer = ("error", Outcome.PARSE_LIMIT.value, "nesting too deep for the extractor")
        except Exception as exc:  # noqa: BLE001 - reported to the parent with its type
            answer = ("crash", type(exc).__name__, str(exc)[:1000])
        del job
        conn_out.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
        if fatal:
            return  # a MemoryError may leave the heap fragmented: start afresh


def _answer(job: dict, matchers: dict) -> tuple:
    """``("ok", page cut, its text's length, mentions or None)`` for a parse job,
    ``("ok", None, 0, mentions)`` for a match job (``match=(title, text)``)."""
    from hubwatch.text.extract import parse_page

    matcher = _matcher(matchers, job.pop("revision", None), job.pop("watchlist", None))
    if "match" in job:  # a stored text matched again (reprocess)
        return ("ok", None, 0, matcher.find(*job["match"]))
    limit = job.pop("max_text_chars")
    page = parse_page(**job)
    kept = cut_text(page, limit)
    return ("ok", kept, len(page.text), matcher.find(kept.title, kept.text) if matcher else None)


def _matcher(matchers: dict, revision: str | None, watchlist: Watchlist | None):
    """The matcher of ``revision`` (built from ``watchlist`` when it comes along), or None."""
    if revision is None:
        return None
    if revision not in matchers:
        from hubwatch.mentions.match import Matcher

        matchers.clear()
        matchers[revision] = Matcher(watchlist)
    return matchers[revision]


def main(argv: list[str]) -> int:
    memory = int(argv[0]) * _MIB
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    conn_in = Connection(os.dup(0), writable=False)
    conn_out = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # a stray print must not corrupt the answers
    _serve(conn_in, conn_out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
