"""The sourced catalogs (YAML under ``helpers/catalogs/``), loaded once and validated: the API
chapters use.

``catalog.accelerators()``, ``catalog.models()``, ``catalog.prices()`` and ``catalog.load(kind)``
return ``{key: Entry}``; ``catalog.lookup(kind, name)`` finds one entry by key or alias and
names the closest matches when there is none. Any problem raises :class:`CatalogError` with one
line naming the file, the entry and the field.

Besides the three fixed-schema catalogs (``accelerators``, ``models``, ``prices``), any other
``<kind>.yaml`` in ``helpers/catalogs/`` (except ``claims.yaml``, read by
:mod:`helpers.claims`) is an *open* catalog for a chapter's other inputs (scaling-law fits,
memory tiers, reported volumes...). ``load("scaling_laws")`` reads ``scaling_laws.yaml``.

Where the rest lives (each name is re-exported here, so ``catalog.X`` keeps working):

* :mod:`helpers.schema`: the file format, the fields of each kind (``SCHEMAS``), and the
  ``Source`` / ``Field`` / ``Entry`` records;
* :mod:`helpers.validate`: raw data -> records, with one-line errors (``parse_field``,
  ``parse_catalog``);
* :mod:`helpers.safe_read`: reading YAML and TOML as plain data (``read_yaml``);
* :mod:`helpers.hardware_file`: the reader's own hardware file (``hardware_file``,
  ``HARDWARE_SUFFIXES``).
"""
from __future__ import annotations

import difflib
from functools import cache

from .errors import CatalogError
from .hardware_file import HARDWARE_SUFFIXES, hardware_file
from .paths import CATALOG_DIR
from .safe_read import read_yaml
from .schema import FIELD_KEYS, SCHEMAS, TAGS, Entry, Field, Source
from .validate import parse_catalog, parse_field

__all__ = [
    "CATALOG_DIR", "FIELD_KEYS", "HARDWARE_SUFFIXES", "NOT_CATALOGS", "SCHEMAS", "TAGS",
    "CatalogError", "Entry", "Field", "Source",
    "accelerators", "hardware_file", "kinds", "load", "lookup", "models", "parse_catalog",
    "parse_field", "prices", "read_yaml",
]

NOT_CATALOGS = {"claims"}   # claims.yaml has its own loader (helpers.claims)


def kinds() -> list[str]:
    """Every catalog kind: the three fixed schemas first, then the open catalogs by name."""
    found = sorted(p.stem for p in CATALOG_DIR.glob("*.yaml")
                   if p.stem not in NOT_CATALOGS and p.stem not in SCHEMAS)
    return list(SCHEMAS) + found


@cache
def load(kind: str) -> dict[str, Entry]:
    """Load and validate one catalog (``accelerators``, ``models``, ``prices`` or an open one)."""
    path = CATALOG_DIR / f"{kind}.yaml"
    if kind in NOT_CATALOGS or not path.exists():
        close = difflib.get_close_matches(kind, kinds(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(kinds())}"
        raise CatalogError(f"unknown catalog '{kind}'{hint}")
    return parse_catalog(path.relative_to(CATALOG_DIR.parent.parent), kind, read_yaml(path))


def lookup(kind: str, key: str) -> Entry:
    """One entry by key or alias, in any case (``B200`` is ``b200``); an unknown name fails
    with the closest matches."""
    from .validate import short_repr

    cat = load(kind)
    if not isinstance(key, str) or not key.strip():
        raise CatalogError(f"no {kind[:-1]} named {short_repr(key)}; known: {', '.join(cat)}")
    wanted = key.strip().lower()
    if wanted in cat:
        return cat[wanted]
    for e in cat.values():
        if wanted in (a.lower() for a in e.text.get("aliases") or []):
            return e
    names = list(cat) + [a for e in cat.values() for a in (e.text.get("aliases") or [])]
    close = difflib.get_close_matches(wanted[:100], names, n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(cat)}"
    shown = key if len(key) <= 60 else key[:57] + "..."
    raise CatalogError(f"unknown {kind[:-1]} '{shown}'{hint}")


def accelerators() -> dict[str, Entry]:
    return load("accelerators")


def models() -> dict[str, Entry]:
    return load("models")


def prices() -> dict[str, Entry]:
    return load("prices")
