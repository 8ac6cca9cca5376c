"""What each recorded chunk adds to the answer, for typing a stream out as it arrived.

    pieces_per_chunk(interaction) -> Output(api, chunks=[[Piece, ...] per chunk], end=[...])

The body is decompressed and framed exactly as `streamtest.aggregate` frames it, then decoded
chunk by chunk, so each piece belongs to the chunk that completed its event. Each event of a
known API is mapped to its own delta: OpenAI chat ``choices[0].delta`` (content, reasoning,
refusal, tool call fragments), Responses ``response.*.delta`` events, Anthropic
``content_block_start``/``content_block_delta``, Gemini parts and Ollama lines. An unknown API
gives its events as raw lines (``event: ...``, ``data: ...``). A body that is one JSON document
(not streamed) gives its whole aggregate at the end. ``end`` holds what comes after the last
chunk: a recorded transport error, or a body cut where its framing does not allow it.

This is the per-event twin of the SDK accumulators `aggregate` relies on: it only has to be
right about what to print, not about the final structure, so it reads the raw JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .._core.errors import StreamtestError
from .._core.framing import ContentDecoder, Event, Framing, FramingError
from .._core.framing.body import STREAMED_FRAMINGS, decoder_for, detect_framing
from .._core.model import Interaction
from .._providers import aggregate, detect_api
from .._providers.decode import provider_events_of
from .._providers.errors import error_from_object
from .._providers.openai_chat import split_content
from .._providers.types import ProviderError, ProviderEvent

Kind = Literal["text", "reasoning", "tool", "arguments", "error", "raw"]


@dataclass(frozen=True, slots=True)
class Piece:
    """One thing a chunk added: ``text`` (answer text), ``reasoning`` (thinking text), ``tool``
    (a tool call starts; ``text`` is its name), ``arguments`` (a fragment of the current tool
    call's arguments), ``error`` (``type: message``) or ``raw`` (an event of an unknown API,
    as lines ending in a newline)."""

    kind: Kind
    text: str

    @property
    def is_output(self) -> bool:
        """True for what the model produced (text, reasoning, tool calls): the first one marks
        the time to first token."""
        return self.kind in ("text", "reasoning", "tool", "arguments") and bool(self.text)


@dataclass(slots=True)
class Output:
    """The pieces of each chunk, in order, those after the last chunk, and the model the
    events name (without the API's SDK: ``aggregate`` needs it, a title does not)."""

    api: str
    chunks: list[list[Piece]] = field(default_factory=list)
    end: list[Piece] = field(default_factory=list)
    model: str | None = None


def pieces_per_chunk(interaction: Interaction) -> Output:
    """What each chunk of ``interaction``'s response added (see the module docstring)."""
    request, response = interaction.request, interaction.response
    api = detect_api(request, response)
    decompressed: list[bytes] = []
    problem: StreamtestError | None = None
    try:
        content = ContentDecoder(response.header("content-encoding"))
        for chunk in response.chunks:
            decompressed.append(content.decode(chunk.data))
        tail = content.flush()
    except StreamtestError as exc:  # corrupt, or an encoding that cannot be undone (br)
        problem, tail = exc, b""
    head = b"".join(decompressed)[:4096]
    framing = detect_framing(response.header("content-type"), head, url=request.url)
    decoder = decoder_for(framing)
    # Per event for a streamed answer of a known API; raw lines for an unknown API's answer;
    # else (one JSON document, an HTTP error) the aggregate, once, at the end.
    streamed = framing in STREAMED_FRAMINGS and response.status < 400
    per_event = _EVENT_READERS.get(api) if streamed else None
    raw = api == "unknown" and response.status < 400
    output = Output(api)
    for piece in decompressed + [b""] * (len(response.chunks) - len(decompressed)):
        events: list[Event] = []
        if problem is None:
            try:
                events = decoder.decode(piece)
            except FramingError as exc:
                problem = exc
        output.chunks.append(_read(events, output, framing, per_event, raw=raw))
    events = []
    if problem is None:
        try:
            events = decoder.decode(tail) + decoder.flush()
        except FramingError as exc:
            problem = exc
    output.end.extend(_read(events, output, framing, per_event, raw=raw))
    if per_event is None and not raw:
        output.end.extend(_whole(interaction, output))  # its errors included
        return output
    if response.error is not None:
        output.end.append(Piece("error", f"{response.error.type}: {response.error.message}"))
    # A client that closed the stream early cut it anywhere: that is not an error.
    if problem is not None and not response.closed and response.error is None:
        output.end.append(Piece("error", f"{type(problem).__name__}: {problem}"))
    return output


def event_pieces(api: str, data: Any) -> list[Piece]:
    """What one parsed event of ``api`` adds (none for an API whose events are not known)."""
    reader = _EVENT_READERS.get(api)
    if reader is None or not isinstance(data, dict | list):
        return []
    return [piece for piece in reader(data) if piece.text]


def _read(
    events: list[Event],
    output: Output,
    framing: Framing,
    per_event: Callable[[Any], list[Piece]] | None,
    *,
    raw: bool,
) -> list[Piece]:
    if raw:
        return [Piece("raw", _raw_lines(event, framing)) for event in events]
    if per_event is None:
        return []  # the whole aggregate comes at the end
    pieces: list[Piece] = []
    for event in provider_events_of(events, output.api):
        data = event.data
        if event.type == "comment" or not isinstance(data, dict | list):
            continue
        output.model = output.model or _model(data)
        error = _error(event)
        if error is not None:
            pieces.append(Piece("error", _describe(error)))
            if not (isinstance(data, dict) and "choices" in data):
                continue  # OpenRouter's error chunks may carry choices as well
        pieces.extend(per_event(data))
    return [piece for piece in pieces if piece.text]


def _whole(interaction: Interaction, output: Output) -> list[Piece]:
    """A response that is one document: its aggregate, all at once."""
    try:
        result = aggregate(interaction)
    except StreamtestError as exc:  # the SDK needed to read it is not installed
        return [Piece("error", str(exc))]
    output.model = result.model
    pieces = [Piece("reasoning", result.reasoning), Piece("text", result.text)]
    for call in result.tool_calls:
        pieces += [Piece("tool", call.name), Piece("arguments", _json(call.arguments))]
    if result.error is not None:
        pieces.append(Piece("error", _describe(result.error)))
    return [piece for piece in pieces if piece.text]


def _model(data: Any) -> str | None:
    """The model an event names: chat chunks and Ollama lines at the top, Anthropic's
    ``message_start`` in ``message``, Responses events in ``response``, Gemini as
    ``modelVersion``."""
    if not isinstance(data, dict):
        return None
    for holder in (data, _dict(data.get("message")), _dict(data.get("response"))):
        model = holder.get("model") or holder.get("modelVersion")
        if isinstance(model, str) and model:
            return model
    return None


def _raw_lines(event: Event, framing: Framing) -> str:
    """An event of an unknown API as the lines it came in (SSE), or its data on one line."""
    lines = []
    if event.comment is not None:
        lines += [f": {line}" for line in event.comment.split("\n")]
    if event.event is not None:
        lines.append(f"event: {event.event}")
    if event.data is not None:
        if framing is Framing.SSE:
            lines += [f"data: {line}" for line in event.data.split("\n")]
        else:
            lines.append(event.data)
    return "".join(f"{line}\n" for line in lines)


def _error(event: ProviderEvent) -> ProviderError | None:
    data = event.data
    if isinstance(data, dict) and data.get("type") == "response.failed":
        found = error_from_object(data.get("response"))
        return found or ProviderError("response.failed", "The response failed.")
    return error_from_object(data)


def _describe(error: ProviderError) -> str:
    return f"{error.type}: {error.message}" if error.type else error.message


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _chat(data: Any) -> list[Piece]:
    choices = [c for c in _list(_dict(data).get("choices")) if isinstance(c, dict)]
    choice = next((c for c in choices if c.get("index", 0) == 0), None)
    if choice is None:
        return []
    delta = _dict(choice.get("delta"))
    text, thinking = split_content(delta.get("content"))
    # DeepSeek and vLLM say reasoning_content, Groq and OpenRouter reasoning; one of them.
    reasoning = _str(delta.get("reasoning_content")) or _str(delta.get("reasoning"))
    pieces = [Piece("reasoning", reasoning + thinking), Piece("text", text)]
    pieces.append(Piece("text", _str(delta.get("refusal"))))
    for call in _list(delta.get("tool_calls")):
        function = _dict(_dict(call).get("function"))
        name = function.get("name")
        if isinstance(name, str) and name:
            pieces.append(Piece("tool", name))
        arguments = function.get("arguments")
        if arguments is not None:
            pieces.append(Piece("arguments", _json(arguments)))
    return pieces


_RESPONSES_TEXT = {
    "response.output_text.delta": "text",
    "response.refusal.delta": "text",
    "response.reasoning_text.delta": "reasoning",
    "response.reasoning_summary_text.delta": "reasoning",
    "response.function_call_arguments.delta": "arguments",
    "response.custom_tool_call_input.delta": "arguments",
}


def _responses(data: Any) -> list[Piece]:
    data = _dict(data)
    kind = _str(data.get("type"))
    if kind in _RESPONSES_TEXT:
        piece_kind: Kind = _RESPONSES_TEXT[kind]  # type: ignore[assignment]
        return [Piece(piece_kind, _str(data.get("delta")))]
    if kind == "response.output_item.added":
        item = _dict(data.get("item"))
        item_type = _str(item.get("type"))
        if item_type in ("function_call", "custom_tool_call", "mcp_call"):
            return [Piece("tool", _str(item.get("name")) or item_type)]
        if item_type.endswith("_call"):  # built-in tools the server runs: web_search_call...
            return [Piece("tool", item_type.removesuffix("_call"))]
    return []


def _anthropic(data: Any) -> list[Piece]:
    data = _dict(data)
    kind = data.get("type")
    if kind == "content_block_start":
        block = _dict(data.get("content_block"))
        block_type = _str(block.get("type"))
        if block_type.endswith("tool_use"):
            return [Piece("tool", _str(block.get("name")) or block_type)]
        if block_type == "text":
            return [Piece("text", _str(block.get("text")))]
        if block_type == "thinking":
            return [Piece("reasoning", _str(block.get("thinking")))]
    elif kind == "content_block_delta":
        delta = _dict(data.get("delta"))
        delta_type = delta.get("type")
        if delta_type == "text_delta":
            return [Piece("text", _str(delta.get("text")))]
        if delta_type == "thinking_delta":
            return [Piece("reasoning", _str(delta.get("thinking")))]
        if delta_type == "input_json_delta":
            return [Piece("arguments", _str(delta.get("partial_json")))]
    return []


def _gemini(data: Any) -> list[Piece]:
    pieces: list[Piece] = []
    for chunk in data if isinstance(data, list) else [data]:
        candidates = [c for c in _list(_dict(chunk).get("candidates")) if isinstance(c, dict)]
        candidate = next((c for c in candidates if c.get("index", 0) == 0), {})
        for part in _list(_dict(candidate.get("content")).get("parts")):
            part = _dict(part)
            text = _str(part.get("text"))
            pieces.append(Piece("reasoning" if part.get("thought") is True else "text", text))
            call = part.get("functionCall")
            if isinstance(call, dict):
                pieces.append(Piece("tool", _str(call.get("name")) or "function"))
                pieces.append(Piece("arguments", _json(call.get("args") or {})))
    return pieces


def _ollama(data: Any) -> list[Piece]:
    line = _dict(data)
    message = _dict(line.get("message"))
    thinking = _str(message.get("thinking")) or _str(line.get("thinking"))
    pieces = [Piece("reasoning", thinking)]
    pieces.append(Piece("text", _str(message.get("content")) or _str(line.get("response"))))
    for call in _list(message.get("tool_calls")):
        function = _dict(_dict(call).get("function"))
        pieces.append(Piece("tool", _str(function.get("name")) or "function"))
        pieces.append(Piece("arguments", _json(function.get("arguments", {}))))
    return pieces


_EVENT_READERS: dict[str, Callable[[Any], list[Piece]]] = {
    "openai-chat": _chat,
    "openai-responses": _responses,
    "anthropic-messages": _anthropic,
    "gemini": _gemini,
    "ollama": _ollama,
}
