"""Loading a case of ../shared/cases as the arguments ``parse_page`` takes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass
class Case:
    body: bytes
    url: str
    content_type: str | None
    fetched_at: datetime
    expected: dict

    def kwargs(self) -> dict:
        return {"url": self.url, "content_type": self.content_type, "fetched_at": self.fetched_at}


def when(value: str) -> datetime:
    """An ISO 8601 instant as the cases write it (``Z`` allowed)."""
    return datetime.fromisoformat(value)


def load_case(shared: Path, number: str) -> Case:
    folder = next((shared / "cases").glob(f"{number}-*"))
    response = json.loads((folder / "response.json").read_text(encoding="utf-8"))
    headers = {name.lower(): value for name, value in response["headers"]}
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    return Case((folder / response["body_file"]).read_bytes(), response["final_url"],
                headers.get("content-type"), when(response["fetched_at"]), expected)
