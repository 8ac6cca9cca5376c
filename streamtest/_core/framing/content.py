"""Incremental ``Content-Encoding`` decompression, so framing runs on the bytes the app sees.

Recorded bodies stay exactly as they came over the wire, compressed when they were; decoders
need the decompressed stream. ``gzip``/``x-gzip`` (several members allowed) and ``deflate``
(zlib-wrapped or, as some servers send it, raw) are supported; a list such as ``gzip, deflate``
names the encodings in the order they were applied, so they are undone in reverse. ``br`` and
``zstd`` would need packages beyond the standard library, so they are refused with a clear error.
"""

from __future__ import annotations

import zlib
from typing import Protocol

from ..errors import StreamtestError
from .event import FramingError

SUPPORTED = ("identity", "gzip", "x-gzip", "deflate")


class _Stage(Protocol):
    def decode(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


MAX_DECODED = 64 << 20


class _Gzip:
    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._total = 0

    def decode(self, data: bytes) -> bytes:
        out = [self._inflate.decompress(data, MAX_DECODED)]
        self._total += len(out[0])
        if self._inflate.unconsumed_tail or self._total > MAX_DECODED:
            raise zlib.error(f"it decompresses to more than {MAX_DECODED} bytes")
        # A body may hold several gzip members back to back; each starts where one ended.
        while self._inflate.eof and self._inflate.unused_data:
            rest = self._inflate.unused_data
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out.append(self._inflate.decompress(rest, MAX_DECODED))
            self._total += len(out[-1])
            if self._inflate.unconsumed_tail or self._total > MAX_DECODED:
                raise zlib.error(f"it decompresses to more than {MAX_DECODED} bytes")
        return b"".join(out)

    def flush(self) -> bytes:
        return self._inflate.flush()


class _Deflate:
    """``deflate`` is meant to be zlib-wrapped, but some servers send raw deflate; the first two
    bytes decide (a zlib header is CM=8 and a multiple of 31), like browsers and httpx do."""

    def __init__(self) -> None:
        self._head = b""
        self._inflate: zlib._Decompress | None = None

    def decode(self, data: bytes) -> bytes:
        if self._inflate is None:
            self._head += data
            if len(self._head) < 2:
                return b""
            data, self._head = self._head, b""
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return self._inflate.decompress(data)

    def flush(self) -> bytes:
        if self._inflate is None:
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._inflate.decompress(self._head) + self._inflate.flush()
        return self._inflate.flush()


class ContentDecoder:
    """Undoes a ``Content-Encoding`` incrementally: ``decode()`` each chunk, then ``flush()``."""

    def __init__(self, content_encoding: str | None) -> None:
        self.encodings = [
            name
            for name in (part.strip().lower() for part in (content_encoding or "").split(","))
            if name and name != "identity"
        ]
        stages: list[_Stage] = []
        for name in reversed(self.encodings):
            if name in ("gzip", "x-gzip"):
                stages.append(_Gzip())
            elif name == "deflate":
                stages.append(_Deflate())
            else:
                raise StreamtestError(
                    f"Content-Encoding {name!r} is not supported; streamtest decodes "
                    f"{', '.join(SUPPORTED)} (and comma-separated lists of them)."
                )
        self._stages = stages

    def decode(self, data: bytes) -> bytes:
        try:
            for stage in self._stages:
                data = stage.decode(data)
        except zlib.error as exc:
            raise self._corrupt(exc) from exc
        return data

    def flush(self) -> bytes:
        data = b""
        try:
            for stage in self._stages:
                data = stage.decode(data) + stage.flush()
        except zlib.error as exc:
            raise self._corrupt(exc) from exc
        return data

    def _corrupt(self, exc: zlib.error) -> FramingError:
        return FramingError(
            f"The {', '.join(self.encodings)}-encoded body could not be decompressed: {exc}."
        )
