"""Open a local HTML file in headless Chromium over the DevTools protocol: console
errors, a screenshot and a value computed in the page (for the briefing test).

Skips (pytest) when no ``chromium`` is installed. Every host name resolves to nothing,
so a page that needs the network shows it as a console error.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass
class PageLoad:
    errors: list[str]
    screenshot: bytes
    value: object


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium installed (apt-get install chromium)")


def open_page(path: Path, profile: Path, expression: str, timeout: float = 60) -> PageLoad:
    """Load ``path``, wait for its load event, evaluate ``expression`` (JSON-returning
    JavaScript), take a screenshot; return them with every console or log error."""
    from websockets.sync.client import connect

    proc = subprocess.Popen(
        [_browser(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--remote-debugging-port=0", f"--user-data-dir={profile}",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,2000", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = _port(profile / "DevToolsActivePort", timeout)
        target = next(t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json()
                      if t["type"] == "page")
        with connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
            return _drive(ws, path, expression, timeout)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _port(marker: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        time.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


def _drive(ws, path: Path, expression: str, timeout: float) -> PageLoad:
    ids = iter(range(1, 10_000))
    errors: list[str] = []

    def call(method: str, **params):
        my_id = next(ids)
        ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(ws.recv(timeout=timeout))
            if message.get("id") == my_id:
                return message.get("result", {})
            _note(message, errors)

    for domain in ("Runtime", "Log", "Page"):
        call(f"{domain}.enable")
    call("Page.navigate", url=path.resolve().as_uri())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=timeout))
        _note(message, errors)
        if message.get("method") == "Page.loadEventFired":
            break
    value = call("Runtime.evaluate", expression=expression, returnByValue=True)
    shot = call("Page.captureScreenshot", format="png")
    return PageLoad(errors, base64.b64decode(shot["data"]),
                    json.loads(value["result"]["value"]))


def _note(message: dict, errors: list[str]) -> None:
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.exceptionThrown":
        errors.append(json.dumps(params["exceptionDetails"])[:500])
    elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
        errors.append(json.dumps(params.get("args"))[:500])
    elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
        errors.append(params["entry"].get("text", "")[:500])
