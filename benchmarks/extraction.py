"""Main-text quality and speed: hubwatch ``parse_page`` next to ``trafilatura.extract``.

Usage: ``python benchmarks/extraction.py CORPUS_DIR [--verbose]``

Runs both extractors over every page with a gold main text under CORPUS_DIR
(pairs and scoring from CORPUS_DIR/score_text.py: bag-of-tokens P/R/F1, Latin words
and single CJK characters), and prints mean P/R/F1 per folder for each, pages per
second for each (ours: decode + parse + extract + metadata, plus the mention
matcher when ``hubwatch.mentions.match`` is importable), and the ratio of the two speeds.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hubwatch.text.extract import ExtractError, parse_page

FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def _load_scorer(corpus: Path):
    spec = importlib.util.spec_from_file_location("score_text", corpus / "score_text.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _matcher():
    """The mention matcher on the repository's watch-list, or None when not there yet."""
    try:
        from hubwatch.config.watchlist import load_watchlist
        from hubwatch.mentions.match import Matcher
        root = Path(__file__).resolve().parent.parent
        return Matcher(load_watchlist(root / "config" / "watchlist.yaml"))
    except Exception:  # noqa: BLE001 (any failure of the optional matcher: benchmark without it)
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


def run(name: str, fn, items) -> tuple[dict[str, str], float]:
    out, start = {}, time.perf_counter()
    for rel, body, url in items:
        out[rel] = fn(body, url)
    elapsed = time.perf_counter() - start
    print(f"{name:12s} {len(items) / elapsed:8.1f} pages/s ({elapsed:.2f} s for {len(items)} pages)")
    return out, len(items) / elapsed


def report(scorer, items, golds, results: dict[str, dict[str, str]], verbose: bool) -> None:
    folders = sorted({str(Path(rel).parent) for rel, _, _ in items})
    print(f"\n{'folder':26s} {'n':>3s} " + "  ".join(f"{n:>20s}" for n in results))
    for folder in folders + ["ALL"]:
        rels = [rel for rel, _, _ in items if folder == "ALL" or str(Path(rel).parent) == folder]
        cells = []
        for out in results.values():
            scores = [scorer.prf(out[rel], golds[rel]) for rel in rels]
            cells.append("P={:.3f} R={:.3f} F={:.3f}".format(*(statistics.mean(s[i] for s in scores) for i in range(3))))
        print(f"{folder:26s} {len(rels):3d} " + "  ".join(cells))
    if verbose:
        names = list(results)
        for rel, _, _ in items:
            fs = [scorer.prf(results[n][rel], golds[rel]) for n in names]
            print(f"{rel:70s} " + " ".join(f"{n}: P={p:.2f} R={r:.2f} F={f:.2f}" for n, (p, r, f) in zip(names, fs)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--verbose", action="store_true", help="per-page scores")
    args = parser.parse_args()
    scorer = _load_scorer(args.corpus)
    items, golds = [], {}
    for path, gold, url in scorer.pairs(args.corpus):
        rel = str(path.relative_to(args.corpus))
        items.append((rel, path.read_bytes(), url))
        golds[rel] = gold
    matcher = _matcher()
    print(f"{len(items)} pages with gold; mention matcher {'included' if matcher else 'not available'}")
    theirs(b"<html><body><p>warm up</p></body></html>", "")
    ours(b"<html><body><p>warm up</p></body></html>", "", matcher)
    out_ours, speed_ours = run("hubwatch", lambda b, u: ours(b, u, matcher), items)
    out_theirs, speed_theirs = run("trafilatura", theirs, items)
    print(f"speed ratio hubwatch/trafilatura: {speed_ours / speed_theirs:.2f}")
    report(scorer, items, golds, {"hubwatch": out_ours, "trafilatura": out_theirs}, args.verbose)


if __name__ == "__main__":
    main()
