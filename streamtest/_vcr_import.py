"""Turn vcrpy cassettes (YAML or JSON) into chunk cassettes: `import_vcr`.

vcrpy keeps a streamed body as one string. Here each body is cut into one chunk per event
(SSE block, NDJSON line, JSON-array element, AWS event-stream frame; gzip bodies are cut in the
compressed bytes where each event becomes readable), so the chunks join to exactly the stored
body. vcrpy kept no timing, so none is invented: the interactions are marked ``timing:
unknown`` and replay them instantly, or ``untimed_gap`` seconds apart when asked.

The files are read with vcrpy's own safe YAML loader (it refuses ``!!python/object`` tags) and
its body conversion, so whatever vcrpy replays, this imports. pydantic-ai's variant, which keeps
JSON bodies as ``parsed_body``, is rebuilt the way its serializer does (``json.dumps``).
"""

from __future__ import annotations

import io
import json
import reprlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._core import fileformat
from ._core.errors import CassetteError, StreamtestError
from ._core.framing import FramingError, split_events
from ._core.model import Cassette, Chunk, Headers, Interaction, Request, Response, header_value
from ._core.redaction import Redaction, Scrubber
from ._version import __version__

_FIX = (
    "Check that it is a vcrpy cassette (a mapping with an 'interactions' list of "
    "request/response pairs); convert the other files on their own."
)


class _BadInteraction(ValueError):
    """What is wrong with one interaction; becomes a CassetteError naming the file."""


def import_vcr(src: str | Path, dest: str | Path, *, redact: Redaction | None = None) -> Cassette:
    """Convert the vcrpy cassette ``src`` into the chunk cassette ``dest`` and return it.

    Secrets are redacted by the same rules as recording (``redact``, default `Redaction()`).
    A file that cannot be read as a vcrpy cassette raises `CassetteError` naming the file and,
    where it applies, the interaction; ``dest`` is then left as it was.
    """
    src, dest = Path(src), Path(dest)
    interactions = _read_interactions(src)
    scrubber = (Redaction() if redact is None else redact).scrubber()
    converted = []
    for index, raw in enumerate(interactions):
        try:
            converted.append(_interaction(raw, scrubber))
        except (
            _BadInteraction,
            FramingError,
            ValueError,  # a URL urlsplit refuses, a circular body, text that is not Unicode
            TypeError,
            AttributeError,
            OverflowError,
            RecursionError,
        ) as exc:
            raise CassetteError(
                src, f"interaction {index} cannot be imported: {exc}", fix=_FIX
            ) from exc
    cassette = Cassette(dest, converted)
    fileformat.save(cassette, recorded_with=f"streamtest {__version__} (import-vcr)")
    return cassette


_MAX_DEPTH = 1000
_MAX_NODES = 10_000_000


def _check_yaml(src: Path, text: str) -> None:
    """Refuse YAML nested deeper than libyaml's composer survives, or whose aliases expand to
    more nodes than any cassette holds (billion laughs), before anything is built."""
    import yaml  # type: ignore[import-untyped, unused-ignore]

    sizes: dict[str, int] = {}
    stack: list[list[Any]] = [[0, None]]
    nodes = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        size = 0
        if isinstance(event, yaml.AliasEvent):
            size = sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            stack.append([1, event.anchor])
            if len(stack) > _MAX_DEPTH:
                raise CassetteError(
                    src,
                    "it nests deeper than 1000 levels.",
                    line=event.start_mark.line + 1,
                    fix=_FIX,
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            count, anchor = stack.pop()
            if anchor:
                sizes[anchor] = count
            size = count
        stack[-1][0] += size
        nodes += size if isinstance(event, yaml.AliasEvent) else 1
        if nodes > _MAX_NODES or stack[-1][0] > _MAX_NODES:
            raise CassetteError(
                src,
                "its aliases expand to too many values.",
                line=event.start_mark.line + 1,
                fix=_FIX,
            )


def _safe_load(text: str) -> Any:
    import yaml  # type: ignore[import-untyped, unused-ignore]

    class Loader(yaml.CSafeLoader):  # type: ignore[misc]  # PyYAML ships no types: Any
        pass

    Loader.add_constructor(
        "tag:yaml.org,2002:python/tuple",
        lambda loader, node: tuple(loader.construct_sequence(node)),
    )
    return yaml.load(text, Loader=Loader)


def _read_interactions(src: Path) -> list[Any]:
    from vcr.serializers import jsonserializer, yamlserializer

    try:
        text = src.read_text(encoding="utf-8")
    except OSError as exc:
        raise CassetteError(src, f"it cannot be read ({exc.strerror or exc}).") from exc
    except UnicodeDecodeError as exc:
        raise CassetteError(src, f"it is not UTF-8 text ({exc}).", fix=_FIX) from exc
    as_json = src.suffix.lower() == ".json" or text.lstrip().startswith("{")
    serializer = jsonserializer if as_json else yamlserializer
    try:
        if not as_json:
            _check_yaml(src, text)
        data = serializer.deserialize(text) if as_json else _safe_load(text)
    except CassetteError:
        raise
    except Exception as exc:  # yaml and json raise many kinds; all mean "not readable"
        kind = "JSON" if as_json else "YAML"
        raise CassetteError(src, f"it is not readable {kind} ({exc}).", fix=_FIX) from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("interactions"), list):
        raise CassetteError(src, "it has no 'interactions' list.", fix=_FIX)
    return list(data["interactions"])


def _interaction(raw: Any, scrubber: Scrubber) -> Interaction:
    if not isinstance(raw, Mapping):
        raise _BadInteraction("it is not a mapping.")
    request, response = raw.get("request"), raw.get("response")
    if not isinstance(request, Mapping) or not isinstance(response, Mapping):
        raise _BadInteraction("it needs a 'request' and a 'response' mapping.")
    live = _request(request)
    for text in (live.method, live.url, *(part for pair in live.headers for part in pair)):
        text.encode("utf-8")  # UnicodeEncodeError (a ValueError) for lone surrogates
    return Interaction(scrubber.request(live), scrubber.response(_response(response, live.url)))


def _request(raw: Mapping[str, Any]) -> Request:
    method, url = raw.get("method"), raw.get("uri", raw.get("url"))
    if not isinstance(method, str) or not isinstance(url, str):
        raise _BadInteraction("its request needs a 'method' and a 'uri' string.")
    headers = _headers(raw.get("headers"), "request")
    body: Any = raw.get("body")
    if "parsed_body" in raw:
        body = _rebuilt_json(raw["parsed_body"], headers)
    return Request(method.upper(), url, headers, _bytes(body))


def _response(raw: Mapping[str, Any], url: str) -> Response:
    from vcr.serializers import compat

    given = raw.get("body")
    if isinstance(given, Mapping) and not isinstance(given.get("string"), str | bytes | None):
        kind = type(given.get("string")).__name__
        raise _BadInteraction(f"its response body string is a {kind}.")
    raw = compat.convert_to_bytes(dict(raw))  # vcrpy's own str -> bytes step for body.string
    headers = _headers(raw.get("headers"), "response")
    body: Any = raw.get("body")
    if "parsed_body" in raw:
        body = _rebuilt_json(raw["parsed_body"], headers)
    elif isinstance(body, Mapping):
        parsed = "parsed_body" in body
        body = _rebuilt_json(body["parsed_body"], headers) if parsed else body.get("string")
    data = _bytes(body)
    try:
        pieces = split_events(
            data,
            content_type=header_value(headers, "content-type"),
            content_encoding=header_value(headers, "content-encoding"),
            url=url,
        )
    except FramingError:
        raise
    except StreamtestError:  # an encoding (br, zstd) the standard library cannot undo:
        pieces = [data] if data else []  # kept exact, in one chunk, as vcrpy had it
    chunks = tuple(Chunk(0.0, piece) for piece in pieces)
    return Response(_status(raw.get("status")), headers, chunks, timed=False)


def _rebuilt_json(value: Any, headers: Headers) -> str:
    """The bytes of a body pydantic-ai stored parsed. The original spacing is lost, so take the
    usual serializations and keep the one whose length is the recorded Content-Length (servers
    and SDKs send compact JSON); without a match, what pydantic-ai's serializer replays."""
    replayed = json.dumps(value)
    length = header_value(headers, "content-length")
    for ensure_ascii in (False, True):
        compact = json.dumps(value, ensure_ascii=ensure_ascii, separators=(",", ":"))
        if length is not None and length.strip() == str(len(compact.encode("utf-8"))):
            return compact
    return replayed


def _status(raw: Any) -> int:
    code: Any = raw.get("code") if isinstance(raw, Mapping) else raw
    try:
        status = int(code)
    except (TypeError, ValueError, OverflowError):
        raise _BadInteraction(f"its response status {reprlib.repr(raw)} is not a number.") from None
    if not 100 <= status <= 999:
        raise _BadInteraction(f"its response status {status} is not an HTTP status.")
    return status


def _headers(raw: Any, where: str) -> Headers:
    """vcrpy stores ``{name: [values]}`` (older files: ``{name: value}``); keep every value."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise _BadInteraction(f"its {where} headers are not a mapping.")
    pairs = []
    for name, values in raw.items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name), _text(value)))
    return tuple(pairs)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if not isinstance(value, str | int | float | bool | None):
        raise _BadInteraction(f"a header value is a {type(value).__name__}.")
    return str(value)


def _bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, io.BytesIO):  # old vcrpy files keep file-like bodies this way
        return body.getvalue()
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, Mapping | list):
        return json.dumps(body).encode("utf-8")
    raise _BadInteraction(f"a body of type {type(body).__name__} cannot be read.")
