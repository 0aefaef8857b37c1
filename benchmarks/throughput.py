"""End-to-end throughput: extraction alone next to importing the same pages into PostgreSQL.

Usage: ``python benchmarks/throughput.py SHARED_DIR [--pages 2000] [--skip-import]
[--database-url postgresql://postgres@127.0.0.1:5432/postgres]``

Builds a WARC of N distinct pages from the real pages of SHARED_DIR (``corpus/policy``,
``corpus/eval``, ``corpus-news``): copy i of a page gets its own URL and title, and its
``rel=canonical`` and ``og:url`` point at that URL, so every copy is a document and a
version of its own. Then prints, side by side:

* extract-only pages/s (decode, extract, metadata, mentions) in one process, and in a
  process pool of one worker per core: the anchor every other figure is compared with;
* ``hubwatch import-warc`` of the file into a fresh database, the whole command (start-up
  included; the managed Prefect server already running, as for every import after a data
  folder's first command), with one parse worker (``HUBWATCH_PARSE_WORKERS=1``) and with the default (the
  cores): pages/s, its ratio to one process's extract-only rate, the command's peak RSS
  (MiB, from ``/usr/bin/time -v`` when present, else the child's maximum as ``getrusage``
  reports it), and the bytes each stored version costs (``pg_total_relation_size`` of
  ``document_version``, its TOAST and indexes included, over its rows) with the raw
  body's compression method. The database is a fresh embedded PostgreSQL, or, with
  ``--database-url`` (an administrator's URL), a fresh database on that server (dropped
  after).

The issue's bars (issue 15): import with the default workers at least 0.8x the anchor;
the pool's extract-only rate at least 1.6x the anchor.

Run by hand on a quiet machine; nothing here is a test.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

FETCHED = datetime(2026, 11, 1, tzinfo=UTC)
_TITLE = re.compile(rb"(<title[^>]*>)", re.I)
_CANONICAL = re.compile(rb"""(<link[^>]+rel=["']?canonical["']?[^>]*href=["'])[^"']*""", re.I)
_OG_URL = re.compile(rb"""(<meta[^>]+property=["']og:url["'][^>]*content=["'])[^"']*""", re.I)


def source_pages(shared: Path) -> list[bytes]:
    """The HTML bodies the copies are made from (gold files excluded)."""
    folders = [shared / "corpus" / "policy", shared / "corpus" / "eval", shared / "corpus-news"]
    paths = sorted(p for f in folders if f.is_dir() for p in f.rglob("*.html") if ".gold." not in p.name)
    return [p.read_bytes() for p in paths]


def distinct_copy(body: bytes, i: int, url: str) -> bytes:
    """``body`` as copy ``i`` at ``url``: its own title, canonical and og:url."""
    tag = f"copy {i} ".encode()
    body = _TITLE.sub(lambda m: m.group(1) + tag, body, count=1)
    body = _CANONICAL.sub(lambda m: m.group(1) + url.encode(), body)
    return _OG_URL.sub(lambda m: m.group(1) + url.encode(), body)


def build_warc(shared: Path, n: int, out: Path) -> list[tuple[str, bytes]]:
    """Write ``n`` response records to ``out`` (gzip WARC); return (url, body) pairs."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    bodies = source_pages(shared)
    pages = []
    with open(out, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for i in range(n):
            url = f"https://bench.example.org/{i // 100}/page-{i}.html"
            body = distinct_copy(bodies[i % len(bodies)], i, url)
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            when = (FETCHED + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                               http_headers=headers, warc_headers_dict={"WARC-Date": when})
            writer.write_record(record)
            pages.append((url, body))
    return pages


_MATCHER = None


def _extract_one(item: tuple[str, bytes]) -> int:
    """Decode, extract and match one page; the number of mentions (work that must happen)."""
    global _MATCHER
    from hubwatch.text.extract import ExtractError, parse_page

    if _MATCHER is None:
        from hubwatch.config.settings import get_settings
        from hubwatch.config.watchlist import load_watchlist
        from hubwatch.mentions.match import Matcher

        _MATCHER = Matcher(load_watchlist(get_settings().watchlist_file))
    url, body = item
    try:
        page = parse_page(body, url=url, content_type="text/html", fetched_at=FETCHED)
    except ExtractError:
        return 0
    return len(_MATCHER.find(page.title, page.text))


def extract_rate(pages, workers: int) -> float:
    """Pages per second of extract-only over ``pages`` with ``workers`` processes (1: inline)."""
    started = time.perf_counter()
    if workers == 1:
        for item in pages:
            _extract_one(item)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_extract_one, pages, chunksize=16))
    return len(pages) / (time.perf_counter() - started)


STORAGE = """
SELECT pg_total_relation_size('document_version') / greatest(count(*), 1),
       (SELECT CASE attcompression WHEN 'l' THEN 'lz4' WHEN 'p' THEN 'pglz' ELSE
               current_setting('default_toast_compression') END
        FROM pg_attribute WHERE attrelid = 'document_version'::regclass AND attname = 'raw_body')
FROM document_version
"""


def _storage(env: dict[str, str]) -> tuple[int, str]:
    """(bytes per stored version, raw_body compression) of the database ``env`` names."""
    code = ("import sqlalchemy as sa\nfrom hubwatch.models.db import database_url\n"
            "with sa.create_engine(database_url()).connect() as c:\n"
            f"    print(*c.execute(sa.text({STORAGE!r})).one())")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                         text=True).stdout.split()
    return int(out[0]), out[1]


def _fresh_database(admin_url: str | None, data: Path) -> tuple[dict[str, str], Callable[[], None]]:
    """The environment of a fresh hubwatch database and how to drop it afterwards."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(HUBWATCH_DATA_DIR=str(data / "pg"), PREFECT_HOME=str(data / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    hubwatch = [sys.executable, "-m", "hubwatch"]
    # The managed Prefect server's first start (a new SQLite database: 20-25 s) is a
    # once-per-data-folder cost, measured by benchmarks/command_start.py: started before
    # the timed import, which is then what every later import is.
    subprocess.run([*hubwatch, "server", "start"], env=env, check=True, capture_output=True)
    if admin_url is None:
        subprocess.run([*hubwatch, "db", "start"], env=env, check=True, capture_output=True)
        return env, lambda: subprocess.run([*hubwatch, "db", "stop"], env=env, capture_output=True)
    import sqlalchemy as sa

    name = f"hw_bench_{os.getpid()}_{data.name[-6:].lower()}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                             "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"))
    env["DATABASE_URL"] = str(sa.engine.make_url(admin_url).set(database=name)
                              .render_as_string(hide_password=False))

    def drop() -> None:
        subprocess.run([*hubwatch, "server", "stop"], env=env, capture_output=True)
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return env, drop


def import_rate(warc: Path, n: int, env_extra: dict[str, str], admin_url: str | None = None
                ) -> tuple[float, float, int, str]:
    """(pages/s, peak RSS MiB, bytes per stored version, raw_body compression) of
    ``hubwatch import-warc`` into a fresh database."""
    data = Path(tempfile.mkdtemp(prefix="hubwatch-throughput-"))
    env, drop = _fresh_database(admin_url, data)
    env.update(env_extra)
    try:
        timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
        started = time.perf_counter()
        proc = subprocess.run([*timer, sys.executable, "-m", "hubwatch", "import-warc", str(warc)],
                              env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"import-warc failed:\n{proc.stderr[-2000:]}")
        peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        peak_mib = (int(peak.group(1)) if peak else
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        per_version, method = _storage(env)
    finally:
        drop()
    return n / elapsed, peak_mib, per_version, method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shared", type=Path)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--database-url", help="an administrator's URL of the server to import "
                        "into (a fresh database, dropped after); default: a fresh embedded server")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        warc = Path(tmp) / "throughput.warc.gz"
        pages = build_warc(args.shared, args.pages, warc)
        print(f"{len(pages)} distinct pages, WARC {warc.stat().st_size / 2**20:.1f} MiB, {cores} cores")
        one = extract_rate(pages, 1)
        pool = extract_rate(pages, cores)
        print(f"{'extract-only, 1 process (anchor)':<42} {one:8.1f} pages/s")
        print(f"{f'extract-only, pool of {cores}':<42} {pool:8.1f} pages/s   x{pool / one:.2f}")
        if not args.skip_import:
            runs = (("import-warc, 1 parse worker", {"HUBWATCH_PARSE_WORKERS": "1"}),
                    (f"import-warc, default workers ({cores})", {}))
            for label, extra in runs:
                rate, peak, per_version, method = import_rate(warc, len(pages), extra, args.database_url)
                print(f"{label:<42} {rate:8.1f} pages/s   x{rate / one:.2f} of the anchor   "
                      f"peak RSS {peak:.0f} MiB   {per_version:,} bytes/version ({method})")


if __name__ == "__main__":
    main()
