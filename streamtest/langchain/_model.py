"""`CassetteChatModel`: a real chat model that replays recorded message chunks, with no HTTP.

It records through the model it wraps (``model=``) and replays without it. Each call is one
object stream in the cassette (see docs/cassette-format.md, "Object streams"), keyed by what the
call asked for (the input messages, ``stop`` and the bound options such as tools, normalized),
so concurrent calls (``batch``, parallel branches) get the answer recorded for their input.

Recording calls the wrapped model's own ``_stream``/``_astream`` (the methods a chat model
implements) rather than its public ``stream``: then no second model run appears in callbacks and
``astream_events``, and the events recorded live equal the events replayed. ``invoke`` on a
`CassetteChatModel` streams too and merges the chunks, so one recording serves every call style.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import AIMessage, BaseMessage, BaseMessageChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

from .._core.errors import StreamtestError
from .._objects import file_options, record_stream
from ._normalize import normalize

__all__ = ["CassetteChatModel"]


class CassetteChatModel(BaseChatModel):
    """Replays the chunks a chat model streamed, from a cassette; records them through ``model``.

    ``cassette=None`` uses the active ``streamtest.use_cassette`` (or the pytest ``cassette``
    fixture), so its record mode, timing and speed apply; a path makes the model use that file
    on its own, with ``record_mode``, ``timing`` and ``speed`` as for ``use_cassette``.
    """

    model: BaseChatModel | None = None
    """The real chat model to record from when no recording matches (and the mode records)."""
    cassette: str | Path | None = None
    stream_name: str = "chat_model"
    """The name of this model's streams in the cassette: give two models different names."""
    record_mode: str | None = None
    timing: str = "instant"
    speed: float = 1.0

    @property
    def _llm_type(self) -> str:
        return "streamtest-cassette"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"cassette": str(self.cassette), "stream_name": self.stream_name}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools as the wrapped model would (its own format), else in OpenAI's format."""
        if self.model is not None:
            bound = self.model.bind_tools(tools, tool_choice=tool_choice, **kwargs)
            return self.bind(**getattr(bound, "kwargs", {}))
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        options = {"tool_choice": tool_choice} if tool_choice is not None else {}
        return self.bind(tools=formatted, **options, **kwargs)

    # ------------------------------------------------------------------ BaseChatModel

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        live = self._live(messages, stop, kwargs)
        for item in record_stream(live, **self._options(messages, stop, kwargs)):
            yield _generation(item)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        live = self._alive(messages, stop, kwargs)
        async for item in record_stream(live, **self._options(messages, stop, kwargs)):
            yield _generation(item)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await agenerate_from_stream(self._astream(messages, stop, **kwargs))

    # ------------------------------------------------------------------ helpers

    def _options(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        if isinstance(kwargs.get("tools"), list):
            # each provider's own tool format, as one: a recording made through ChatAnthropic
            # answers a replay that bound the same tools without a model
            kwargs = {**kwargs, "tools": [_neutral_tool(tool) for tool in kwargs["tools"]]}
        options: dict[str, Any] = {
            "name": self.stream_name,
            "key": normalize({"messages": messages, "stop": stop, **kwargs}),
        }
        options.update(file_options(self.cassette, self.record_mode, self.timing, self.speed))
        return options

    def _live(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> Iterator[ChatGenerationChunk]:
        # A generator: nothing runs (and no model is needed) unless the call is recorded.
        yield from self._wrapped()._stream(messages, stop=stop, **kwargs)

    async def _alive(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in self._wrapped()._astream(messages, stop=stop, **kwargs):
            yield chunk

    def _wrapped(self) -> BaseChatModel:
        if self.model is None:
            # a StreamtestError: record_stream then keeps no (failed) recording of this call
            raise StreamtestError(
                "CassetteChatModel has no recording for this call and no model to record it "
                "from: pass model=<the real chat model> to record, or record the cassette again."
            )
        return self.model


def _neutral_tool(tool: Any) -> Any:
    try:
        return convert_to_openai_tool(tool)
    except (TypeError, ValueError):  # a provider's built-in tool ({"type": "web_search"}): as is
        return tool


def _generation(item: object) -> ChatGenerationChunk:
    """Recorded items are ChatGenerationChunks (recorded here) or message chunks (recorded with
    ``streamtest.record_stream(model.stream(...))``)."""
    if isinstance(item, ChatGenerationChunk):
        return item
    if isinstance(item, BaseMessageChunk):
        return ChatGenerationChunk(message=item)
    raise TypeError(
        f"CassetteChatModel replays message chunks, but the recorded stream holds a "
        f"{type(item).__name__}: record it from a chat model's stream()."
    )
