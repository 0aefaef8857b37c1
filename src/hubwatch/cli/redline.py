"""`hubwatch diff`: what changed between two versions of a document, as a word-level
redline (terminal, HTML or JSON) with the sentences and mentions added and removed.

``register(app)`` adds the command to the main Typer app. Never imports Prefect.
"""

from __future__ import annotations

import html
import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import typer

SHANGHAI = ZoneInfo("Asia/Shanghai")


class DiffFormat(StrEnum):
    text = "text"
    html = "html"
    json = "json"


@dataclass
class Redline:
    """Everything ``hubwatch diff`` shows for one pair of versions."""

    document_id: int
    url: str
    old: dict
    new: dict
    pieces: list  # hubwatch.text.redline.Piece
    sentences_added: list[str]
    sentences_removed: list[str]
    mentions: list[dict]

    def as_json(self) -> dict:
        """The ``--format json`` object (times ISO 8601 in Asia/Shanghai)."""
        def side(v: dict) -> dict:
            return {"version_no": v["version_no"], "version_id": v["version_id"],
                    "valid_from": v["valid_from"].astimezone(SHANGHAI).isoformat(),
                    "title": v["title"]}
        return {"document_id": self.document_id, "url": self.url, "from": side(self.old),
                "to": side(self.new), "title_changed": self.old["title"] != self.new["title"],
                "sentences_added": self.sentences_added,
                "sentences_removed": self.sentences_removed, "mentions": self.mentions,
                "redline": [{"kind": p.kind, "text": p.text} for p in self.pieces
                            if p.kind != "equal"]}


class DiffError(ValueError):
    """No such document, or no such pair of versions (the message says which)."""


def build_redline(session, document: str, from_no: int | None, to_no: int | None) -> Redline:
    """The redline of ``document`` (an id or a URL it was seen under) from version
    ``from_no`` to ``to_no`` (version numbers; default: the last two).

    ``mentions`` lists each entity whose mention count differs: ``entity, before,
    after, added, removed`` (net change, as in the view ``mention_changes``).

    Raises:
        DiffError: unknown document, a version number it does not have, or one version only.
    """
    from hubwatch.crawl.urls import normalize_url
    from hubwatch.models import diffs
    from hubwatch.text.redline import changed_sentences, diff_words

    versions = diffs.versions_of(session, document)
    if not versions and not document.isdigit():
        versions = diffs.versions_of(session, normalize_url(document))
    if not versions:
        raise DiffError(f"no document {document!r} (give a document id or a URL it was seen under)")
    by_no = {v["version_no"]: v for v in versions}
    new_no = to_no or versions[-1]["version_no"]
    if new_no not in by_no:
        raise DiffError(f"document {versions[0]['document_id']} has no version {new_no} "
                        f"(versions {', '.join(map(str, sorted(by_no)))})")
    earlier = [v["version_no"] for v in versions if v["valid_from"] < by_no[new_no]["valid_from"]]
    old_no = from_no or (earlier[-1] if earlier else None)
    if old_no is None:
        raise DiffError(f"document {versions[0]['document_id']} has only one version before "
                        f"version {new_no}: nothing to compare")
    if old_no not in by_no:
        raise DiffError(f"document {versions[0]['document_id']} has no version {old_no} "
                        f"(versions {', '.join(map(str, sorted(by_no)))})")
    old, new = by_no[old_no], by_no[new_no]
    added, removed = changed_sentences(old["text"], new["text"])
    counts = diffs.mention_counts(session, [old["version_id"], new["version_id"]])
    before, after = counts[old["version_id"]], counts[new["version_id"]]
    mentions = [{"entity": e, "before": before.get(e, 0), "after": after.get(e, 0),
                 "added": max(after.get(e, 0) - before.get(e, 0), 0),
                 "removed": max(before.get(e, 0) - after.get(e, 0), 0)}
                for e in sorted(set(before) | set(after)) if before.get(e, 0) != after.get(e, 0)]
    return Redline(old["document_id"], old["url"], old, new, diff_words(old["text"], new["text"]),
                   added, removed, mentions)


# -- rendering ----------------------------------------------------------------------------

def _lines(pieces) -> list[list[tuple[str, str]]]:
    """The redline cut into lines of (kind, text) segments, on the text's line breaks."""
    lines: list[list[tuple[str, str]]] = [[]]
    for piece in pieces:
        parts = piece.text.split("\n")
        for i, part in enumerate(parts):
            if i:
                lines.append([])
            if part:
                lines[-1].append((piece.kind, part))
    return lines


def _changed_lines(pieces) -> list[list[tuple[str, str]] | None]:
    """Only the lines an edit touched; ``None`` marks lines left out between them."""
    shown: list[list[tuple[str, str]] | None] = []
    lines = _lines(pieces)
    last = -2
    for i, line in enumerate(lines):
        if any(kind != "equal" for kind, _ in line):
            if shown and i != last + 1:
                shown.append(None)
            shown.append(line)
            last = i
    return shown


def _when(v: dict) -> str:
    return v["valid_from"].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M %z")


def render_text(r: Redline, *, colour: bool) -> "list":
    """Rich renderables: styles (red struck-through deletions, green underlined
    insertions) when ``colour``, else the plain ``[-deleted-]{+inserted+}`` form."""
    from rich.text import Text

    out = [Text(f"document {r.document_id} {r.url}"),
           Text(f"version {r.old['version_no']} ({_when(r.old)}) -> version "
                f"{r.new['version_no']} ({_when(r.new)})")]
    if r.old["title"] != r.new["title"]:
        out.append(Text(f"title: {r.old['title']} -> {r.new['title']}"))
    out.append(Text(""))
    styles = {"delete": "red strike", "insert": "green underline"}
    marks = {"delete": ("[-", "-]"), "insert": ("{+", "+}")}
    for line in _changed_lines(r.pieces) or []:
        if line is None:
            out.append(Text("..."))
            continue
        text = Text()
        for kind, part in line:
            if kind == "equal":
                text.append(part)
            elif colour:
                text.append(part, style=styles[kind])
            else:
                text.append(marks[kind][0] + part + marks[kind][1])
        out.append(text)
    out.append(Text(""))
    for label, sentences, sign in (("sentences added", r.sentences_added, "+"),
                                   ("sentences removed", r.sentences_removed, "-")):
        out.append(Text(f"{label}: {len(sentences)}"))
        out.extend(Text(f"  {sign} {s}") for s in sentences)
    out.append(Text("mentions: " + ("none changed" if not r.mentions else ", ".join(
        f"{m['entity']} +{m['added']} -{m['removed']} ({m['before']} -> {m['after']})"
        for m in r.mentions))))
    return out


def render_html(r: Redline) -> str:
    """One self-contained HTML page: the whole text with ``<del>``/``<ins>``, then the
    sentences and mentions added and removed."""
    e = html.escape
    body = []
    for line in _lines(r.pieces):
        parts = []
        for kind, part in line:
            tag = {"delete": "del", "insert": "ins"}.get(kind)
            parts.append(f"<{tag}>{e(part)}</{tag}>" if tag else e(part))
        if parts:
            body.append("<p>" + "".join(parts) + "</p>")
    rows = "".join(f"<tr><td>{e(m['entity'])}</td><td>{m['before']}</td><td>{m['after']}</td>"
                   f"<td>+{m['added']}</td><td>-{m['removed']}</td></tr>" for m in r.mentions)
    lists = "".join(
        f"<h2>{label} ({len(items)})</h2><ul>" + "".join(f"<li>{e(s)}</li>" for s in items) + "</ul>"
        for label, items in (("Sentences added", r.sentences_added),
                             ("Sentences removed", r.sentences_removed)))
    title = r.new["title"]
    old_title = (f"<p class=meta>Title before: <del>{e(r.old['title'])}</del></p>"
                 if r.old["title"] != title else "")
    return f"""<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>Redline: {e(title)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; max-width: 50em; margin: 2em auto; line-height: 1.6; }}
del {{ background: #fbe3e4; color: #9a0000; }}
ins {{ background: #e0f5e9; color: #005a2b; text-decoration: underline; }}
.meta {{ color: #555; }} table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0 .5em; }}
</style></head><body>
<h1>{e(title)}</h1>{old_title}
<p class=meta>Document {r.document_id}, <a href="{e(r.url)}">{e(r.url)}</a><br>
Version {r.old['version_no']} ({e(_when(r.old))}) &rarr; version {r.new['version_no']} ({e(_when(r.new))})</p>
{''.join(body)}
{lists}
<h2>Mentions changed</h2>
<table><tr><th>entity</th><th>before</th><th>after</th><th>added</th><th>removed</th></tr>{rows}</table>
</body></html>
"""


def register(app: typer.Typer) -> None:
    """Add the ``diff`` command to ``app``."""
    app.command("diff")(diff_command)


def diff_command(
    document: Annotated[str, typer.Argument(metavar="DOCUMENT_ID_OR_URL",
                                            help="A document id or a URL it was seen under.")],
    from_no: Annotated[Optional[int], typer.Option("--from", help="Old version number "
                                                   "(default: the one before --to).")] = None,
    to_no: Annotated[Optional[int], typer.Option("--to", help="New version number "
                                                 "(default: the latest).")] = None,
    fmt: Annotated[DiffFormat, typer.Option("--format", help="text (colour in a terminal, "
                                            "[-x-]{+y+} when piped), html or json.")] = DiffFormat.text,
) -> None:
    """Word-level redline between two versions, with the sentences and the mentions per
    entity added and removed."""
    from rich.console import Console
    from rich.text import Text

    from hubwatch.models.db import transaction

    with transaction() as session:
        try:
            redline = build_redline(session, document, from_no, to_no)
        except DiffError as exc:
            Console(stderr=True, markup=False).print(
                Text.assemble(("error:", "red"), " ", str(exc)), soft_wrap=True)
            raise typer.Exit(2) from exc
    if fmt is DiffFormat.json:
        sys.stdout.write(json.dumps(redline.as_json(), ensure_ascii=False, indent=2) + "\n")
    elif fmt is DiffFormat.html:
        sys.stdout.write(render_html(redline))
    else:
        console = Console(markup=False, highlight=False, soft_wrap=True)
        for renderable in render_text(redline, colour=console.is_terminal and not console.no_color):
            console.print(renderable)
