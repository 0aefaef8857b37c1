"""The weekly briefing: what `hubwatch report` writes and the nightly flow attaches.

Public API:

* ``build_briefing(session, weeks, until)`` -> ``Briefing``: the numbers and rows, read
  from the analyst views (``entities``, ``document_entities``, ``current_documents``,
  ``current_mentions``, ``version_diffs``, ``mention_changes``, ``source_health``).
* ``write_briefing(briefing, out)``: ``briefing.html`` (one self-contained file, charts
  inline as data URIs), the PNG charts beside it and ``summary.md``.
* ``summary_markdown(briefing)``: the markdown summary (also the Prefect artifact).

Periods: ``weeks`` runs of seven Asia/Shanghai days, the last ending on ``until``
(inclusive). A document counts in the week it was first seen (``first_seen_at``), with
the entities its current version mentions; sub-areas count for their hub, a document
once per hub. Edits are listed apart ("edits"): they never move a document's week.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Okabe & Ito's palette: told apart with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")  # and a shape each, for print
EXCERPT_SENTENCES = 3


@dataclass
class Series:
    """One entity's weekly counts: ``key``, display ``label``, ``counts`` oldest first."""

    key: str
    label: str
    counts: list[int]
    short: str = ""  # the Chinese name alone (chart titles), else the label


@dataclass
class Briefing:
    """Everything the briefing shows. ``weeks`` are ``(first_day, last_day)`` pairs."""

    until: dt.date
    weeks: list[tuple[dt.date, dt.date]]
    hubs: list[Series]
    all_documents: list[int]
    subareas: dict[str, list[Series]]
    new_documents: list[dict] = field(default_factory=list)
    edits: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)

    @property
    def start(self) -> dt.date:
        return self.weeks[0][0]

    def shares(self, series: Series) -> list[float]:
        """``series.counts`` over all documents first seen each week (0 where none)."""
        return [c / t if t else 0.0 for c, t in zip(series.counts, self.all_documents)]

    def period_label(self) -> str:
        return "this week" if len(self.weeks) == 1 else f"the last {len(self.weeks)} weeks"


def week_ranges(weeks: int, until: dt.date) -> list[tuple[dt.date, dt.date]]:
    """``weeks`` seven-day ranges ending on ``until``, oldest first."""
    return [(until - dt.timedelta(days=7 * k + 6), until - dt.timedelta(days=7 * k))
            for k in reversed(range(weeks))]


def build_briefing(session: Session, weeks: int, until: dt.date) -> Briefing:
    """Read the briefing for the ``weeks`` weeks ending on ``until`` (a Shanghai date)."""
    ranges = week_ranges(weeks, until)
    params = {"start": ranges[0][0], "until": until}
    entities = session.execute(text(
        "SELECT entity, entity_name, entity_name_zh, hub, depth FROM entities "
        "WHERE active ORDER BY depth, hub, entity")).mappings().all()
    per_week = _weekly(session, params, ranges)
    hubs = [Series(e["entity"], _label(e), per_week["hub"].get(e["entity"], [0] * weeks),
                   e["entity_name_zh"] or e["entity_name"])
            for e in entities if e["depth"] == 0]
    subareas: dict[str, list[Series]] = {}
    for e in entities:
        counts = per_week["entity"].get(e["entity"], [0] * weeks)
        if e["depth"] > 0 and any(counts):
            subareas.setdefault(e["hub"], []).append(Series(e["entity"], _label(e), counts))
    return Briefing(until, ranges, hubs, per_week["all"], subareas,
                    _new_documents(session, params), _edits(session, params),
                    _sources(session))


def _label(e) -> str:
    return f"{e['entity_name_zh']} {e['entity_name']}" if e["entity_name_zh"] else e["entity_name"]


_FIRST_SEEN_DAY = "(cd.first_seen_at AT TIME ZONE 'Asia/Shanghai')::date"


def _weekly(session: Session, params: dict, ranges) -> dict:
    """Counts per week: ``all`` documents, and documents per ``hub`` and per ``entity``."""
    n = len(ranges)

    def index(day: dt.date) -> int:
        return n - 1 - (params["until"] - day).days // 7

    out: dict = {"all": [0] * n, "hub": {}, "entity": {}}
    for day, count in session.execute(text(f"""
            SELECT {_FIRST_SEEN_DAY} AS day, count(*) FROM current_documents cd
            WHERE {_FIRST_SEEN_DAY} BETWEEN :start AND :until GROUP BY 1"""), params):
        out["all"][index(day)] += count
    for column in ("hub", "entity"):
        for key, day, count in session.execute(text(f"""
                SELECT de.{column}, {_FIRST_SEEN_DAY} AS day, count(DISTINCT de.document_id)
                FROM document_entities de JOIN current_documents cd USING (document_id)
                WHERE {_FIRST_SEEN_DAY} BETWEEN :start AND :until GROUP BY 1, 2"""), params):
            out[column].setdefault(key, [0] * n)[index(day)] += count
    return out


def _new_documents(session: Session, params: dict) -> list[dict]:
    """Documents first seen in the period, once per hub (or the plan) they mention, with
    the first sentence that mentions it (title mentions first)."""
    rows = session.execute(text(f"""
        SELECT DISTINCT ON (cm.hub, cd.document_id)
               cm.hub AS entity, hub.entity_name, hub.entity_name_zh, cd.document_id,
               cd.title, cd.source, {_FIRST_SEEN_DAY} AS first_seen, cd.url, cm.sentence
        FROM current_documents cd
        JOIN current_mentions cm ON cm.document_id = cd.document_id
        JOIN entities hub ON hub.entity = cm.hub
        WHERE {_FIRST_SEEN_DAY} BETWEEN :start AND :until
        ORDER BY cm.hub, cd.document_id, cm.zone DESC, cm.start_offset"""), params).mappings()
    found = [dict(r) for r in rows]
    return sorted(found, key=lambda r: (r["entity"], -r["first_seen"].toordinal(), r["document_id"]))


def _edits(session: Session, params: dict) -> list[dict]:
    """Edits in the period that added or removed mentions, newest first."""
    rows = session.execute(text("""
        SELECT vd.document_id, vd.version_id, vd.url, vd.title, vd.changed_at,
               vd.sentences_added, vd.sentences_removed,
               json_agg(json_build_object('entity', mc.entity, 'added', mc.added,
                                          'removed', mc.removed) ORDER BY mc.entity) AS mentions
        FROM version_diffs vd JOIN mention_changes mc ON mc.version_id = vd.version_id
        WHERE (vd.changed_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN :start AND :until
        GROUP BY vd.document_id, vd.version_id, vd.url, vd.title, vd.changed_at,
                 vd.sentences_added, vd.sentences_removed
        ORDER BY vd.changed_at DESC, vd.document_id"""), params).mappings()
    return [dict(r) for r in rows]


def _sources(session: Session) -> list[dict]:
    """Every source whose latest run failed (wholly or in part), with the cause: the
    health view's last error when it has one, else the outcomes of that run."""
    columns = set(session.execute(text(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'source_health'")).scalars())
    extra = ", h.last_error_outcome, h.last_error_message" if "last_error_outcome" in columns else ""
    rows = session.execute(text(f"""
        SELECT h.source, h.active, h.last_success_at, h.consecutive_failures,
               h.last_run_pages, h.last_run_failures, h.last_run_id {extra}
        FROM source_health h
        WHERE h.consecutive_failures > 0 OR h.last_run_failures > 0
        ORDER BY h.consecutive_failures DESC, h.source""")).mappings().all()
    # An analyst login reads views only: the outcomes of the run come from snapshot.
    may_read_snapshots = session.execute(text(
        "SELECT has_table_privilege('snapshot', 'SELECT')")).scalar()
    out = []
    for r in rows:
        item = dict(r)
        if item.get("last_error_outcome"):
            item["cause"] = f"{item['last_error_outcome']}: {item.get('last_error_message') or ''}".rstrip(": ")
        elif may_read_snapshots:
            item["cause"] = _outcome_cause(session, r["source"], r["last_run_id"])
        else:
            item["cause"] = (f"{r['last_run_failures']} of {r['last_run_pages']} fetches failed "
                             "in the latest run")
        out.append(item)
    return out


def _outcome_cause(session: Session, source: str, run_id: int | None) -> str:
    rows = session.execute(text("""
        SELECT sn.outcome, count(*) AS n, max(sn.error_message) AS example
        FROM snapshot sn JOIN source s ON s.id = sn.source_id
        WHERE s.slug = :s AND sn.crawl_run_id = :r
          AND sn.outcome NOT IN ('ok', 'not_modified', 'gone')
        GROUP BY sn.outcome ORDER BY n DESC, sn.outcome"""), {"s": source, "r": run_id}).all()
    return "; ".join(f"{o} ×{n}" + (f" ({e})" if e else "") for o, n, e in rows) or "unknown"


# -- charts -------------------------------------------------------------------------------

def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not any("CJK" in name for name in installed):  # installed after matplotlib's cache
        for path in font_manager.findSystemFonts():
            if "CJK" in Path(path).name:
                font_manager.fontManager.addfont(path)
        installed = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [name for name in ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC",
                             "WenQuanYi Zen Hei") if name in installed]
    plt.rcParams["font.family"] = ["sans-serif"]
    plt.rcParams["font.sans-serif"] = cjk + ["DejaVu Sans"]  # Chinese labels need a CJK face
    return plt


def _chart(path: Path, title: str, ylabel: str, briefing: Briefing, series: list[Series],
           values, *, whole: bool) -> Path:
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    fig, ax = plt.subplots(figsize=(9, 4.2))
    ticks = list(range(len(briefing.weeks)))
    for i, s in enumerate(series):
        ax.plot(ticks, values(s), label=s.label, color=PALETTE[i % len(PALETTE)],
                marker=MARKERS[i % len(MARKERS)], linewidth=2)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("week ending (Asia/Shanghai)")
    ax.set_xticks(ticks, [end.strftime("%m-%d") for _, end in briefing.weeks])
    ax.set_ylim(bottom=0)
    if whole:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # documents come whole
    else:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_charts(briefing: Briefing, out: Path) -> dict[str, Path]:
    """The PNG charts: ``hubs.png``, ``share.png`` and ``subareas-HUB.png`` per hub with
    any non-zero sub-area. Returns ``{chart name: path}``."""
    charts = {
        "hubs": _chart(out / "hubs.png", "Documents first seen per week, by hub and plan",
                       "documents", briefing, briefing.hubs, lambda s: s.counts, whole=True),
        "share": _chart(out / "share.png", "Share of the week's new documents mentioning each",
                        "share of documents", briefing, briefing.hubs, briefing.shares,
                        whole=False),
    }
    names = {s.key: s.short for s in briefing.hubs}
    for hub, series in briefing.subareas.items():
        charts[f"subareas-{hub}"] = _chart(
            out / f"subareas-{hub}.png",
            f"Sub-areas of {names.get(hub, hub)}: documents first seen per week",
            "documents", briefing, series, lambda s: s.counts, whole=True)
    return charts


# -- the files ----------------------------------------------------------------------------

def write_briefing(briefing: Briefing, out: Path) -> list[Path]:
    """Write the charts, ``briefing.html`` and ``summary.md`` into ``out``; returns them."""
    out.mkdir(parents=True, exist_ok=True)
    charts = write_charts(briefing, out)
    page = out / "briefing.html"
    page.write_text(render_html(briefing, charts), encoding="utf-8")
    summary = out / "summary.md"
    summary.write_text(summary_markdown(briefing), encoding="utf-8")
    return [*charts.values(), page, summary]


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _table(header: list[str], rows: list[list], cls: str) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _week_header(b: Briefing) -> list[str]:
    return ["entity", *[end.isoformat() for _, end in b.weeks]]


def render_html(b: Briefing, charts: dict[str, Path]) -> str:
    """The briefing page: no script, no external resource (charts are data URIs)."""
    e = html.escape
    parts = [f"<h1>hubwatch briefing: {len(b.weeks)} week(s) to {b.until.isoformat()}</h1>",
             f"<p class=meta>Weeks of seven days in Asia/Shanghai, the last ending "
             f"{b.until.isoformat()}. A document counts in the week it was first seen, for each "
             "hub or plan its current version mentions (sub-areas count for their hub).</p>",
             "<h2>Hubs and the plan</h2>",
             f'<img id="chart-hubs" alt="documents per week by hub" src="{_data_uri(charts["hubs"])}">',
             _table(_week_header(b), [[e(s.label), *s.counts] for s in b.hubs]
                    + [["all documents", *b.all_documents]], "chart-data"),
             f'<img id="chart-share" alt="share of documents" src="{_data_uri(charts["share"])}">']
    for hub, series in b.subareas.items():
        parts += [f"<h3>Sub-areas of {e(next((s.label for s in b.hubs if s.key == hub), hub))}</h3>",
                  f'<img alt="sub-areas of {e(hub)}" src="{_data_uri(charts[f"subareas-{hub}"])}">',
                  _table(_week_header(b), [[e(s.label), *s.counts] for s in series], "chart-data")]
    parts.append(f'<h2 id="new-this-week">New in {e(b.period_label())}</h2>')
    parts.append(_table(["entity", "title", "source", "date", "sentence"], [
        [e(r["entity_name_zh"] or r["entity_name"]),
         f'<a href="{e(r["url"])}">{e(r["title"] or r["url"])}</a>', e(r["source"]),
         r["first_seen"].isoformat(), e(r["sentence"] or "")] for r in b.new_documents],
        "new-documents") if b.new_documents else "<p>No new document mentions a hub or the plan.</p>")
    parts.append(f'<h2 id="edits-this-week">Edits in {e(b.period_label())}</h2>')
    parts.append(_table(["changed", "document", "mentions", "redline"], [
        [e(r["changed_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")),
         f'<a href="{e(r["url"])}">{e(r["title"] or r["url"])}</a>',
         e(", ".join(f"{m['entity']} +{m['added']} -{m['removed']}" for m in r["mentions"])),
         _excerpt(r)] for r in b.edits], "edits") if b.edits
        else "<p>No edit added or removed a mention.</p>")
    parts.append('<h2 id="source-health">Source health</h2>')
    parts.append(_table(["source", "failed runs in a row", "failures last run",
                         "last success (Asia/Shanghai)", "cause"], [
        [e(r["source"]), r["consecutive_failures"], r["last_run_failures"],
         e(r["last_success_at"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"))
         if r["last_success_at"] else "never", e(r["cause"])] for r in b.sources], "sources")
        if b.sources else "<p>Every source's latest run succeeded.</p>")
    data = json.dumps({"weeks": [end.isoformat() for _, end in b.weeks],
                       "hubs": {s.key: s.counts for s in b.hubs},
                       "all_documents": b.all_documents}, ensure_ascii=False)
    return f"""<!DOCTYPE html>
<html lang="zh-Hans"><head><meta charset="utf-8">
<title>hubwatch briefing to {b.until.isoformat()}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Noto Sans", "DejaVu Sans", sans-serif; margin: 2em auto; max-width: 70em; color: #111; }}
img {{ max-width: 100%; }} table {{ border-collapse: collapse; margin: .5em 0 1.5em; }}
th, td {{ border: 1px solid #bbb; padding: .2em .5em; vertical-align: top; text-align: left; }}
.chart-data td:not(:first-child) {{ text-align: right; }}
ins {{ color: #005a2b; background: #e0f5e9; }} del {{ color: #9a0000; background: #fbe3e4; }}
.meta {{ color: #555; }}
</style></head><body>
{"".join(parts)}
<script type="application/json" id="briefing-data">{html.escape(data, quote=False)}</script>
</body></html>
"""


def _excerpt(r: dict) -> str:
    e = html.escape
    added = [f"<ins>{e(s)}</ins>" for s in r["sentences_added"][:EXCERPT_SENTENCES]]
    removed = [f"<del>{e(s)}</del>" for s in r["sentences_removed"][:EXCERPT_SENTENCES]]
    return "<br>".join(added + removed)


def summary_markdown(b: Briefing) -> str:
    """The briefing in markdown: hubs per week, new documents, edits, failing sources."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [f"# hubwatch briefing: {len(b.weeks)} week(s) to {b.until.isoformat()}", "",
             "Documents first seen per week (Asia/Shanghai) mentioning each hub or the plan:", "",
             "| entity | " + " | ".join(end.strftime("%m-%d") for _, end in b.weeks) + " |",
             "| --- |" + " ---: |" * len(b.weeks)]
    for s in b.hubs:
        lines.append(f"| {cell(s.label)} | " + " | ".join(map(str, s.counts)) + " |")
    lines.append("| all documents | " + " | ".join(map(str, b.all_documents)) + " |")
    lines += ["", f"## New in {b.period_label()}", ""]
    lines += [f"- {cell(r['entity_name_zh'] or r['entity_name'])}: [{cell(r['title'] or r['url'])}]"
              f"({r['url']}) ({r['source']}, {r['first_seen'].isoformat()})"
              for r in b.new_documents] or ["none"]
    lines += ["", f"## Edits in {b.period_label()}", ""]
    lines += [f"- [{cell(r['title'] or r['url'])}]({r['url']}): "
              + ", ".join(f"{m['entity']} +{m['added']} -{m['removed']}" for m in r["mentions"])
              + "".join(f"\n  - added: {cell(s)}" for s in r["sentences_added"][:EXCERPT_SENTENCES])
              + "".join(f"\n  - removed: {cell(s)}" for s in r["sentences_removed"][:EXCERPT_SENTENCES])
              for r in b.edits] or ["none"]
    lines += ["", "## Source health", ""]
    lines += [f"- {r['source']}: {r['consecutive_failures']} failed run(s) in a row, "
              f"{r['last_run_failures']} failure(s) last run: {cell(r['cause'])}"
              for r in b.sources] or ["every source's latest run succeeded"]
    return "\n".join(lines) + "\n"


def today_in_shanghai() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()
