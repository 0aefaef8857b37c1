"""The one settings object of hubwatch: environment variables, validated at the edge.

``get_settings()`` reads the environment once per process (``get_settings.cache_clear()``
makes the next call read it again). Sections group what one part of the code needs:
``settings.fetch`` for the fetcher, ``settings.crawl`` for a run's size and concurrency,
``settings.schedule`` for the deployments, ``settings.parse`` for the bounds on one page,
``settings.attachments`` for attached files, ``settings.database`` for analysts' limits,
lock waits and the embedded server. Each section is a settings class of its own
with the ``HUBWATCH_`` prefix and flat variable names (``HUBWATCH_READ_TIMEOUT``, not
``HUBWATCH_FETCH__READ_TIMEOUT``): the names are a documented contract (README), and a
section can be built alone, e.g. ``FetchSettings(retries=0)`` in a test, with the other
fields still read from the environment.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The YAML files shipped with the package (config/data/ in the checkout): the only folder
# docker-compose mounts, so operators edit them without touching code.
CONFIG_DIR = Path(__file__).resolve().parent / "data"

#: The User-Agent sent when none is configured: names hubwatch and where to read about it.
USER_AGENT = "Mozilla/5.0 (compatible; hubwatch/0.1; +https://github.com/hubwatch/hubwatch)"


class _Section(BaseSettings):
    # populate_by_name: fields whose variable differs from the field name (an alias) can
    # still be given by field name in code.
    model_config = SettingsConfigDict(env_prefix="HUBWATCH_", extra="ignore", frozen=True,
                                      populate_by_name=True)


class FetchSettings(_Section):
    """Limits and politeness of one ``Fetcher``. Times are seconds, sizes bytes."""

    user_agent: str = Field(USER_AGENT, description="User-Agent header: names hubwatch and a contact URL.")
    robots_agent: str = Field(
        "hubwatch", description="Product token matched against robots.txt User-agent lines (RFC 9309 §2.2.1).")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to open a TCP (and TLS) connection.")
    read_timeout: float = Field(20.0, gt=0, description="Seconds to wait for any one socket read.")
    total_deadline: float = Field(
        60.0, gt=0, description="Seconds for one request from connect to the last body byte.")
    max_bytes: int = Field(
        20 * 1024 * 1024, gt=0, description="Body cap in bytes after decompression; over it: too_large.")
    max_redirects: int = Field(10, ge=0, description="Redirect hops followed before redirect_loop.")
    retries: int = Field(3, ge=0, description="Extra attempts after a 5xx, 429 or connection failure.")
    backoff_base: float = Field(
        2.0, ge=0, description="Seconds before the first retry when no Retry-After; doubles per retry.")
    backoff_cap: float = Field(60.0, ge=0, description="Ceiling in seconds of the exponential backoff.")
    max_retry_wait: float = Field(
        300.0, ge=0, description="Longest Retry-After (seconds) waited inline; longer: deferred, host paused.")
    breaker_threshold: int = Field(
        5, ge=1, description="Consecutive connection failures (refused, reset, timed out) before a host "
                             "is skipped for the run; HTTP errors do not count.")
    host_delay: float = Field(
        1.0, ge=0, validation_alias="HUBWATCH_HOST_DELAY_SECONDS",
        description="Default seconds between two requests to one host (host:port).")
    max_crawl_delay: float = Field(30.0, ge=0, description="Cap in seconds on a robots.txt Crawl-delay.")
    max_connections: int = Field(20, ge=1, description="Connections open at once across hosts.")
    http2: bool = Field(
        True, description="Offer HTTP/2 (ALPN); a host that breaks it (stream reset, protocol error) "
                          "is asked over HTTP/1.1 for the rest of the run (env HUBWATCH_HTTP2).")
    ca_file: str | None = Field(
        None, description="PEM file of certificate authorities trusted besides the public roots "
                          "(env HUBWATCH_CA_FILE).")


class CrawlSettings(_Section):
    """Size and concurrency of one crawl run."""

    fetch_workers: int = Field(8, ge=1, le=64, description="Concurrent fetches per batch (threads).")
    task_workers: int = Field(
        4, ge=1, le=64, description="Batches (Prefect tasks: a source, a chunk of URLs) run at once per flow run.")
    max_pages_per_source: int = Field(200, ge=1, description="Pages fetched per source per run at most.")
    db_retry_seconds: float = Field(
        60, ge=0, description="How long a run retries a transaction while the database is "
                              "unreachable (restart, dropped connections) before it fails, seconds.")
    # The recheck schedule of known documents (docs/design.md, "Recheck schedule").
    recheck_new_days: float = Field(
        7, ge=0, description="A document is new this many days after it was first seen or last "
                             "changed, days.")
    recheck_new_hours: float = Field(24, gt=0, description="Recheck interval of a new document, hours.")
    recheck_recent_days: float = Field(
        30, ge=0, description="Past this age since first seen or last change a document is old, days.")
    recheck_recent_interval_days: float = Field(
        7, gt=0, description="Recheck interval between new and old, days.")
    recheck_old_interval_days: float = Field(30, gt=0, description="Recheck interval of an old document, days.")
    recheck_spread: float = Field(
        0.1, ge=0, lt=1, description="Fraction of an interval by which checks are brought forward, "
                                     "per document, so pages first seen together fall due on different nights.")
    recheck_lookahead_hours: float = Field(
        6, ge=0, description="A run also rechecks what falls due this many hours after it starts, hours.")
    recheck_budget_per_host: int = Field(
        50, ge=0, description="Page requests per host per nightly run for new pages and rechecks "
                              "together; rechecks get what new pages leave, requests.")


class AttachmentSettings(_Section):
    """Limits of the files linked from pages (PDF, DOCX, OFD...): ``hubwatch.text.attachments``."""

    max_bytes: int = Field(
        50 * 1024 * 1024, gt=0, validation_alias="HUBWATCH_ATTACHMENT_MAX_BYTES",
        description="Attachment body cap in bytes after decompression; over it: too_large.")
    max_pages: int = Field(
        2000, ge=1, validation_alias="HUBWATCH_ATTACHMENT_MAX_PAGES",
        description="Pages of one PDF or OFD read at most; more: parse_limit.")
    unpacked_max_bytes: int = Field(
        200 * 1024 * 1024, gt=0, validation_alias="HUBWATCH_ATTACHMENT_UNPACKED_MAX_BYTES",
        description="Bytes a DOCX or OFD zip may unpack to; more: parse_limit (a zip bomb).")
    memory_mib: int = Field(
        1024, ge=64, validation_alias="HUBWATCH_ATTACHMENT_MEMORY_MIB",
        description="Address space (RLIMIT_AS) of the PDF reader's child process, MiB.")
    seconds: float = Field(
        60.0, gt=0, validation_alias="HUBWATCH_ATTACHMENT_SECONDS",
        description="Wall time of the PDF reader's child process, seconds.")


class ParseSettings(_Section):
    """Bounds on the work one page may cost (issue 16): extraction runs in reusable worker
    processes (``hubwatch.text.worker``); past a bound a page ends as ``parse_limit``, or
    is stored cut, with the cut noted on its snapshot."""

    parse_workers: int = Field(
        default_factory=lambda: max(1, min(os.cpu_count() or 1, 16)), ge=1, le=16,
        description="Worker processes parsing and matching pages (count; default: the machine's "
        "cores, at most 16).")
    parse_deadline_seconds: float = Field(
        8.0, gt=0, description="Wall-clock seconds for parsing and extracting one page; past it: "
        "parse_limit (the worker is killed and replaced).")
    parse_memory_mb: int = Field(
        1536, ge=256, description="Address-space limit (RLIMIT_AS) of one parse worker, MiB; past it: "
        "parse_limit.")
    max_text_chars: int = Field(
        1_000_000, ge=1000, description="Main text kept per version, characters; longer text is cut at "
        "a paragraph and the cut noted on the snapshot.")
    max_mentions_per_version: int = Field(
        20_000, ge=1, description="Mentions stored per version (count): the first in text order; the "
        "cap is noted on the snapshot.")


class DatabaseSettings(_Section):
    """How hubwatch uses PostgreSQL: the analysts' limits, lock waits, the embedded server."""

    analyst_statement_timeout: float = Field(
        default=60.0, gt=0,
        description="HUBWATCH_ANALYST_STATEMENT_TIMEOUT: longest analyst statement, seconds "
        "(set per transaction, and on the embedded analyst login role).",
    )
    analyst_connection_limit: int = Field(
        default=5, ge=1,
        description="HUBWATCH_ANALYST_CONNECTION_LIMIT: connections of the embedded analyst "
        "login at once (set on the role).",
    )
    lock_wait_seconds: float = Field(
        default=30.0, ge=0,
        description="HUBWATCH_LOCK_WAIT_SECONDS: longest wait for one of hubwatch's advisory "
        "locks (migrations, run liveness) before failing with the holder's name, seconds.",
    )
    write_batch_pages: int = Field(
        default=50, ge=1, le=1000,
        description="HUBWATCH_WRITE_BATCH_PAGES: archived pages written per transaction by "
        "import-warc (a crash loses at most one open batch, never part of a page).",
    )
    embedded_server_uid: int = Field(
        default=65534, ge=1,
        description="HUBWATCH_EMBEDDED_SERVER_UID: uid (and gid) the embedded PostgreSQL runs "
        "as when hubwatch runs as root; never 0.",
    )


class ScheduleSettings(_Section):
    """How the deployments of prefect.yaml behave."""

    nightly_grace_minutes: float = Field(
        360, ge=0, description="A scheduled nightly run starting more than this many minutes after its "
                               "scheduled time is cancelled when a newer scheduled run is due too; "
                               "the newest runs however late, as the catch-up run, minutes.")
    prefect_yaml: Path | None = Field(
        None, description="The deployments file; default ./prefect.yaml, else the one in the project checkout.")


class PrefectServerSettings(_Section):
    """Which Prefect API a flow command uses when ``PREFECT_API_URL`` names none
    (hubwatch.flows.server)."""

    mode: Literal["managed", "temporary"] = Field(
        "managed", validation_alias="HUBWATCH_PREFECT_SERVER",
        description="managed: start hubwatch's local Prefect server once (HUBWATCH_DATA_DIR/prefect/) "
                    "and reuse it from later commands; temporary: Prefect's temporary server, started "
                    "by each command and stopped with it (env HUBWATCH_PREFECT_SERVER).")
    port: int = Field(
        0, ge=0, le=65535, validation_alias="HUBWATCH_PREFECT_SERVER_PORT",
        description="TCP port on 127.0.0.1 the managed server listens on when started; 0: a free one.")
    start_timeout: float = Field(
        180.0, gt=0, validation_alias="HUBWATCH_PREFECT_SERVER_START_TIMEOUT",
        description="Longest wait for the managed server to answer after it is started, seconds.")


class Settings(BaseSettings):
    """Process-wide settings. Environment names are the field names upper-cased with the
    ``HUBWATCH_`` prefix, except ``DATABASE_URL`` which is read as is; the sections read
    their own variables the same way."""

    model_config = SettingsConfigDict(env_prefix="HUBWATCH_", extra="ignore", frozen=True)

    database_url: SecretStr | None = Field(
        default=None, validation_alias="DATABASE_URL",
        description="SQLAlchemy URL of the PostgreSQL to use; unset: the embedded server.")
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("hubwatch", appauthor=False)),
        description="Folder of the embedded PostgreSQL cluster and run files.")
    sources_file: Path = Field(default=CONFIG_DIR / "sources.yaml", description="The sources config file.")
    watchlist_file: Path = Field(default=CONFIG_DIR / "watchlist.yaml", description="The watch-list config file.")
    alerts_file: Path = Field(default=CONFIG_DIR / "alerts.yaml",
                              description="The alerts config file (HUBWATCH_ALERTS_FILE); missing: no alerts.")
    fetch: FetchSettings = Field(default_factory=FetchSettings, description="The fetcher's limits.")
    crawl: CrawlSettings = Field(default_factory=CrawlSettings, description="A run's size and concurrency.")
    parse: ParseSettings = Field(default_factory=ParseSettings, description="Bounds on extracting one page.")
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings, description="Deployment behaviour.")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings,
                                       description="Analyst limits, lock waits, the embedded server.")
    attachments: AttachmentSettings = Field(default_factory=AttachmentSettings,
                                            description="Limits of attachment files.")
    prefect: PrefectServerSettings = Field(
        default_factory=PrefectServerSettings, description="The Prefect API server flow commands use.")

    analyst_database_url: SecretStr | None = Field(
        default=None,
        description="HUBWATCH_ANALYST_DATABASE_URL: URL of a login role in hubwatch_analyst, "
        "used by export, report, diff and `sql --analyst` when DATABASE_URL is set "
        "(embedded server: hubwatch's own analyst login).",
    )

    def safe_database_url(self) -> str | None:
        """The configured URL with its password masked, for logs and messages."""
        if self.database_url is None:
            return None
        from sqlalchemy.engine import make_url

        return make_url(self.database_url.get_secret_value()).render_as_string(hide_password=True)

    def safe_analyst_database_url(self) -> str | None:
        """``analyst_database_url`` with its password masked."""
        if self.analyst_database_url is None:
            return None
        from sqlalchemy.engine import make_url

        return make_url(self.analyst_database_url.get_secret_value()).render_as_string(
            hide_password=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment.

    Raises ``pydantic.ValidationError`` naming the variable when a value is invalid.
    """
    return Settings()
