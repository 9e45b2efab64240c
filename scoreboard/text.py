"""What counts as text: every string the service accepts is valid UTF-8 without NUL.

Python strings can hold what UTF-8 cannot: a lone surrogate (JSON's "\\ud800", or a header byte
that is not UTF-8, decoded with surrogateescape). Stored, such a string cannot be encoded to
send to a fan or render on a page; NUL truncates text in many a C string and terminal. So both
are refused where they enter (a 422 naming the field), and what is already stored is sent with
the offending characters replaced (`encode_text`), never left to fail a whole answer.

Standard library only: the edge (web/) and the live message builder (frames.py) both use it.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import Any

NOT_TEXT = "must be UTF-8 text without NUL characters or lone surrogates (\\ud800-\\udfff)"
# In raw JSON, a lone surrogate or NUL can only come from a \\u escape (raw control characters
# and invalid UTF-8 bytes are refused by the parser and the decoder), so a body without one of
# these is known clean without looking at its parsed strings. A surrogate pair matches too;
# the parsed strings then tell the pair (one valid character) from a lone half.
SUSPECT_ESCAPE = re.compile(r"\\u(?:[dD][89abcdefABCDEF]|0000)")
SUSPECT_ESCAPE_BYTES = re.compile(rb"\\u(?:[dD][89abcdefABCDEF]|0000)")
REPLACEMENT_BYTES = "\ufffd".encode()


def is_text(value: str) -> bool:
    """Whether `value` is valid UTF-8 text without NUL (cheap for ASCII, the usual case)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def bad_text_fields(document: Any) -> dict[str, Any]:
    """The strings of a parsed JSON document that are not text, as an error tree keyed like
    the document (object keys and list positions), e.g. {"0": {"player": [NOT_TEXT]}}."""
    found: dict[str, Any] = {}
    for path in _bad_paths(document, ()):
        node = found
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = [NOT_TEXT]
    return found


def _bad_paths(document: Any, root: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    # A loop, not recursion: a document may be nested as deep as the JSON parser allows.
    pending: list[tuple[Any, tuple[str, ...]]] = [(document, root)]
    while pending:
        value, path = pending.pop()
        if isinstance(value, str):
            if not is_text(value):
                yield path or ("_schema",)
        elif isinstance(value, dict):
            for key, item in value.items():
                if not is_text(key):
                    yield (*path, _printable(key))
                else:
                    pending.append((item, (*path, key)))
        elif isinstance(value, list):
            pending.extend((item, (*path, str(index))) for index, item in enumerate(value))


def _printable(value: str) -> str:
    """A name for a key that is not text itself: its offending characters escaped."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def may_hold_bad_text(raw: str | bytes) -> bool:
    """False when raw JSON cannot hold a lone surrogate or NUL (see SUSPECT_ESCAPE)."""
    if isinstance(raw, bytes):
        return b"\\u" in raw and SUSPECT_ESCAPE_BYTES.search(raw) is not None
    return "\\u" in raw and SUSPECT_ESCAPE.search(raw) is not None


def _replace_surrogates(error: UnicodeError) -> tuple[bytes, int]:
    # Bytes, not str: the UTF-8 encoder takes only ASCII text back from an error handler.
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return REPLACEMENT_BYTES * (error.end - error.start), error.end


codecs.register_error("scoreboard.replace", _replace_surrogates)


def encode_text(text: str) -> bytes:
    """`text` as UTF-8, lone surrogates (from data stored before they were refused) replaced
    by U+FFFD instead of failing the whole answer."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "scoreboard.replace")
