"""Which response a gateway request asks for: a raw block, a CAR, or the whole file.

The trustless gateway spec has clients ask with ``?format=`` or ``Accept`` (the query wins),
and CAR clients may add content-type parameters (``version``, ``order``, ``dups``; IPIP-412)
or the equivalent ``car-version``/``car-order``/``car-dups`` query parameters (again, the
query wins). Everything else is the deserialized file, which people and scripts want: no
``Accept``, ``*/*`` (browsers, curl), ``application/octet-stream`` or ``application/json``.
An ``Accept`` that lists nothing we serve gets 406 rather than bytes of a type the client
said it cannot use.

``Accept`` is read as RFC 9110 section 12.5.1 says: ``q`` weights, ``q=0`` meaning "not
this", the most specific range deciding a type's weight. Raw and CAR must be named
explicitly (``*/*`` never means "send me CAR bytes"); on equal weight an explicitly named
type beats a wildcard, then the earlier range wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from node.errors import LabelnetError
from node.protocol.car import DAG_SCOPES, DagScope

RAW_MEDIA_TYPE = "application/vnd.ipld.raw"
CAR_MEDIA_TYPE = "application/vnd.ipld.car"
FILE_MEDIA_TYPES = ("application/octet-stream", "application/json")
"""What the whole-file response can be (see :func:`node.api.gateway.file_media_type`)."""

ResponseKind = Literal["raw", "car", "file"]


class NegotiationError(LabelnetError, ValueError):
    """A request the gateway refuses: ``status`` 400 (malformed) or 406 (not served)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class MediaRange:
    """One entry of an ``Accept`` header: ``type/subtype`` (lowercase), its parameters
    (names lowercase, ``q`` removed), its weight and its position in the header."""

    media_type: str
    params: dict[str, str]
    q: float
    index: int

    def specificity(self) -> int:
        """2 for ``type/subtype``, 1 for ``type/*``, 0 for ``*/*``."""
        if self.media_type == "*/*":
            return 0
        return 1 if self.media_type.endswith("/*") else 2

    def matches(self, media_type: str) -> bool:
        if self.media_type in ("*/*", media_type):
            return True
        return self.media_type.endswith("/*") and media_type.startswith(self.media_type[:-1])


@dataclass(frozen=True)
class CarOptions:
    """The CAR variant to send: ``dups`` and whether the client named the variant (the
    ``version``/``order`` we send are always 1 and ``dfs``)."""

    dups: bool = False


@dataclass(frozen=True)
class Negotiated:
    """The response to send. ``named_in_query``: the URL already names it, so no
    ``Content-Location`` is needed."""

    kind: ResponseKind
    named_in_query: bool
    car: CarOptions = CarOptions()
    scope: DagScope = "all"


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header; unparseable entries are skipped."""
    ranges: list[MediaRange] = []
    for index, entry in enumerate((header or "").split(",")):
        media_type, *raw_params = (part.strip() for part in entry.split(";"))
        media_type = media_type.lower()
        if media_type.count("/") != 1:
            continue
        params: dict[str, str] = {}
        q = 1.0
        valid = True
        for raw in raw_params:
            name, _, value = raw.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    valid = False
                valid = valid and 0.0 <= q <= 1.0
            elif name:
                params[name] = value
        if valid:
            ranges.append(MediaRange(media_type, params, q, index))
    return ranges


def quality(ranges: list[MediaRange], media_type: str) -> float:
    """How much the client wants ``media_type``: the weight of the most specific range
    matching it (0 if none does), as RFC 9110 decides between overlapping ranges."""
    matching = [r for r in ranges if r.matches(media_type)]
    if not matching:
        return 0.0
    best = max(matching, key=lambda r: (r.specificity(), -r.index))
    return best.q


def file_acceptable(accept: str | None, media_type: str) -> bool:
    """Whether the whole file, once we know it is ``media_type``, may be sent."""
    ranges = parse_accept(accept)
    return not ranges or quality(ranges, media_type) > 0


def _car_options(params: dict[str, str], *, query: bool) -> CarOptions:
    """The CAR variant ``params`` (from ``Accept`` or the ``car-*`` query) ask for, or
    406 naming what we cannot send: only CARv1 in depth-first order exists here."""
    version = params.get("version", "1")
    order = params.get("order", "")
    dups = params.get("dups", "n")
    where = "car-" if query else ""
    if version != "1":
        raise NegotiationError(406, f"{where}version={version}: only CARv1 is served")
    if order not in ("", "dfs", "unk"):
        raise NegotiationError(406, f"{where}order={order}: blocks are sent in dfs order")
    if dups not in ("y", "n"):
        raise NegotiationError(406, f"{where}dups={dups}: use y or n")
    return CarOptions(dups=dups == "y")


def _best_car(ranges: list[MediaRange]) -> tuple[MediaRange, CarOptions] | None:
    """The highest-weighted CAR range whose variant we can send, with that variant."""
    best: tuple[MediaRange, CarOptions] | None = None
    for media_range in ranges:
        if media_range.media_type != CAR_MEDIA_TYPE or media_range.q <= 0:
            continue
        try:
            options = _car_options(media_range.params, query=False)
        except NegotiationError:
            continue
        if best is None or media_range.q > best[0].q:
            best = (media_range, options)
    return best


def negotiate(
    format_param: str | None,
    accept: str | None,
    car_query: dict[str, str | None],
    dag_scope: str | None,
) -> Negotiated:
    """The response a request asks for (raises :class:`NegotiationError` to refuse).

    ``car_query`` holds the ``car-version``/``car-order``/``car-dups`` query parameters
    under the names of the content-type parameters they stand for.
    """
    ranges = parse_accept(accept)
    given = {name: value for name, value in car_query.items() if value is not None}
    if format_param:
        if format_param == "raw":
            return Negotiated("raw", named_in_query=True)
        if format_param == "car":
            accepted = _best_car(ranges)
            params = {**(accepted[0].params if accepted else {}), **given}
            options = _car_options(params, query=bool(given))
            return Negotiated("car", True, options, _scope(dag_scope))
        raise NegotiationError(400, f"unsupported format {format_param!r}; use raw or car")
    if not ranges:
        return Negotiated("file", named_in_query=False)
    # (weight, explicitly named, earlier in the header): the largest wins.
    offers: list[tuple[tuple[float, int, int], Negotiated]] = []
    raw = [r for r in ranges if r.media_type == RAW_MEDIA_TYPE]
    if raw and raw[0].q > 0:
        offers.append(((raw[0].q, 1, -raw[0].index), Negotiated("raw", False)))
    car = _best_car(ranges)
    if car is not None:
        media_range, options = car
        if given:
            options = _car_options({**media_range.params, **given}, query=True)
        rank = (media_range.q, 1, -media_range.index)
        offers.append((rank, Negotiated("car", False, options, _scope(dag_scope))))
    for media_type in FILE_MEDIA_TYPES:
        weight = quality(ranges, media_type)
        if weight > 0:
            matching = [r for r in ranges if r.matches(media_type) and r.q == weight]
            first = min(r.index for r in matching)
            explicit = int(any(r.specificity() == 2 for r in matching))
            offers.append(((weight, explicit, -first), Negotiated("file", False)))
    if not offers:
        raise NegotiationError(
            406,
            f"none of the accepted types is served; ask for {RAW_MEDIA_TYPE}, "
            f"{CAR_MEDIA_TYPE}, application/octet-stream or */*",
        )
    return max(offers, key=lambda offer: offer[0])[1]


def _scope(dag_scope: str | None) -> DagScope:
    """The ``dag-scope`` of a CAR request (other requests ignore it, as the spec says)."""
    if dag_scope is None:
        return "all"
    for scope in DAG_SCOPES:
        if dag_scope == scope:
            return scope
    raise NegotiationError(400, f"unsupported dag-scope {dag_scope!r}; use block, entity or all")
