"""The claims the book checks (ids as in the project's claims list), with their claimed values.

``helpers/catalogs/claims.yaml``: ``sources`` as in the other catalogs, and ``claims``:
id -> {text, short, source, chapter?, quote?, values?: {name: {value, unit, source, note?}}}.
``short`` is the claim in a few words, for a chapter's answer box and the intro's table.
A claimed number enters the book here, with the source that made the claim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from . import units as U
from .errors import CatalogError
from .paths import CATALOG_DIR
from .safe_read import read_yaml
from .schema import Field, Source
from .validate import parse_field, parse_source

ID = re.compile(r"^(RP|SQ|L3|MISC|GB)-\d+$")


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    source: Source
    quote: str
    chapter: str
    values: dict[str, Field]
    short: str = ""

    def value(self, name: str) -> float:
        return self.values[name].si


def parse_claims(path, data) -> dict[str, Claim]:
    if not isinstance(data, dict) or set(data) != {"sources", "claims"}:
        raise CatalogError(f"{path}: top level must be a mapping with 'sources' and 'claims'")
    sources = {k: parse_source(path, k, v) for k, v in data["sources"].items()}
    out = {}
    for cid, raw in data["claims"].items():
        if not ID.match(str(cid)):
            raise CatalogError(f"{path}: entry '{cid}': claim ids look like RP-1, SQ-2, L3-1, "
                               "MISC-1")
        unknown = set(raw) - {"text", "short", "source", "quote", "chapter", "values"}
        if unknown:
            raise CatalogError(f"{path}: entry '{cid}', field '{sorted(unknown)[0]}': "
                               "unknown field")
        for req in ("text", "short", "source"):
            if not raw.get(req):
                raise CatalogError(f"{path}: entry '{cid}', field '{req}': missing")
        if raw["source"] not in sources:
            raise CatalogError(f"{path}: entry '{cid}', field 'source': '{raw['source']}' is not "
                               "listed under 'sources'")
        values = {}
        for name, v in (raw.get("values") or {}).items():
            unit = v.get("unit") if isinstance(v, dict) else None
            dim = U.dimension(unit) if unit in U.UNITS else "?"
            values[name] = parse_field(path, cid, f"values.{name}", v, dim, sources,
                                       allow_missing=False)
        out[cid] = Claim(cid, raw["text"], sources[raw["source"]], raw.get("quote", ""),
                         raw.get("chapter", ""), values, " ".join(str(raw["short"]).split()))
    return out


@cache
def load() -> dict[str, Claim]:
    path = CATALOG_DIR / "claims.yaml"
    return parse_claims(path.relative_to(CATALOG_DIR.parent.parent), read_yaml(path))


def get(claim_id: str) -> Claim:
    return load()[claim_id]
