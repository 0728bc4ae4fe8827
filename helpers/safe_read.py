"""Reading YAML and TOML as plain data, safely: nothing in a file is ever run, and no file can
make the reader hang, recurse without end or fill memory.

* YAML goes through a ``SafeLoader`` (libyaml's when present: 7x faster) that also refuses a
  key written twice in one mapping (plain YAML would keep the last one silently); a tag that
  would build a Python object is an error, not an object.
* A user's file (:func:`read_data`) is opened without following it into a device or a pipe
  (``O_NONBLOCK``; anything but a regular file is refused before a byte is read), read up to
  :data:`MAX_FILE_BYTES` and no further, must be UTF-8 text, and is read as TOML when its name
  ends in ``.toml`` (any other name: YAML, then TOML).
* Before a user's YAML is built into data, its event stream (libyaml's parser keeps its own
  stack: it does not recurse) is scanned: nesting deeper than :data:`MAX_DEPTH`, more than
  :data:`MAX_ALIASES` aliases, an alias to an anchor still open (a cycle) or aliases that would
  expand the document past :data:`MAX_NODES` nodes (a "billion laughs" bomb) are refused. TOML
  is parsed (``tomllib`` recurses, so a deep file stops at Python's recursion limit, which is
  caught) and its nesting is then checked on the parsed data, without recursion.

Every problem is one :class:`~helpers.errors.CatalogError` line naming the file.
"""
from __future__ import annotations

import errno
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import yaml

from .errors import CatalogError

MAX_FILE_BYTES = 1_000_000   # a user's hardware file; `hardware show` prints ~4 kB
MAX_DEPTH = 16               # a hardware file nests 5 deep (entries.key.field.alternatives[i])
MAX_ALIASES = 32             # YAML aliases (*name) in a user's file; the catalog schema needs none
MAX_NODES = 20_000           # nodes of the document with every alias expanded (`show`: ~150)


class UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader (libyaml's when present: 7x faster) that refuses a key written twice in one
    mapping (YAML would keep the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:          # a mapping or list as a key: unhashable
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be plain text, not a mapping or list",
                    key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{_shorten(str(key))}' appears twice", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _yaml_error(path, e: yaml.YAMLError) -> CatalogError:
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}" if mark else ""
    problem = " ".join(str(getattr(e, "problem", "") or "").split())
    detail = f": {_shorten(problem, 120)}" if problem else ""
    return CatalogError(f"{path}: not valid YAML{where}{detail}")


def read_yaml(path: Path | str) -> Any:
    """A YAML file of the repository's own (a catalog) as plain data (:class:`UniqueKeyLoader`);
    a syntax error names its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise CatalogError(f"{path}: cannot be read ({e.strerror})") from None
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)   # a SafeLoader: builds no objects
    except yaml.YAMLError as e:
        raise _yaml_error(path, e) from None


# --- a user's file ---------------------------------------------------------------------------
def _refuse_special(path, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise CatalogError(f"{path}: is a folder, not a YAML or TOML file")
    if not stat.S_ISREG(mode):
        kind = ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
        raise CatalogError(f"{path}: is {kind}, not a regular file; a hardware file is a YAML "
                           "or TOML file (start from: python -m helpers hardware show "
                           "--template)")


def read_bounded(path: Path | str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them. A folder, a device, a pipe or a
    socket is refused before anything is read (``O_NONBLOCK``: opening a pipe never waits for a
    writer), and reading stops one byte past the limit, whatever ``stat`` says the size is."""
    path = Path(path)
    if str(path) in ("", "."):
        raise CatalogError("--hardware: empty; give a catalog name (see `python -m helpers "
                           "hardware list`) or a hardware file")
    try:                   # refuse a device, pipe or socket before opening it (no side effects)
        _refuse_special(path, os.stat(path).st_mode)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        if e.errno == errno.EISDIR:
            raise CatalogError(f"{path}: is a folder, not a YAML or TOML file") from None
        raise CatalogError(f"{path}: cannot be read ({e.strerror})") from None
    try:
        info = os.fstat(fd)
        _refuse_special(path, info.st_mode)   # what was opened, not what was looked at
        if info.st_size > limit:
            raise CatalogError(f"{path}: {info.st_size:,} bytes is too large for a hardware file "
                               f"(at most {limit:,}; `hardware show` prints ~4 kB)")
        chunks, size = [], 0
        while size <= limit:
            try:
                chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            except BlockingIOError:     # cannot happen on a regular file; never wait anyway
                break
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise CatalogError(f"{path}: cannot be read ({e.strerror})") from None
    finally:
        os.close(fd)
    if size > limit:
        raise CatalogError(f"{path}: more than {limit:,} bytes is too large for a hardware file "
                           f"(at most {limit:,}; `hardware show` prints ~4 kB)")
    return b"".join(chunks)


def _scan_yaml_events(path, text: str) -> None:
    """Refuse, before anything is built, a YAML document that nests too deep or whose aliases
    would expand it past :data:`MAX_NODES` nodes (or refer to an anchor still open: a cycle)."""
    sizes: dict[str, int] = {}        # anchor -> expanded nodes under it (closed anchors)
    open_: list[tuple[str | None, int]] = []   # collections being read: (anchor, nodes before)
    nodes = aliases = 0
    collection_start = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    collection_end = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    for event in yaml.parse(text, Loader=UniqueKeyLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise CatalogError(f"{path}: more than {MAX_ALIASES} YAML aliases (*name); a "
                                   "hardware file needs none: write each value out")
            if event.anchor not in sizes:
                raise CatalogError(f"{path}: YAML alias '*{_shorten(str(event.anchor))}' refers "
                                   "to an anchor that is not complete (a cycle) or not defined")
            nodes += sizes[event.anchor]
        elif isinstance(event, collection_start):
            nodes += 1
            open_.append((event.anchor, nodes))
            if len(open_) > MAX_DEPTH:
                raise CatalogError(f"{path}: nested more than {MAX_DEPTH} levels deep; a "
                                   "hardware file nests 5 (entries, entry, field, alternatives)")
        elif isinstance(event, collection_end):
            anchor, before = open_.pop()
            if anchor is not None:
                sizes[anchor] = nodes - before + 1
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        if nodes > MAX_NODES:
            raise CatalogError(f"{path}: expands to more than {MAX_NODES:,} values (YAML aliases "
                               "repeating others); a hardware file has about 150")


def _check_depth(path, data: Any) -> None:
    """Nesting of parsed data, without recursion."""
    stack = [(data, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise CatalogError(f"{path}: nested more than {MAX_DEPTH} levels deep; a hardware "
                               "file nests 5 (entries, entry, field, alternatives)")
        if count > MAX_NODES:
            raise CatalogError(f"{path}: more than {MAX_NODES:,} values; a hardware file has "
                               "about 150")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _parse_yaml(path, text: str) -> Any:
    try:
        _scan_yaml_events(path, text)
        return yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.YAMLError as e:
        raise _yaml_error(path, e) from None
    except RecursionError:
        raise CatalogError(f"{path}: nested too deeply") from None


def _parse_toml(path, text: str) -> Any:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"{path}: not valid TOML: {_shorten(str(e).splitlines()[0], 120)}") \
            from None
    except RecursionError:
        raise CatalogError(f"{path}: nested more than {MAX_DEPTH} levels deep; a hardware file "
                           "nests 5 (entries, entry, field, alternatives)") from None
    _check_depth(path, data)
    return data


def read_data(path: Path | str) -> Any:
    """A user's catalog-schema file: YAML, or TOML when it ends in ``.toml`` (any other name is
    tried as YAML, then as TOML). Both are read as plain data: nothing in them is ever run."""
    path = Path(path)
    raw = read_bounded(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not a text file; a hardware file is YAML or TOML "
                           "(start from: python -m helpers hardware show --template)") from None
    if "\x00" in text:
        raise CatalogError(f"{path}: not a text file (it holds NUL bytes); a hardware file is "
                           "YAML or TOML")
    if not text.strip():
        raise CatalogError(f"{path}: file is empty; start from: python -m helpers hardware show "
                           f"--template > {_shorten(path.name)}")
    if path.suffix == ".toml":
        return _parse_toml(path, text)
    try:
        data = _parse_yaml(path, text)
    except CatalogError as yaml_error:
        if path.suffix in (".yaml", ".yml"):
            raise
        try:
            return _parse_toml(path, text)
        except CatalogError:
            raise CatalogError(f"{path}: neither valid YAML nor valid TOML "
                               f"({str(yaml_error).split(': ', 1)[1]})") from None
    _check_depth(path, data)
    return data
