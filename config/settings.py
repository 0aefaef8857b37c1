"""Settings from the environment (pydantic-settings), validated at the edge and read lazily."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The YAML files shipped with the package (config/data/ in the checkout): the only folder
# docker-compose mounts, so operators edit them without touching code.
CONFIG_DIR = Path(__file__).resolve().parent / "data"


class Settings(BaseSettings):
    """Process-wide settings. Environment names are the field names upper-cased with the
    ``HUBWATCH_`` prefix, except ``DATABASE_URL`` which is read as is."""

    model_config = SettingsConfigDict(env_prefix="HUBWATCH_", extra="ignore")

    database_url: SecretStr | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL of the PostgreSQL to use; unset: the embedded server.",
    )
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("hubwatch", appauthor=False)),
        description="Folder of the embedded PostgreSQL cluster and run files.",
    )
    sources_file: Path = Field(
        default=CONFIG_DIR / "sources.yaml", description="The sources config file."
    )
    watchlist_file: Path = Field(
        default=CONFIG_DIR / "watchlist.yaml", description="The watch-list config file."
    )
    fetch_workers: int = Field(default=8, ge=1, le=64, description="Concurrent fetches per run.")
    max_pages_per_source: int = Field(
        default=200, ge=1, description="Pages fetched per source per run at most."
    )
    host_delay_seconds: float = Field(
        default=1.0, ge=0, description="Default pause between requests to one host, seconds."
    )
    connect_timeout: float = Field(default=10.0, gt=0, description="TCP+TLS connect, seconds.")
    read_timeout: float = Field(default=20.0, gt=0, description="Between two reads, seconds.")
    total_deadline: float = Field(default=60.0, gt=0, description="Whole fetch, seconds.")
    max_bytes: int = Field(
        default=20 * 1024 * 1024, gt=0, description="Body cap after decompression, bytes."
    )
    retries: int = Field(default=3, ge=0, description="Retries on 429/5xx/reset per fetch.")
    max_retry_wait: float = Field(
        default=300.0, ge=0, description="Longest Retry-After waited inline, seconds."
    )
    breaker_threshold: int = Field(
        default=5, ge=1, description="Connection failures in a row before a host is skipped."
    )
    backoff_base: float = Field(default=2.0, ge=0, description="First retry backoff, seconds.")
    backoff_cap: float = Field(default=60.0, ge=0, description="Longest backoff, seconds.")
    user_agent: str | None = Field(
        default=None, description="User-Agent sent; unset: hubwatch's own, with a contact URL."
    )

    def safe_database_url(self) -> str | None:
        """The configured URL with its password masked, for logs and messages."""
        if self.database_url is None:
            return None
        from sqlalchemy.engine import make_url

        return make_url(self.database_url.get_secret_value()).render_as_string(hide_password=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
