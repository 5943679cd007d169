"""FHIR search over one :class:`~ingestion.ehr.api.index.TypeIndex`: parameters, paging, Bundles.

Supported: ``_lastUpdated=gt<instant>`` or ``ge<instant>`` and ``_count`` (default 100, at
most 1000; 0 returns only ``total``). Results are sorted by (``meta.lastUpdated``, id), so
paging is keyset paging: the opaque ``_cursor`` of a ``next`` link holds the filter, the page
size and the (lastUpdated, id) of the last entry served. Unlike offsets, such a cursor stays
correct while new batches land between two pages: nothing is skipped or served twice, and a
resource updated meanwhile simply reappears, current, at the end.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote

import orjson

from ingestion.ehr.api.index import Entry, instant_us

DEFAULT_COUNT = 100
MAX_COUNT = 1000
CURSOR_PARAM = "_cursor"
_CURSOR_VERSION = 1


class SearchError(ValueError):
    """A search the server cannot run: answered with 400 and an OperationOutcome."""


@dataclass(frozen=True)
class SearchQuery:
    op: str | None  # "gt" | "ge" | None (no _lastUpdated filter)
    bound_us: int | None
    count: int
    after: tuple[int, str] | None = None  # keyset position: (lastUpdated µs, id) of the last entry served


@dataclass(frozen=True)
class SearchPage:
    total: int
    entries: list[Entry]
    next_query: SearchQuery | None


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise SearchError(f"{name} may be given once")
    return values[0]


def _parse_count(text: str | None) -> int:
    if text is None:
        return DEFAULT_COUNT
    try:
        count = int(text)
    except ValueError:
        raise SearchError("_count must be a non-negative integer") from None
    if count < 0:
        raise SearchError("_count must be a non-negative integer")
    return min(count, MAX_COUNT)  # as FHIR servers do: a larger page size is capped, not refused


def _parse_last_updated(text: str | None) -> tuple[str | None, int | None]:
    if text is None:
        return None, None
    # an unencoded "+00:00" arrives as " 00:00" (curl users): no instant contains a space
    op, value = text[:2], text[2:].replace(" ", "+")
    if op not in ("gt", "ge"):
        raise SearchError(
            "_lastUpdated supports the prefixes gt and ge, e.g. _lastUpdated=gt2025-03-01T00:00:00Z"
        )
    if "T" not in value:
        raise SearchError("_lastUpdated needs a full instant with a time and an offset")
    micros = instant_us(value)
    if micros is None:
        raise SearchError("_lastUpdated is not an ISO 8601 instant")
    return op, micros


def parse_search(params: Mapping[str, Sequence[str]]) -> SearchQuery:
    """The query of a search request; a ``_cursor`` (from a ``next`` link) carries all of it.

    Parameters the server does not know are ignored, as FHIR's lenient handling prescribes.
    """
    cursor = _single(params, CURSOR_PARAM)
    if cursor is not None:
        return decode_cursor(cursor)
    op, bound = _parse_last_updated(_single(params, "_lastUpdated"))
    return SearchQuery(op=op, bound_us=bound, count=_parse_count(_single(params, "_count")))


def encode_cursor(query: SearchQuery) -> str:
    after = list(query.after) if query.after else None
    document = [_CURSOR_VERSION, query.op, query.bound_us, query.count, after]
    return base64.urlsafe_b64encode(orjson.dumps(document)).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> SearchQuery:
    """Inverse of :func:`encode_cursor`; anything else is a 400, never a server error."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, op, bound, count, after = orjson.loads(base64.urlsafe_b64decode(padded))
        valid = (
            version == _CURSOR_VERSION
            and op in (None, "gt", "ge")
            and (bound is None) == (op is None)
            and (bound is None or type(bound) is int)
            and type(count) is int
            and 0 < count <= MAX_COUNT
            and (after is None or (type(after[0]) is int and type(after[1]) is str and len(after) == 2))
        )
    except (ValueError, TypeError, IndexError, binascii.Error, orjson.JSONDecodeError):
        valid = False
    if not valid:
        raise SearchError("_cursor is not a cursor this server issued")
    return SearchQuery(op=op, bound_us=bound, count=count, after=tuple(after) if after else None)


def _instant(entry: Entry) -> int:
    return entry.instant_us


def _position(entry: Entry) -> tuple[int, str]:
    return entry.instant_us, entry.id


def run_search(entries: list[Entry], query: SearchQuery) -> SearchPage:
    """One page of ``entries`` (sorted by lastUpdated, id) for ``query``: O(log n) plus the page."""
    if query.bound_us is None:
        low = 0
    elif query.op == "gt":
        low = bisect_right(entries, query.bound_us, key=_instant)
    else:
        low = bisect_left(entries, query.bound_us, key=_instant)
    start = low if query.after is None else max(low, bisect_right(entries, query.after, key=_position))
    page = entries[start : start + query.count]
    more = query.count > 0 and start + query.count < len(entries)
    next_query = replace(query, after=_position(page[-1])) if more and page else None
    return SearchPage(total=len(entries) - low, entries=page, next_query=next_query)


def render_bundle(
    *, self_url: str, next_url: str | None, total: int, resource_base: str, resources: list[tuple[str, bytes]]
) -> bytes:
    """A searchset Bundle around raw resource bytes (already valid JSON: spliced, not re-encoded).

    ``resources`` holds (id, raw JSON); ``fullUrl`` is ``{resource_base}/{id}``.
    """
    links = [{"relation": "self", "url": self_url}]
    if next_url is not None:
        links.append({"relation": "next", "url": next_url})
    head = orjson.dumps({"resourceType": "Bundle", "type": "searchset", "total": total, "link": links})
    entries = b",".join(
        b'{"fullUrl":'
        + orjson.dumps(f"{resource_base}/{quote(resource_id, safe='')}")
        + b',"resource":'
        + raw
        + b',"search":{"mode":"match"}}'
        for resource_id, raw in resources
    )
    return head[:-1] + b',"entry":[' + entries + b"]}"
