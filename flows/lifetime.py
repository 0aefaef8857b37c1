"""Prefect's temporary API server ends with the hubwatch process that needed it.

Without ``PREFECT_API_URL`` Prefect starts a temporary API server (uvicorn) as a child
process on first use and stops it at interpreter exit (``atexit``). A process killed
with SIGKILL runs no ``atexit``, so the server would stay behind, orphaned. Here that
server is started by hubwatch, from the main thread, before the flow runs, with
``PR_SET_PDEATHSIG`` set in the child: the kernel sends it SIGTERM when the thread that
started it ends, i.e. when the command ends, however it ends. The death signal belongs
to the starting *thread*, which is why it must be the main thread and not one of
Prefect's background workers (events, logs) that may otherwise start it first.

Prefect keeps one ``SubprocessASGIServer`` per port (``None``: any free port); every
later use in the process finds this running instance and starts nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import threading
import types
from collections.abc import Iterator

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start_temporary_server() -> bool:
    """Start Prefect's temporary API server tied to this process, if one will be needed.

    Does nothing (returns False) when ``PREFECT_API_URL`` names a server, when the
    temporary server is disabled, or when not called from the main thread.
    Returns True when the temporary server runs, started here.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    # Imported only when a temporary server is wanted: the server's modules (FastAPI,
    # its ORM) take seconds to import that a command using a running server never needs.
    from prefect.server.api import server as server_module

    server = server_module.SubprocessASGIServer()
    if server.running:
        return True
    real = server_module.subprocess
    # Prefect's module calls ``subprocess.Popen``: for this one start it sees a copy of
    # the module whose Popen sets the death signal in the child.
    shim = types.ModuleType("subprocess")
    shim.__dict__.update(real.__dict__)
    shim.Popen = functools.partial(real.Popen, preexec_fn=_die_with_parent)
    server_module.subprocess = shim
    try:
        server.start()
    finally:
        server_module.subprocess = real
    return True


@contextlib.contextmanager
def command_flow_settings() -> Iterator[None]:
    """Prefect settings for a flow a CLI command runs in its own process, in force inside.

    No flow-run heartbeats unless ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` is set: the sync
    engine's heartbeat thread sleeps in one-second steps and the run waits for it to
    notice the end (up to 1 s per command), while the heartbeats serve automations that
    mark runs of lost workers crashed; a command's run is its own process, and hubwatch's
    run-liveness lock (hubwatch.models.runs) closes the ``crawl_run`` of a dead one.
    """
    if os.environ.get("PREFECT_FLOWS_HEARTBEAT_FREQUENCY"):
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


#: The modules a flow run in this process needs: the flows' Prefect imports, the engine,
#: and what the engine imports on first use (FastAPI's encoder serialises the flow's
#: parameters; visualisation, anyio's backend, OpenTelemetry's API).
_FLOW_MODULES = ("prefect", "prefect.flows", "prefect.tasks", "prefect.flow_engine",
                 "prefect.task_engine", "prefect.artifacts", "prefect.runtime",
                 "prefect.task_runners", "prefect.states", "prefect.client.orchestration",
                 "fastapi.encoders", "prefect.utilities.visualization",
                 "anyio._backends._asyncio", "opentelemetry.metrics", "opentelemetry._logs")


def import_prefect_in_background() -> threading.Thread:
    """Start importing Prefect's flow engine in a daemon thread; ``join()`` it before
    importing the flows.

    Prefect takes seconds of CPU to import; a command spends about as long waiting for its
    database (the embedded server's start, the migration check). The thread runs while
    the command's main thread waits. Its modules are Prefect's own: the main thread
    imports none of them meanwhile (the few both need are imported first), so the two
    never wait on each other's imports. Any
    error is left for the main thread's own import to raise. Call it once Prefect's
    settings are final (``PREFECT_API_URL`` set): Prefect reads them at import.
    """
    # Modules both sides import (measured: Alembic's and Prefect's shared dependencies) are
    # imported here first, so no module is ever imported by the two threads at once.
    import configparser  # noqa: F401
    import email.parser  # noqa: F401
    import queue  # noqa: F401
    import timeit  # noqa: F401
    import tomllib  # noqa: F401

    import pygments.lexer  # noqa: F401
    import pygments.lexers  # noqa: F401
    import pygments.style  # noqa: F401
    import pygments.styles  # noqa: F401

    def load() -> None:
        import importlib

        for name in _FLOW_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # the flows' own import raises it where it is handled
                return

    thread = threading.Thread(target=load, name="hubwatch-import-prefect", daemon=True)
    thread.start()
    return thread
