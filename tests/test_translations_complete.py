"""One language at a time: every msgid has a Russian and a Kazakh translation, and the catalogues hold every
string the code and templates mark (what `makemessages` would extract)."""
import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.po import parse

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = ("ru", "kk")
SOURCES = ("avatars", "avatarsite", "generation", "templates")  # where marked strings live


def catalogue(language: str) -> Path:
    return ROOT / "locale" / language / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language):
    missing = [e.msgid for e in parse(catalogue(language)) if e.msgid and not e.translated]
    assert missing == [], f"{len(missing)} untranslated or fuzzy in {language}: {missing[:10]}"


def test_english_has_no_fuzzy_guesses():
    """A fuzzy English entry would be a wrong sentence the moment someone compiles with --use-fuzzy."""
    assert [e.msgid for e in parse(catalogue("en")) if e.msgid and e.fuzzy] == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_compiled_catalogues_are_current(language):
    """The .mo next to each .po says what the .po says (msgfmt was run after the last edit)."""
    po = catalogue(language)
    with open(po.with_suffix(".mo"), "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in parse(po):
        if not entry.msgid or entry.plural is not None:
            continue
        found = compiled.pgettext(entry.context, entry.msgid) if entry.context else compiled.gettext(entry.msgid)
        if found != entry.msgstrs[0]:
            stale.append(entry.msgid)
    assert stale == [], f"run msgfmt in locale/{language}/LC_MESSAGES: {stale[:5]}"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The msgids `makemessages` finds in a copy of the sources (the repository's catalogues stay untouched)."""
    copy = tmp_path_factory.mktemp("extract")
    for name in SOURCES:
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    shutil.copytree(ROOT / "locale", copy / "locale")
    env = {"DEBUG": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy)}
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "ru", "--no-obsolete", "--no-location"],
                   cwd=copy, env=env, check=True, capture_output=True, timeout=300)
    return {e.key for e in parse(copy / "locale" / "ru" / "LC_MESSAGES" / "django.po") if e.msgid}


def test_makemessages_finds_nothing_new(extracted):
    known = {e.key for e in parse(catalogue("ru")) if e.msgid}
    assert sorted(extracted - known, key=str) == []
