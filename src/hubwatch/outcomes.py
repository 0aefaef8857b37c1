"""The one vocabulary of fetch outcomes, stored in ``snapshot.outcome``."""

from enum import StrEnum


class Outcome(StrEnum):
    """What became of one fetch attempt (or one refused fetch).

    The values are a public contract: analysts filter ``snapshot.outcome`` and
    ``source_health`` on them. Extend only when no existing word fits.
    """

    OK = "ok"  # 2xx with a body we could read
    NOT_MODIFIED = "not_modified"  # 304 to a conditional GET
    GONE = "gone"  # 404 or 410: the page was removed
    HTTP_ERROR = "http_error"  # other 4xx/5xx after retries
    DEFERRED = "deferred"  # Retry-After longer than the cap: left to the next run
    HOST_SKIPPED = "host_skipped"  # circuit breaker open for the host this run
    TIMEOUT = "timeout"  # connect/read timeout or total deadline
    TOO_LARGE = "too_large"  # body over the cap, counted after decompression
    BINARY = "binary"  # PDF, image, archive... served where a page was expected
    BLOCKED_PAGE = "blocked_page"  # WAF challenge or placeholder instead of content
    REDIRECT_LOOP = "redirect_loop"  # a loop or more hops than allowed
    BLOCKED_REDIRECT = "blocked_redirect"  # redirect/link leaving the allowed hosts
    ROBOTS = "robots"  # disallowed by robots.txt, or robots.txt unreachable (5xx)
    BAD_FEED = "bad_feed"  # feed/sitemap/JSON list that could not be parsed safely
    PARSE_LIMIT = "parse_limit"  # HTML too deep or too large to parse within bounds
    DECODE_ERROR = "decode_error"  # bytes that no charset rule could turn into text
    NETWORK_ERROR = "network_error"  # refused, reset, DNS failure
    NO_TEXT = "no_text"  # read, but no text: main text empty or under the threshold, a scanned PDF; no version
    UNSUPPORTED = "unsupported"  # a format no trusted reader here opens (.doc, .wps, .xls, encrypted PDF)
    INTERNAL_ERROR = "internal_error"  # an unexpected exception in hubwatch itself (type: message kept)


#: Outcomes after which the stored content of a document is left as it was.
NO_CONTENT = frozenset(o for o in Outcome if o is not Outcome.OK)

#: Outcomes after which the site worked as a working site does (not fetch failures):
#: a 404/410 for one page, or a page that was served but carries no main text, says
#: nothing bad about the source.
SUCCEEDED = frozenset({Outcome.OK, Outcome.NOT_MODIFIED, Outcome.GONE, Outcome.NO_TEXT})
