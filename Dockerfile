# hubwatch: the image docker-compose.yml builds for `hubwatch serve`, the one-shot
# migration, Prefect workers and the Prefect server (one image, one pinned Prefect).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The briefing's charts label hubs in Chinese: matplotlib needs a CJK font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

# Locked dependencies first: this layer is rebuilt only when the lock file changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .
# The YAML config lives outside the code: compose mounts config/data/ here.
RUN mkdir -p /etc/hubwatch && cp config/data/*.yaml /etc/hubwatch/
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 hubwatch

# Never root at run time. PREFECT_HOME must be writable (profiles, local result cache).
USER hubwatch
ENV PREFECT_HOME=/home/hubwatch/.prefect \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_LOGGING_EXTRA_LOGGERS=hubwatch \
    HUBWATCH_SOURCES_FILE=/etc/hubwatch/sources.yaml \
    HUBWATCH_WATCHLIST_FILE=/etc/hubwatch/watchlist.yaml

# `hubwatch serve` needs PREFECT_API_URL and DATABASE_URL (see docker-compose.yml).
CMD ["hubwatch", "serve"]
