"""A small, hand-written corpus for the analyst views, inserted with plain SQL.

Five documents in three sources, seven entities (three sub-areas), two crawl runs:

* D1 (en-commentary): v1 on 2026-10-20 mentions gba twice and bth; v2 two days ago drops
  one gba mention, adds fyp15 and changes the title.
* D2 (zh-policy): first seen a day ago, mentions bth, gba, yrd and fyp15 in Chinese.
* D3 (en-policy): v1 on 2026-10-15 mentions yrd; v2 on 2026-11-10 adds hengqin (a gba
  sub-area); the title is unchanged.
* D4 (en-commentary): seen 2026-10-25 without a publication date, gone since 2026-11-20,
  mentions qianhai (gba sub-area) and gba.
* D5 (zh-policy): same day as D2, no date, no mention.

Official-document records (``POLICY``): D2 and D5 carry the same document number (one
document posted twice); D3's first version had a block that its current version lacks.
D6 (zh-policy) is a PDF attached to D2 (``attachment_of``), first seen three days ago,
without a mention.

``Corpus`` keeps the facts the tests derive expected results from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

UTC = dt.timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")

SOURCES = [(1, "en-commentary", "commentary", "en"), (2, "zh-policy", "policy", "zh"),
           (3, "en-policy", "policy", "en")]
ENTITIES = [(1, "bth", None), (2, "gba", None), (3, "yrd", None), (4, "fyp15", None),
            (5, "xiongan", 1), (6, "hengqin", 2), (7, "qianhai", 2)]
SURFACES = {"bth": ["Beijing-Tianjin-Hebei", "京津冀"], "gba": ["Greater Bay Area", "粤港澳大湾区"],
            "yrd": ["Yangtze River Delta", "长三角"], "fyp15": ["15th Five-Year Plan", "十五五"],
            "hengqin": ["Hengqin"], "qianhai": ["Qianhai"], "xiongan": ["Xiong'an"]}
# version id -> policy_record columns
POLICY = {
    21: dict(issuing_bodies=["国务院办公厅", "国家发展改革委"], document_number="国办发〔2026〕7号",
             source_organ="中国政府网", document_type="意见", topic=["科技、教育", "科技"],
             written_on=dt.date(2026, 11, 20), published_on=dt.date(2026, 11, 22),
             index_number="000014349/2026-00107", validity="有效"),
    51: dict(issuing_bodies=["国务院办公厅"], document_number="国办发〔2026〕7号", source_organ=None,
             document_type="意见", topic=[], written_on=dt.date(2026, 11, 20), published_on=None,
             index_number=None, validity=None),
    31: dict(issuing_bodies=["科技部"], document_number="国科发〔2026〕1号", source_organ=None,
             document_type="通知", topic=[], written_on=None, published_on=None,
             index_number=None, validity=None),
}

# version id -> attachment_file columns
ATTACHMENT_FILES = {61: dict(file_type="pdf", link_text="实施细则", page_count=3, bytes=48213)}


@dataclass
class Version:
    id: int
    no: int
    valid_from: dt.datetime
    title: str
    text: str
    valid_to: dt.datetime | None = None
    published_at: dt.datetime | None = None

    def mentions(self) -> list[tuple[str, int, int, str]]:
        """(entity, start, end, surface) of every surface in the text, in order."""
        found = []
        for key, surfaces in SURFACES.items():
            for surface in surfaces:
                start = self.text.find(surface)
                while start >= 0:
                    found.append((key, start, start + len(surface), surface))
                    start = self.text.find(surface, start + 1)
        return sorted(found, key=lambda m: m[1])


@dataclass
class Doc:
    id: int
    source_id: int
    url: str
    first_seen_at: dt.datetime
    versions: list[Version]
    gone_at: dt.datetime | None = None
    attachment_of: int | None = None

    @property
    def current(self) -> Version:
        return self.versions[-1]

    @property
    def day(self) -> dt.date:
        when = self.current.published_at or self.first_seen_at
        return when.astimezone(SHANGHAI).date()


@dataclass
class Corpus:
    now: dt.datetime
    docs: dict[str, Doc] = field(default_factory=dict)

    def hub_of(self, entity: str) -> str:
        ids = {key: (eid, parent) for eid, key, parent in ENTITIES}
        parent = ids[entity][1]
        return entity if parent is None else next(k for i, k, _ in ENTITIES if i == parent)

    def entities(self, doc: str) -> set[str]:
        return {m[0] for m in self.docs[doc].current.mentions()}


def _build(now: dt.datetime) -> Corpus:
    d = Corpus(now=now)
    fixed = lambda *a: dt.datetime(*a, tzinfo=UTC)  # noqa: E731 - a short local helper
    edit = now - dt.timedelta(days=2)
    d.docs["D1"] = Doc(1, 1, "https://en.example/d1", fixed(2026, 10, 20, 2), [
        Version(11, 1, fixed(2026, 10, 20, 2), "Bay Area plans",
                "The Greater Bay Area is an innovation hub.\n\n"
                "The Greater Bay Area grows. Beijing-Tianjin-Hebei too.",
                valid_to=edit, published_at=fixed(2026, 10, 20, 1)),
        Version(12, 2, edit, "Bay Area plans, updated",
                "The Greater Bay Area is an innovation hub.\n\nBeijing-Tianjin-Hebei too.\n\n"
                "The 15th Five-Year Plan will help innovation hubs.",
                published_at=fixed(2026, 10, 20, 1))])
    day_ago = now - dt.timedelta(days=1)
    d.docs["D2"] = Doc(2, 2, "https://zh.example/d2", day_ago, [
        Version(21, 1, day_ago, "十五五规划与三大区域",
                "京津冀、粤港澳大湾区和长三角在十五五期间协同发展。", published_at=day_ago)])
    d.docs["D3"] = Doc(3, 3, "https://policy.example/d3", fixed(2026, 10, 15, 4), [
        Version(31, 1, fixed(2026, 10, 15, 4), "Delta policy",
                "Yangtze River Delta innovation policy.", valid_to=fixed(2026, 11, 10, 4),
                published_at=fixed(2026, 10, 15)),
        Version(32, 2, fixed(2026, 11, 10, 4), "Delta policy",
                "Yangtze River Delta innovation policy.\n\nHengqin joins innovation hubs.",
                published_at=fixed(2026, 10, 15))])
    d.docs["D4"] = Doc(4, 1, "https://en.example/d4", fixed(2026, 10, 25, 6), [
        Version(41, 1, fixed(2026, 10, 25, 6), "Qianhai notes",
                "Qianhai and the Greater Bay Area.")], gone_at=fixed(2026, 11, 20))
    d.docs["D5"] = Doc(5, 2, "https://zh.example/d5", day_ago, [
        Version(51, 1, day_ago, "区域发展", "区域协调发展取得新进展。")])
    three_days = now - dt.timedelta(days=3)
    d.docs["D6"] = Doc(6, 2, "https://zh.example/files/d2-rules.pdf", three_days, [
        Version(61, 1, three_days, "实施细则", "第一条 为落实本意见，制定本细则。")], attachment_of=2)
    return d


def seed(session: Session, now: dt.datetime | None = None) -> Corpus:
    """Insert the corpus (ids fixed), the runs and snapshots; no commit, no refresh."""
    corpus = _build(now or dt.datetime.now(UTC))
    run = session.execute
    for sid, slug, kind, lang in SOURCES:
        run(text("INSERT INTO source (id, slug, name, kind, language) VALUES "
                 "(:i, :s, :s, :k, :l)"), {"i": sid, "s": slug, "k": kind, "l": lang})
    for eid, key, parent in ENTITIES:
        run(text("INSERT INTO entity (id, key, name, parent_id) VALUES (:i, :k, :n, :p)"),
            {"i": eid, "k": key, "n": SURFACES[key][0], "p": parent})
    for doc in corpus.docs.values():
        _insert_doc(session, doc)
    _insert_runs(session, corpus)
    return corpus


def _insert_doc(session: Session, doc: Doc) -> None:
    entity_ids = {key: eid for eid, key, _ in ENTITIES}
    session.execute(text(
        "INSERT INTO document (id, source_id, canonical_url, first_seen_at, last_fetched_at, "
        "gone_at, attachment_of) VALUES (:i, :s, :u, :f, :l, :g, :a)"),
        {"i": doc.id, "s": doc.source_id, "u": doc.url, "f": doc.first_seen_at,
         "l": doc.current.valid_from, "g": doc.gone_at, "a": doc.attachment_of})
    for v in doc.versions:
        session.execute(text(
            "INSERT INTO document_version (id, document_id, version_no, captured_at, valid_from,"
            " valid_to, final_url, canonical_url, raw_body, title, main_text, published_at,"
            " published_precision, content_hash, extractor_version) VALUES (:i, :d, :n, :vf,"
            " :vf, :vt, :u, :u, '', :t, :x, :p, :pp, md5(:t || :x), 'test')"),
            {"i": v.id, "d": doc.id, "n": v.no, "vf": v.valid_from, "vt": v.valid_to,
             "u": doc.url, "t": v.title, "x": v.text, "p": v.published_at,
             "pp": "minute" if v.published_at else None})
        if v.id in POLICY:
            session.execute(text(
                "INSERT INTO policy_record (version_id, issuing_bodies, document_number,"
                " source_organ, document_type, topic, written_on, published_on, index_number,"
                " validity) VALUES (:version_id, :issuing_bodies, :document_number, :source_organ,"
                " :document_type, :topic, :written_on, :published_on, :index_number, :validity)"),
                {"version_id": v.id, **POLICY[v.id]})
        if v.id in ATTACHMENT_FILES:
            session.execute(text(
                "INSERT INTO attachment_file (version_id, file_type, link_text, page_count, bytes)"
                " VALUES (:v, :file_type, :link_text, :page_count, :bytes)"),
                {"v": v.id, **ATTACHMENT_FILES[v.id]})
        for key, start, end, surface in v.mentions():
            session.execute(text(
                "INSERT INTO mention (version_id, entity_id, surface, zone, start_offset,"
                " end_offset, sentence) VALUES (:v, :e, :s, 'body', :a, :b, :x)"),
                {"v": v.id, "e": entity_ids[key], "s": surface, "a": start, "b": end,
                 "x": v.text})


def _insert_runs(session: Session, corpus: Corpus) -> None:
    """Run 1 two days ago, run 2 a day ago; en-policy fails in both."""
    now = corpus.now
    runs = {1: now - dt.timedelta(days=2), 2: now - dt.timedelta(days=1)}
    for rid, at in runs.items():
        session.execute(text("INSERT INTO crawl_run (id, flow_name, started_at, run_status) "
                             "VALUES (:i, 'nightly', :t, 'completed')"), {"i": rid, "t": at})
    fetches = [(1, 1, 1, "ok", 12), (1, 3, 3, "timeout", None), (2, 1, 4, "gone", None),
               (2, 2, 2, "ok", 21), (2, 2, 5, "ok", 51), (2, 3, 3, "network_error", None)]
    for rid, sid, did, outcome, vid in fetches:
        session.execute(text(
            "INSERT INTO snapshot (crawl_run_id, source_id, document_id, requested_url,"
            " fetched_at, outcome, version_id) VALUES (:r, :s, :d, :u, :t, :o, :v)"),
            {"r": rid, "s": sid, "d": did, "u": f"https://x.example/{did}", "t": runs[rid],
             "o": outcome, "v": vid})
