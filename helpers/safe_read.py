"""Reading YAML and TOML as plain data, safely: nothing in a file is ever run.

* YAML goes through a ``SafeLoader`` (libyaml's when present: 7x faster) that also refuses a
  key written twice in one mapping (plain YAML would keep the last one silently); a tag that
  would build a Python object is an error, not an object.
* A user's file (:func:`read_data`) is at most :data:`MAX_FILE_BYTES`, must be UTF-8 text, and
  is read as TOML when its name ends in ``.toml`` (any other name: YAML, then TOML).

Every problem is one :class:`~helpers.errors.CatalogError` line naming the file.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from .errors import CatalogError

MAX_FILE_BYTES = 1_000_000   # a user's hardware file; `hardware show` prints ~4 kB


class UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader (libyaml's when present: 7x faster) that refuses a key written twice in one
    mapping (YAML would keep the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path | str) -> Any:
    """A YAML file as plain data (:class:`UniqueKeyLoader`); a syntax error names its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise CatalogError(f"{path}: cannot be read ({e.strerror})") from None
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)   # a SafeLoader: builds no objects
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(e, "problem", "") or "").split())
        detail = f": {problem}" if problem else ""
        raise CatalogError(f"{path}: not valid YAML{where}{detail}") from None


def read_data(path: Path | str) -> Any:
    """A user's catalog-schema file: YAML, or TOML when it ends in ``.toml`` (any other name is
    tried as YAML, then as TOML). Both are read as plain data: nothing in them is ever run."""
    path = Path(path)
    if path.is_dir():
        raise CatalogError(f"{path}: is a folder, not a YAML or TOML file")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CatalogError(f"{path}: {path.stat().st_size:,} bytes is too large for a hardware "
                               f"file (at most {MAX_FILE_BYTES:,}; `hardware show` prints ~4 kB)")
        raw = path.read_bytes()
    except OSError as e:
        raise CatalogError(f"{path}: cannot be read ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not a text file; a hardware file is YAML or TOML "
                           "(start from: python -m helpers hardware show h100)") from None
    if not text.strip():
        raise CatalogError(f"{path}: file is empty; start from: python -m helpers hardware show "
                           f"h100 > {path.name}")
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise CatalogError(f"{path}: not valid TOML: {str(e).splitlines()[0]}") from None
    try:
        return read_yaml(path)
    except CatalogError as yaml_error:
        if path.suffix in (".yaml", ".yml"):
            raise
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            raise CatalogError(f"{path}: neither valid YAML nor valid TOML "
                               f"({str(yaml_error).split(': ', 1)[1]})") from None
