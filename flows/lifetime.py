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

import ctypes
import functools
import signal
import threading
import types

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
