"""Values that are a contract between the code, the database and its readers, defined once.

Imported by every layer (configuration, storage, the domain library); imports nothing.
"""

#: The time zone of a site when its source names none, and of every date an analyst sees
#: (mainland China's sites publish in it; views and reports count days in it).
DEFAULT_TIMEZONE = "Asia/Shanghai"

#: How precise a publication date is, from coarsest to finest (``published_precision``;
#: a CHECK constraint in the schema lists the same words).
PRECISIONS = ("month", "day", "hour", "minute", "second")

#: Advisory-lock key of the migration lock (commands that may start together, such as
#: workers, migrate one at a time).
MIGRATION_LOCK_KEY = 72350001

#: Advisory-lock key space of crawl-run liveness locks (the second key is the run id).
RUN_LOCK_SPACE = 72350002

#: Advisory-lock key of the analytics upkeep (one upkeeper at a time, transaction-level:
#: ``hubwatch.models.analytics.refresh_analytics``).
ANALYTICS_LOCK_KEY = 72350003
