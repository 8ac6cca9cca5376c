"""ContentDecoder: gzip and deflate undone incrementally, in the right order."""

from __future__ import annotations

import gzip
import zlib

import pytest

from streamtest._core.errors import StreamtestError
from streamtest._core.framing import ContentDecoder, FramingError

TEXT = ("data: " + "naïve café 日本語 " * 50 + "\n\n").encode() * 20


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def run(encoding: str | None, body: bytes, *, step: int | None = None) -> bytes:
    decoder = ContentDecoder(encoding)
    step = step or len(body) or 1
    out = [decoder.decode(body[i : i + step]) for i in range(0, len(body), step)]
    return b"".join(out) + decoder.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        pytest.param(None, TEXT, id="none"),
        pytest.param("identity", TEXT, id="identity"),
        pytest.param("gzip", gzip.compress(TEXT), id="gzip"),
        pytest.param("X-GZIP", gzip.compress(TEXT), id="x-gzip"),
        pytest.param("deflate", zlib.compress(TEXT), id="deflate-zlib"),
        pytest.param("deflate", raw_deflate(TEXT), id="deflate-raw"),
        pytest.param("gzip, deflate", zlib.compress(gzip.compress(TEXT)), id="gzip-then-deflate"),
        pytest.param("deflate,gzip", gzip.compress(zlib.compress(TEXT)), id="deflate-then-gzip"),
        pytest.param("gzip", gzip.compress(TEXT[:999]) + gzip.compress(TEXT[999:]), id="members"),
    ],
)
@pytest.mark.parametrize("step", [None, 1, 7, 1000], ids=["whole", "bytewise", "7", "1000"])
def test_decompresses_whatever_the_chunk_size(
    encoding: str | None, body: bytes, step: int | None
) -> None:
    assert run(encoding, body, step=step) == TEXT


def test_short_deflate_bodies_decode() -> None:
    assert run("deflate", raw_deflate(b"x"), step=1) == b"x"
    assert run("deflate", zlib.compress(b""), step=1) == b""
    assert run("gzip", b"") == b""


def test_output_arrives_incrementally_not_only_at_flush() -> None:
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    first = compressor.compress(b"data: 1\n\n") + compressor.flush(zlib.Z_SYNC_FLUSH)
    decoder = ContentDecoder("gzip")
    assert decoder.decode(first) == b"data: 1\n\n"


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br", "compress"])
def test_unsupported_encodings_are_refused_by_name(encoding: str) -> None:
    with pytest.raises(StreamtestError, match="is not supported") as caught:
        ContentDecoder(encoding)
    assert repr(encoding.split(",")[-1].strip()) in str(caught.value)
    assert "gzip, x-gzip, deflate" in str(caught.value)


def test_corrupt_data_is_a_framing_error() -> None:
    with pytest.raises(FramingError, match="The gzip-encoded body could not be decompressed"):
        run("gzip", b"\x1f\x8b\x08\x00garbage-that-is-not-deflate" * 3)
