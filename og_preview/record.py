"""The one record og-preview produces for every URL, and its serialisation."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

#: A cached page's validators, `(ETag, Last-Modified)`, for a conditional refetch.
Validators = tuple[str | None, str | None]


class Status(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    ERROR = "error"


class ErrorKind(StrEnum):
    INVALID_URL = "invalid_url"
    BLOCKED = "blocked"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    HTTP = "http"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    CHALLENGE = "challenge"
    TOO_LARGE = "too_large"
    NOT_HTML = "not_html"
    DECODE = "decode"
    PARSE_TIMEOUT = "parse_timeout"  # extraction ran past --parse-timeout
    INTERRUPTED = "interrupted"
    INTERNAL = "internal"  # a failure of og-preview itself (a bug, a dead worker)


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorInfo:
    kind: ErrorKind
    message: str
    http_status: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "message": self.message, "http_status": self.http_status}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorInfo:
        return cls(
            kind=ErrorKind(data["kind"]),
            message=str(data.get("message") or ""),
            http_status=data.get("http_status"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Metadata:
    """What extraction finds in one page: the record's content fields."""

    title: str | None = None
    description: str | None = None
    image: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list)
    site_name: str | None = None
    type: str | None = None
    canonical_url: str | None = None
    locale: str | None = None
    lang: str | None = None
    author: str | None = None
    published: str | None = None
    icon: str | None = None
    og: dict[str, Any] = field(default_factory=dict)
    twitter: dict[str, Any] = field(default_factory=dict)
    jsonld: list[Any] = field(default_factory=list)

    def as_fields(self) -> dict[str, Any]:
        """The fields as keyword arguments for `Preview` (shallow, no copies)."""
        return {name: getattr(self, name) for name in METADATA_KEYS}


def _internal(default: Any) -> Any:
    """A `Preview` field that is not a record key: the cache and the fetch use it, the
    JSON object leaves it out, and records compare equal whatever its value."""
    return field(default=default, compare=False, repr=False, metadata={"internal": True})


@dataclass(frozen=True, slots=True, kw_only=True)
class Preview:
    """One JSON object per input URL; unknown values are None, never missing."""

    url: str
    final_url: str | None = None
    status: Status
    http_status: int | None = None
    content_type: str | None = None
    title: str | None = None
    description: str | None = None
    image: str | None = None
    images: list[dict[str, Any]] = field(default_factory=list)
    site_name: str | None = None
    type: str | None = None
    canonical_url: str | None = None
    locale: str | None = None
    lang: str | None = None
    author: str | None = None
    published: str | None = None
    icon: str | None = None
    og: dict[str, Any] = field(default_factory=dict)
    twitter: dict[str, Any] = field(default_factory=dict)
    jsonld: list[Any] = field(default_factory=list)
    error: ErrorInfo | None = None
    attempts: int = 0
    fetched_at: str | None = None
    from_cache: bool = False
    #: A fetched record: did title, description, image, site_name, type or canonical_url
    #: change from the cached previous version (None: a first fetch, or from the cache).
    changed: bool | None = None
    #: {"kind", "message", "at"} of the latest refetch's failure when the good record was
    #: kept (see `last_error_of`), else None.
    last_error: dict[str, Any] | None = None
    #: `--check-images`' look at `image`: {"status", "http_status", "content_type",
    #: "bytes", "width", "height"}, else None.
    image_check: dict[str, Any] | None = None
    # Internal fields, not record keys (never in `to_dict()` unless asked, ignored by ==):
    #: the page's validators from its response headers, for a conditional refetch
    etag: str | None = _internal(None)
    last_modified: str | None = _internal(None)
    #: a 304 answered a conditional refetch: the cached record stands
    revalidated: bool = _internal(False)

    @property
    def ok(self) -> bool:
        return self.status is Status.PROCESSED

    def to_dict(self, *, internal: bool = False) -> dict[str, Any]:
        """The JSON object, keys in SPEC order. Shallow: nested values are shared, not copied
        (they are JSON-ready already), so treat the result as read-only or copy it.

        `internal=True` adds the internal fields after the record keys (`etag`,
        `last_modified`, `revalidated`), for a record crossing to another process;
        `from_dict` reads them back."""
        names = _ALL_FIELDS if internal else RECORD_KEYS
        data = {name: getattr(self, name) for name in names}
        data["status"] = self.status.value
        data["error"] = self.error.to_dict() if self.error else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preview:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["status"] = Status(values.get("status") or Status.ERROR)
        err = values.get("error")
        values["error"] = ErrorInfo.from_dict(err) if isinstance(err, dict) else None
        for key, empty in (("images", list), ("og", dict), ("twitter", dict), ("jsonld", list)):
            if values.get(key) is None:
                values[key] = empty()
        values["from_cache"] = bool(values.get("from_cache"))
        values["attempts"] = int(values.get("attempts") or 0)
        changed = values.get("changed")
        values["changed"] = None if changed is None else bool(changed)
        for key in ("last_error", "image_check"):
            if not isinstance(values.get(key), dict):
                values[key] = None
        values["revalidated"] = bool(values.get("revalidated"))
        return cls(**values)

    def with_changes(self, **changes: Any) -> Preview:
        return replace(self, **changes)


#: The record's keys, in SPEC order: every `Preview` field but the internal ones.
RECORD_KEYS: tuple[str, ...] = tuple(
    f.name for f in fields(Preview) if not f.metadata.get("internal")
)
#: The internal fields (not record keys), in field order.
INTERNAL_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(Preview) if f.metadata.get("internal")
)
_ALL_FIELDS = RECORD_KEYS + INTERNAL_FIELDS
METADATA_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Metadata))


def error_preview(
    url: str,
    kind: ErrorKind,
    message: str,
    *,
    http_status: int | None = None,
    final_url: str | None = None,
    attempts: int = 0,
    fetched_at: str | None = None,
    content_type: str | None = None,
) -> Preview:
    """A failed URL: a record with status `error`, never an exception."""
    return Preview(
        url=url,
        final_url=final_url,
        status=Status.ERROR,
        http_status=http_status,
        content_type=content_type,
        error=ErrorInfo(kind=kind, message=message, http_status=http_status),
        attempts=attempts,
        fetched_at=fetched_at,
    )


def last_error_of(error: ErrorInfo, at: str) -> dict[str, Any]:
    """A record's `last_error`: the failure `error` of a refetch at `at` (ISO 8601 UTC)."""
    return {"kind": str(error.kind), "message": error.message, "at": at}


def one_line(text: object, limit: int = 200) -> str:
    """`text` on one line (white space collapsed), cut to `limit` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def describe(exc: BaseException) -> str:
    """An exception as people read it in a message: `RuntimeError: what it said`."""
    detail = str(exc).strip()
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def internal_error(url: str, problem: BaseException | str) -> Preview:
    """The record of a URL lost to a failure of og-preview itself (a bug, a worker that
    died): kind `internal`, never a network kind. `problem`: the exception, or what
    happened in words."""
    if isinstance(problem, BaseException):
        problem = describe(problem)
    return error_preview(url, ErrorKind.INTERNAL, one_line(f"internal error: {problem}"))
