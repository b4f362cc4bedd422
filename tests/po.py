"""A small reader for gettext .po files (what the translation tests need; no dependency).

    entries = parse(path)   # [Entry(context, msgid, plural, msgstrs, fuzzy, lines)], the header first
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Entry:
    context: str | None = None
    msgid: str = ""
    plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    fuzzy: bool = False
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return self.context, self.msgid

    @property
    def translated(self) -> bool:
        return not self.fuzzy and bool(self.msgstrs) and all(self.msgstrs)


def _string(line: str) -> str:
    """The C-style quoted string at the end of a .po line."""
    return ast.literal_eval(line[line.index('"'):])


def parse(path: str | Path) -> list[Entry]:
    """Every entry of a .po file, the header (msgid "") included."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: str | None = None
    for raw in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if current is not None:
                entries.append(current)
            current, target = None, None
            continue
        if current is None:
            current = Entry()
        if line.startswith("#~"):
            current.obsolete = True
            continue
        if line.startswith("#,"):
            current.fuzzy = current.fuzzy or "fuzzy" in line
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            value = _string(line)
        else:
            keyword = line.split(" ", 1)[0]
            value = _string(line)
            target = keyword
            if keyword == "msgctxt":
                current.context = ""
            elif keyword == "msgid_plural":
                current.plural = ""
            elif keyword.startswith("msgstr"):
                current.msgstrs.append("")
        if target == "msgctxt":
            current.context += value
        elif target == "msgid":
            current.msgid += value
        elif target == "msgid_plural":
            current.plural += value
        elif target and target.startswith("msgstr"):
            current.msgstrs[-1] += value
    return [e for e in entries if not e.obsolete]
