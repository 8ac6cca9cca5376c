"""Cassette files: loading and writing a cassette of one interaction with many chunks.

The floor is msgspec's typed decoding and encoding of the very same lines into and from Structs
that mirror the records (`Header`, `Begin`, `ChunkLine`, `End` below), with no checks and no
model values built: what reading or writing this format costs at the least in Python.

- load: ``streamtest.load_cassette(path)`` (read, decode, check the record order, build the
  ``Cassette``) vs reading the file and ``Decoder(Line).decode_lines``;
- save: the atomic write streamtest does (``save``: encode, write a temporary file, fsync,
  rename) vs encoding the prebuilt records with ``Encoder.encode_lines`` and writing them the same
  way (temporary file, fsync, rename), so the disk costs the same on both sides;
- encode only (information): ``dumps`` vs ``encode_lines``, no disk.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec

import streamtest
from streamtest._core.fileformat import dumps, save

from ._data import token_chunks, write_cassette
from ._measure import Context, Row, Variant, compared, run_interleaved

GROUP = "cassette file"
TARGET = 2.0


# gc=False, like the cassette records (filerecords.py): the floor gets every msgspec option ours
# uses, so the ratio measures our work, not a collector setting.
class Request(msgspec.Struct, omit_defaults=True, gc=False):
    method: str
    url: str
    headers: list[tuple[str, str]] = []
    json: Any = msgspec.UNSET


class Response(msgspec.Struct, omit_defaults=True, gc=False):
    status: int
    t: float = 0.0
    headers: list[tuple[str, str]] = []


class Line(msgspec.Struct, omit_defaults=True, gc=False):
    """Every record of the format in one Struct: how a typed reader decodes mixed lines."""

    streamtest: int | None = None
    recorded_with: str | None = None
    request: Request | None = None
    response: Response | None = None
    t: float | None = None
    text: str | None = None
    end: str | None = None
    chunks: int | None = None


class ChunkLine(msgspec.Struct, gc=False):
    t: float
    text: str


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def run(ctx: Context) -> list[Row]:
    n = ctx.size.file_chunks
    path = write_cassette(ctx.folder / "file.jsonl", token_chunks(n))
    cassette = streamtest.load_cassette(path)
    size_mb = path.stat().st_size / 2**20
    decoder, encoder = msgspec.json.Decoder(Line), msgspec.json.Encoder()
    records = decoder.decode_lines(path.read_bytes())
    # The floor writes Structs that are already built; the chunk lines as their own small type.
    lines = [records[0], records[1], *(ChunkLine(r.t, r.text) for r in records[2:-1]), records[-1]]  # type: ignore[arg-type]
    assert (
        encoder.encode_lines(lines) == path.read_bytes() == dumps(cassette, recorded_with="bench")
    )
    out, floor_out = ctx.folder / "saved.jsonl", ctx.folder / "floor.jsonl"
    variants: dict[str, Variant] = {
        "load": lambda: streamtest.load_cassette(path) and None,
        "decode": lambda: decoder.decode_lines(path.read_bytes()) and None,
        "save": lambda: save(
            streamtest.Cassette(out, cassette.interactions), recorded_with="bench"
        ),
        "write": lambda: _atomic_write(floor_out, encoder.encode_lines(lines)),
        "dumps": lambda: dumps(cassette, recorded_with="bench") and None,
        "encode": lambda: encoder.encode_lines(lines) and None,
    }
    t = run_interleaved(variants, repeat=ctx.size.repeat, warmup=ctx.size.warmup)
    note = f"{n:,} chunks, {size_mb:.1f} MB"
    return [
        compared(GROUP, "load", t, "load", "decode", "msgspec typed decode_lines", TARGET,
                 note=note),
        compared(GROUP, "save (atomic, fsync)", t, "save", "write",
                 "msgspec encode_lines + same write", TARGET, note=note),
        compared(GROUP, "encode only (dumps)", t, "dumps", "encode", "msgspec encode_lines", None,
                 note="no disk"),
    ]  # fmt: skip
