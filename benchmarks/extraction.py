"""Main-text quality and speed: hubwatch ``parse_page`` next to ``trafilatura.extract``.

Usage: ``python benchmarks/extraction.py [CORPUS_DIR ...] [--verbose] [--scorer PATH]``

Default corpora: ``$HUBWATCH_SHARED/corpus`` and ``$HUBWATCH_SHARED/corpus-news``. Runs both
extractors over every page with a gold main text (pairs and scoring from
``corpus/score_text.py``: bag-of-tokens P/R/F1, Latin words and single CJK characters) and
prints, per gold set (each folder of each corpus): mean P/R/F1 for each extractor and the
count of pages whose text came out empty; then pages per second for each over the union
(ours: decode + parse + extract + metadata + the mention matcher), the ratio of the two
speeds (the anchor: trafilatura in the same run) and our slowest page.

``corpus-news`` is also reported in two parts: ``dev`` (pages looked at while tuning) and
``held-out`` (every 4th page by sorted file name, never looked at page by page: ``--verbose``
leaves them out), so the score of pages the extractor was not tuned on stays visible.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hubwatch.text.extract import ExtractError, parse_page

FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)
HELD_OUT_EVERY = 4


def _load_scorer(path: Path):
    spec = importlib.util.spec_from_file_location("score_text", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _matcher():
    """The mention matcher on the repository's watch-list, or None when it cannot load."""
    try:
        from hubwatch.config.watchlist import load_watchlist
        from hubwatch.mentions.match import Matcher
        root = Path(__file__).resolve().parent.parent
        return Matcher(load_watchlist(root / "config" / "data" / "watchlist.yaml"))
    except Exception as exc:  # noqa: BLE001 (benchmark without the optional matcher, say so)
        print(f"mention matcher not loaded: {exc}")
        return None


def ours(body: bytes, url: str, matcher) -> str:
    try:
        page = parse_page(body, url=url or None, content_type=None, fetched_at=FETCHED_AT)
    except ExtractError:
        return ""
    if matcher is not None:
        matcher.find(page.title, page.text)
    return page.text


def theirs(body: bytes, url: str) -> str:
    import trafilatura
    return trafilatura.extract(body, url=url or None) or ""


def run(name: str, fn, items) -> tuple[dict[str, str], float, float]:
    """Outputs by page key, pages per second, slowest page in seconds."""
    out, slowest, start = {}, 0.0, time.perf_counter()
    for key, body, url in items:
        t0 = time.perf_counter()
        out[key] = fn(body, url)
        slowest = max(slowest, time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    print(f"{name:12s} {len(items) / elapsed:8.1f} pages/s ({elapsed:.2f} s for {len(items)} pages,"
          f" slowest page {slowest:.3f} s)")
    return out, len(items) / elapsed, slowest


def held_out(keys: list[str]) -> set[str]:
    """Every HELD_OUT_EVERY-th page of corpus-news by sorted name (the 4th, 8th, ...)."""
    news = sorted(k for k in keys if k.startswith("corpus-news/"))
    return set(news[HELD_OUT_EVERY - 1::HELD_OUT_EVERY])


def groups(keys: list[str]) -> dict[str, list[str]]:
    """Gold sets: each folder of each corpus; corpus-news also as dev and held-out parts."""
    out: dict[str, list[str]] = {}
    for key in keys:
        out.setdefault(str(Path(key).parent), []).append(key)
    for key in keys:
        out.setdefault(key.split("/", 1)[0] + " (all)", []).append(key)
    hidden = held_out(keys)
    if hidden:
        out["corpus-news (dev)"] = [k for k in keys if k.startswith("corpus-news/") and k not in hidden]
        out["corpus-news (held-out)"] = sorted(hidden)
    return out


def report(scorer, golds, results: dict[str, dict[str, str]], verbose: bool) -> None:
    print(f"\n{'gold set':38s} {'n':>3s} " + "  ".join(f"{n + ' P/R/F1, empty':>30s}" for n in results))
    for name, keys in groups(list(golds)).items():
        cells = []
        for out in results.values():
            scores = [scorer.prf(out[k], golds[k]) for k in keys]
            empty = sum(1 for k in keys if not out[k].strip())
            means = (statistics.mean(s[i] for s in scores) for i in range(3))
            cells.append("{:.3f} {:.3f} {:.3f}, {:3d}".format(*means, empty))
        print(f"{name:38s} {len(keys):3d} " + "  ".join(f"{c:>30s}" for c in cells))
    if verbose:
        hidden, names = held_out(list(golds)), list(results)
        for key in golds:
            if key in hidden:
                continue
            fs = [scorer.prf(results[n][key], golds[key]) for n in names]
            print(f"{key:70s} " + " ".join(f"{n}: P={p:.2f} R={r:.2f} F={f:.2f}" for n, (p, r, f) in zip(names, fs)))


def main() -> None:
    shared = Path(os.environ.get("HUBWATCH_SHARED", "/work/shared"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", type=Path, nargs="*", default=[shared / "corpus", shared / "corpus-news"])
    parser.add_argument("--scorer", type=Path, default=shared / "corpus" / "score_text.py")
    parser.add_argument("--verbose", action="store_true", help="per-page scores (held-out pages left out)")
    args = parser.parse_args()
    scorer = _load_scorer(args.scorer)
    items, golds = [], {}
    for corpus in args.corpora:
        for path, gold, url in scorer.pairs(corpus):
            key = f"{corpus.name}/{path.relative_to(corpus)}"
            items.append((key, path.read_bytes(), url))
            golds[key] = gold
    matcher = _matcher()
    print(f"{len(items)} pages with gold; mention matcher {'included' if matcher else 'not available'}")
    theirs(b"<html><body><p>warm up</p></body></html>", "")
    ours(b"<html><body><p>warm up</p></body></html>", "", matcher)
    out_ours, speed_ours, _ = run("hubwatch", lambda b, u: ours(b, u, matcher), items)
    out_theirs, speed_theirs, _ = run("trafilatura", theirs, items)
    print(f"speed ratio hubwatch/trafilatura: {speed_ours / speed_theirs:.2f}")
    report(scorer, golds, {"hubwatch": out_ours, "trafilatura": out_theirs}, args.verbose)


if __name__ == "__main__":
    main()
