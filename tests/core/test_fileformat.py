"""The chunk cassette file format: exact byte round trips, one chunk per line, atomic writes, and
a precise `CassetteError` for every kind of broken file."""

from __future__ import annotations

import difflib
import gzip
import json
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import streamtest
from streamtest import (
    Cassette,
    CassetteError,
    Chunk,
    End,
    Interaction,
    Request,
    Response,
    StreamError,
    StreamtestError,
)
from streamtest._core import fileformat, filewrite

RECORDED_WITH = "streamtest 0.1.0"
HEADER = '{"streamtest":1,"recorded_with":"streamtest 0.1.0"}'
BEGIN = '{"request":{"method":"GET","url":"https://example.test/"},"response":{"status":200}}'
UNTIMED_BEGIN = BEGIN.replace('{"status":200}', '{"status":200,"timing":"unknown"}')

CHAT_BODY = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "héllo"}],
    "stream": True,
}
SMILE = "😀".encode()  # four bytes: a network read can end after any of them


def event_stream_frame(payload: bytes, event_type: str = "chunk") -> bytes:
    """One AWS event-stream message (the framing Bedrock streams): prelude, CRCs, headers."""
    name, value = b":event-type", event_type.encode()
    headers = bytes([len(name)]) + name + b"\x07" + struct.pack(">H", len(value)) + value
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def sample_interactions() -> list[Interaction]:
    gzipped = gzip.compress(b'{"candidates":[{"text":"hi"}]}\n' * 20)
    frame = event_stream_frame(b'{"bytes":"eyJ0eXBlIjoiY29udGVudF9ibG9ja19kZWx0YSJ9"}')
    chat = Interaction(
        Request(
            "POST",
            "https://api.openai.com/v1/chat/completions",
            (("Content-Type", "application/json"), ("Authorization", "REDACTED")),
            json.dumps(CHAT_BODY, ensure_ascii=False, separators=(",", ":")).encode(),
        ),
        Response(
            200,
            (("content-type", "text/event-stream"), ("x-request-id", "req_1")),
            (
                Chunk(0.301, b'data: {"delta":"Hi"}\n\n'),
                Chunk(0.302, b'data: {"delta":"' + SMILE[:2]),
                Chunk(0.303, SMILE[2:] + b'"}\n\n'),
                Chunk(0.404, b"data: [DONE]\n\n"),
            ),
            t=0.25,
        ),
    )
    gemini = Interaction(
        Request("POST", "https://example.test/form", (), b"prompt=hello world&n=1"),
        Response(
            200,
            (("Content-Encoding", "gzip"),),
            (Chunk(0.5, gzipped[:10]), Chunk(0.6, gzipped[10:])),
            StreamError("RemoteProtocolError", "peer closed connection without sending body"),
            t=0.125,
        ),
    )
    bedrock = Interaction(
        Request("POST", "https://bedrock.test/invoke", (), b"\x00\x01\xfe\xffbinary"),
        Response(
            200,
            (("content-type", "application/vnd.amazon.eventstream"),),
            (Chunk(1.0, frame), Chunk(1.5, frame[:7])),
            closed=True,
        ),
    )
    empty = Interaction(Request("GET", "https://example.test/health"), Response(204))
    return [chat, gemini, bedrock, empty]


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_save_then_load_gives_back_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    interactions = sample_interactions()
    fileformat.save(Cassette(path, interactions), recorded_with=RECORDED_WITH)

    loaded = fileformat.load(path)

    assert loaded.path == path
    assert loaded.interactions == interactions
    assert [i.response.body for i in loaded.interactions] == [i.response.body for i in interactions]
    assert [i.response.end for i in loaded.interactions] == [
        End.COMPLETED,
        End.FAILED,
        End.CLOSED,
        End.COMPLETED,
    ]


def test_file_stores_readable_json_text_and_base64_where_each_fits(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    fileformat.save(Cassette(path, sample_interactions()), recorded_with=RECORDED_WITH)
    text = path.read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines()]

    assert records[0] == {"streamtest": 1, "recorded_with": RECORDED_WITH}
    # The JSON request body is a JSON value in the file, readable and diffable, not a string.
    assert records[1]["request"]["json"] == CHAT_BODY
    assert '"json":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"héllo"}]' in text
    chunk_kinds = [("text" if "text" in r else "b64") for r in records[2:6]]
    assert chunk_kinds == ["text", "b64", "b64", "text"]
    assert records[2] == {"t": 0.301, "text": 'data: {"delta":"Hi"}\n\n'}
    assert records[6] == {"end": "completed", "chunks": 4}
    assert records[7]["request"]["text"] == "prompt=hello world&n=1"
    assert [("b64" in r) for r in records[8:10]] == [True, True]
    assert records[10] == {
        "end": "failed",
        "chunks": 2,
        "error": {
            "type": "RemoteProtocolError",
            "message": "peer closed connection without sending body",
        },
    }
    assert "b64" in records[11]["request"]
    assert records[14] == {"end": "closed", "chunks": 2}
    assert records[15]["request"] == {"method": "GET", "url": "https://example.test/health"}
    assert records[16] == {"end": "completed", "chunks": 0}
    assert len(records) == 17


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        pytest.param(b'{"a":1,"b":["x","\xc3\xa9"]}', "json", id="compact-as-sdks-send"),
        pytest.param(b'{"a": 1,  "b": ["x", "y"]}', "text", id="spaced"),
        pytest.param(b'{"a":"\\u00e9"}', "text", id="ascii-escaped"),
        pytest.param(b'{"b":1,"a":2}', "json", id="key-order-kept"),
    ],
)
def test_a_json_request_body_round_trips_exactly_and_is_readable_when_compact(
    tmp_path: Path, body: bytes, stored: str
) -> None:
    path = tmp_path / "body.jsonl"
    request = Request("POST", "https://example.test/", (), body)
    fileformat.save(Cassette(path, [Interaction(request, Response(200))]), recorded_with="t")

    record = json.loads(path.read_text().splitlines()[1])["request"]

    assert fileformat.load(path).interactions[0].request.body == body
    assert stored in record


def test_offsets_are_stored_to_the_microsecond(tmp_path: Path) -> None:
    path = tmp_path / "timing.jsonl"
    response = Response(200, (), (Chunk(0.1234567891, b"x"),), t=0.0812345678)
    fileformat.save(
        Cassette(path, [Interaction(Request("GET", "https://example.test/"), response)]),
        recorded_with=RECORDED_WITH,
    )
    lines = path.read_text(encoding="utf-8").splitlines()

    assert json.loads(lines[1])["response"]["t"] == 0.081235
    assert lines[2] == '{"t":0.123457,"text":"x"}'
    loaded = fileformat.load(path).interactions[0].response
    assert (loaded.t, loaded.chunks[0].t) == (0.081235, 0.123457)


@pytest.mark.parametrize(
    ("response", "end", "error", "closed"),
    [
        pytest.param(
            Response(200, (), (Chunk(0.1, b"a"),)), End.COMPLETED, None, False, id="completed"
        ),
        pytest.param(
            Response(200, (), (Chunk(0.1, b"a"),), StreamError("ReadTimeout", "timed out")),
            End.FAILED,
            StreamError("ReadTimeout", "timed out"),
            False,
            id="failed",
        ),
        pytest.param(
            Response(200, (), (Chunk(0.1, b"a"),), closed=True), End.CLOSED, None, True, id="closed"
        ),
    ],
)
def test_how_a_stream_ended_round_trips(
    tmp_path: Path, response: Response, end: End, error: StreamError | None, closed: bool
) -> None:
    path = tmp_path / "end.jsonl"
    interaction = Interaction(Request("GET", "https://example.test/"), response)
    fileformat.save(Cassette(path, [interaction]), recorded_with=RECORDED_WITH)

    loaded = fileformat.load(path).interactions[0].response

    assert (loaded.end, loaded.error, loaded.closed) == (end, error, closed)


def test_unknown_timing_round_trips_with_no_offsets_written(tmp_path: Path) -> None:
    response = Response(
        200, chunks=(Chunk(0.0, b"data: 1\n\n"), Chunk(0.0, SMILE[:2])), timed=False
    )
    cassette = Cassette(
        tmp_path / "untimed.jsonl", [Interaction(Request("GET", "https://x/"), response)]
    )

    fileformat.save(cassette, recorded_with=RECORDED_WITH)
    lines = [json.loads(line) for line in cassette.path.read_text().splitlines()]
    loaded = streamtest.load_cassette(cassette.path).interactions[0].response

    assert lines[1]["response"] == {"status": 200, "timing": "unknown"}
    assert lines[2] == {"text": "data: 1\n\n"} and lines[3] == {"b64": "8J8="}
    assert loaded == response and not loaded.timed


def test_changing_one_chunk_changes_exactly_one_line(tmp_path: Path) -> None:
    before_path, after_path = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    interactions = sample_interactions()
    chat = interactions[0]
    chunks = list(chat.response.chunks)
    chunks[0] = Chunk(chunks[0].t, b'data: {"delta":"Hello"}\n\n')
    changed = Interaction(
        chat.request,
        Response(chat.response.status, chat.response.headers, tuple(chunks), t=chat.response.t),
    )
    fileformat.save(Cassette(before_path, interactions), recorded_with=RECORDED_WITH)
    fileformat.save(Cassette(after_path, [changed, *interactions[1:]]), recorded_with=RECORDED_WITH)
    before = before_path.read_text(encoding="utf-8").splitlines()
    after = after_path.read_text(encoding="utf-8").splitlines()

    diff = [
        line
        for line in difflib.unified_diff(before, after, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]

    assert diff == [
        '-{"t":0.301,"text":"data: {\\"delta\\":\\"Hi\\"}\\n\\n"}',
        '+{"t":0.301,"text":"data: {\\"delta\\":\\"Hello\\"}\\n\\n"}',
    ]


def test_every_record_is_one_line_even_when_chunks_hold_newlines(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    fileformat.save(Cassette(path, sample_interactions()), recorded_with=RECORDED_WITH)

    lines = path.read_bytes().split(b"\n")

    chunk_count = sum(len(i.response.chunks) for i in sample_interactions())
    assert lines[-1] == b""
    assert len(lines) - 1 == 1 + 2 * len(sample_interactions()) + chunk_count


def _fail_fsync(fd: int) -> None:
    raise OSError(28, "No space left on device")


def test_a_failed_write_leaves_the_previous_cassette_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "chat.jsonl"
    fileformat.save(Cassette(path, sample_interactions()), recorded_with=RECORDED_WITH)
    before = path.read_bytes()
    seen_during_write: list[tuple[list[str], bytes]] = []

    def fsync_then_fail(fd: int) -> None:
        names = sorted(p.name for p in tmp_path.iterdir())
        seen_during_write.append((names, path.read_bytes()))
        _fail_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_then_fail)
    with pytest.raises(OSError, match="No space left"):
        fileformat.save(Cassette(path, sample_interactions()[:1]), recorded_with=RECORDED_WITH)

    # The new bytes went to a temporary file beside the cassette, never into the cassette.
    [(names_during, target_during)] = seen_during_write
    assert len(names_during) == 2
    assert names_during[0].startswith(".chat.jsonl.")
    assert names_during[0].endswith(".tmp")
    assert target_during == before
    # After the failure: the old cassette, byte for byte, and no temporary file left behind.
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.jsonl"]


def test_a_failed_first_write_leaves_no_file_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new" / "chat.jsonl"
    monkeypatch.setattr(os, "fsync", _fail_fsync)

    with pytest.raises(OSError, match="No space left"):
        fileformat.save(Cassette(path, sample_interactions()), recorded_with=RECORDED_WITH)

    assert list(path.parent.iterdir()) == []


def test_a_failed_encoding_leaves_the_previous_cassette_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "chat.jsonl"
    fileformat.save(Cassette(path, sample_interactions()), recorded_with=RECORDED_WITH)
    before = path.read_bytes()

    class BrokenEncoder:
        def encode(self, obj: object) -> bytes:
            raise TypeError("cannot encode")

    monkeypatch.setattr(filewrite, "_encoder", BrokenEncoder())
    with pytest.raises(TypeError, match="cannot encode"):
        fileformat.save(Cassette(path, []), recorded_with=RECORDED_WITH)

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.jsonl"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize(
    "existing", [pytest.param(False, id="new"), pytest.param(True, id="overwrite")]
)
def test_a_saved_cassette_gets_the_permissions_of_an_ordinary_file(
    tmp_path: Path, existing: bool
) -> None:
    reference = tmp_path / "reference.txt"
    reference.write_bytes(b"")  # created by open(): mode 0o666 minus the umask
    path = tmp_path / "chat.jsonl"
    if existing:
        fileformat.save(Cassette(path, []), recorded_with=RECORDED_WITH)

    fileformat.save(Cassette(path, sample_interactions()), recorded_with=RECORDED_WITH)

    assert oct(path.stat().st_mode & 0o777) == oct(reference.stat().st_mode & 0o777)


def test_loads_a_hundred_thousand_chunk_lines(tmp_path: Path) -> None:
    count = 100_000
    chunk_lines = "".join(
        f'{{"t":{i / 1000:.6f},"text":"data: {{\\"i\\":{i}}}\\n\\n"}}\n' for i in range(count)
    )
    path = tmp_path / "big.jsonl"
    path.write_text(
        f'{HEADER}\n{BEGIN}\n{chunk_lines}{{"end":"completed","chunks":{count}}}\n',
        encoding="utf-8",
    )

    [interaction] = fileformat.load(path).interactions

    chunks = interaction.response.chunks
    assert len(chunks) == count
    assert chunks[0] == Chunk(0.0, b'data: {"i":0}\n\n')
    assert chunks[-1] == Chunk(99.999, b'data: {"i":99999}\n\n')
    assert interaction.response.end is End.COMPLETED


CHUNK = '{"t":0.1,"text":"data: x\\n\\n"}'
END_1 = '{"end":"completed","chunks":1}'
END_0 = '{"end":"completed","chunks":0}'


@pytest.mark.parametrize(
    ("lines", "line", "fragments"),
    [
        pytest.param((), 1, ["the file is empty"], id="empty-file"),
        pytest.param(
            (BEGIN, CHUNK, END_1), 1, ["the first line is not a streamtest header"], id="no-header"
        ),
        pytest.param(
            ('{"streamtest":2,"recorded_with":"streamtest 9.0"}', BEGIN, END_1),
            1,
            ["format version is 2", "Upgrade streamtest"],
            id="version-2",
        ),
        pytest.param(
            ('{"streamtest":2,"recorded_with":"streamtest 9.0","compression":"zstd"}',),
            1,
            ["format version is 2", "Upgrade streamtest"],
            id="version-2-with-new-field",
        ),
        pytest.param(
            (HEADER, BEGIN, '{"t":0.1,"text":"data: x}', END_1),
            3,
            ["not valid JSON"],
            id="hand-broken-json",
        ),
        pytest.param(
            (HEADER, BEGIN, '{"t":0.1,"txt":"data: x"}', END_1),
            3,
            ["unknown field", "txt"],
            id="unknown-field",
        ),
        pytest.param((HEADER, BEGIN, CHUNK, "", END_1), 4, ["empty"], id="blank-line"),
        pytest.param((HEADER, BEGIN, CHUNK, "   ", END_1), 4, ["empty"], id="whitespace-line"),
        pytest.param((HEADER, BEGIN, CHUNK, "\r", END_1), 4, ["empty"], id="crlf-blank-line"),
        pytest.param(
            (HEADER, BEGIN, CHUNK + CHUNK, '{"end":"completed","chunks":2}'),
            3,
            ["not valid JSON"],
            id="two-records-on-one-line",
        ),
        pytest.param(
            (HEADER, BEGIN, CHUNK + " " + CHUNK, '{"end":"completed","chunks":2}'),
            3,
            ["not valid JSON"],
            id="two-records-on-one-line-spaced",
        ),
        pytest.param(
            (HEADER, CHUNK, BEGIN, END_1),
            2,
            ["a chunk appears outside an interaction"],
            id="stray-chunk",
        ),
        pytest.param(
            (HEADER, BEGIN, CHUNK, CHUNK),
            4,
            ["the file ends inside the interaction that begins on line 2", "cut short"],
            id="truncated",
        ),
        pytest.param(
            (HEADER, BEGIN, CHUNK, '{"t":0.2,"text":"data'),
            4,
            ["not valid JSON"],
            id="cut-mid-line",
        ),
        pytest.param(
            (HEADER, BEGIN, CHUNK, '{"end":"completed","chunks":2}'),
            4,
            ["the end record counts 2 chunks but the interaction on line 2 has 1"],
            id="deleted-chunk-line",
        ),
        pytest.param(
            (HEADER, BEGIN, CHUNK, '{"end":"failed","chunks":1}'),
            4,
            ['an "error" belongs exactly to an end that is "failed"'],
            id="failed-without-error",
        ),
        pytest.param(
            (HEADER, BEGIN, '{"end":"completed","chunks":0,"error":{"type":"E","message":"m"}}'),
            3,
            ['an "error" belongs exactly to an end that is "failed"'],
            id="completed-with-error",
        ),
        pytest.param(
            (HEADER, BEGIN, '{"end":"aborted","chunks":0}'),
            3,
            ["\"end\" is 'aborted'; expected completed, failed or closed"],
            id="unknown-end",
        ),
        pytest.param(
            (HEADER, BEGIN, BEGIN),
            3,
            ["a new interaction begins before the one on line 2 has its end record"],
            id="missing-end",
        ),
        pytest.param(
            (HEADER, '{"end":"completed","chunks":0}'),
            2,
            ["an end record appears outside an interaction"],
            id="stray-end",
        ),
        pytest.param(
            (HEADER, BEGIN, '{"end":"completed","chunks":0}', HEADER),
            4,
            ["a second header line"],
            id="second-header",
        ),
        pytest.param(
            (HEADER, BEGIN, '{"text":"data: x"}', END_1),
            3,
            ['a chunk has "t" exactly when', 'line 2 does not say "timing": "unknown"'],
            id="chunk-without-t",
        ),
        pytest.param(
            (HEADER, UNTIMED_BEGIN, '{"t":0.5,"text":"data: x"}', END_1),
            3,
            ['a chunk has "t" exactly when', 'line 2 says "timing": "unknown"'],
            id="untimed-chunk-with-t",
        ),
        pytest.param(
            (HEADER, UNTIMED_BEGIN.replace('"unknown"', '"guessed"'), END_0),
            2,
            ['"timing" is \'guessed\'; the only value is "unknown"'],
            id="unknown-timing-value",
        ),
        pytest.param(
            (HEADER, '{"text":"data: x"}'),
            2,
            ["a chunk appears outside an interaction"],
            id="untimed-chunk-outside-interaction",
        ),
        pytest.param(
            (HEADER, '{"request":{"method":"GET","url":"https://example.test/"}}'),
            2,
            ["the interaction has a request but no response"],
            id="request-without-response",
        ),
    ],
)
def test_a_broken_cassette_names_its_path_line_and_problem(
    tmp_path: Path, lines: tuple[str, ...], line: int, fragments: list[str]
) -> None:
    assert_broken(tmp_path, lines, line, fragments)


def assert_broken(tmp_path: Path, lines: tuple[str, ...], line: int, fragments: list[str]) -> None:
    """Loading ``lines`` fails with a `CassetteError` naming the path, ``line`` and problem."""
    path = write_lines(tmp_path / "broken.jsonl", *lines)

    with pytest.raises(CassetteError) as caught:
        streamtest.load_cassette(path)

    message = str(caught.value)
    assert f"Cassette {path}:{line} is invalid: " in message
    for fragment in fragments:
        assert fragment in message
    assert (caught.value.path, caught.value.line) == (path, line)


def test_a_cassette_with_crlf_line_endings_loads(tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    path.write_bytes("\r\n".join([HEADER, BEGIN, CHUNK, END_1, ""]).encode())

    [interaction] = fileformat.load(path).interactions

    assert interaction.response.chunks == (Chunk(0.1, b"data: x\n\n"),)


def test_a_cassette_without_a_final_newline_loads(tmp_path: Path) -> None:
    path = tmp_path / "no-newline.jsonl"
    path.write_text("\n".join([HEADER, BEGIN, CHUNK, END_1]), encoding="utf-8")

    [interaction] = fileformat.load(path).interactions

    assert interaction.response.end is End.COMPLETED


def test_a_broken_cassette_message_says_how_to_fix_it(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "broken.jsonl", HEADER, BEGIN, CHUNK)

    with pytest.raises(CassetteError, match='record_mode="all"'):
        streamtest.load_cassette(path)


@pytest.mark.parametrize(
    "make_path",
    [
        pytest.param(lambda tmp: tmp / "missing.jsonl", id="missing-file"),
        pytest.param(lambda tmp: tmp, id="directory"),
    ],
)
def test_an_unreadable_path_is_a_cassette_error(
    tmp_path: Path, make_path: Callable[[Path], Path]
) -> None:
    path = make_path(tmp_path)

    with pytest.raises(CassetteError) as caught:
        streamtest.load_cassette(path)

    assert str(caught.value).startswith(f"Cassette {path} is invalid: it cannot be read (")
    assert caught.value.line is None
    assert isinstance(caught.value.__cause__, OSError)


def test_cassette_error_is_a_streamtest_error() -> None:
    assert issubclass(CassetteError, StreamtestError)
    assert not issubclass(CassetteError, AssertionError)


# Object streams: the items of any iterator, after the interactions.

STREAM = '{"stream":{"name":"answer"}}'
ITEM = '{"t":0.1,"item":{"text":"Hel"}}'
ITEMS_1 = '{"end":"completed","items":1}'


def sample_streams() -> list[streamtest.ObjectStream]:
    return [
        streamtest.ObjectStream(
            "answer",
            (
                streamtest.Item(0.0123456789, {"text": "Hel", "n": [1, 2.5, True]}),
                streamtest.Item(0.02, None),
                streamtest.Item(0.03, {"$type": "tuple", "value": [1, "x"]}),
            ),
        ),
        streamtest.ObjectStream(
            "answer",
            (streamtest.Item(0.5, "partial"),),
            key={"question": "Hi", "n": 2},
            error=StreamError("ValueError", "boom"),
        ),
        streamtest.ObjectStream("graph", key=["thread", 1], closed=True),
    ]


def test_interactions_and_object_streams_round_trip_in_one_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    interactions, streams = sample_interactions(), sample_streams()
    fileformat.save(Cassette(path, interactions, streams=streams), recorded_with=RECORDED_WITH)

    loaded = fileformat.load(path)

    assert loaded.interactions == interactions
    assert loaded.streams == [
        with_first_t(streams[0], 0.012346),
        *streams[1:],
    ]
    assert [s.end for s in loaded.streams] == [End.COMPLETED, End.FAILED, End.CLOSED]
    assert len(loaded) == len(interactions)
    assert repr(loaded) == f"<Cassette {str(path)!r} with 4 interaction(s) and 3 object stream(s)>"


def with_first_t(stream: streamtest.ObjectStream, t: float) -> streamtest.ObjectStream:
    items = (streamtest.Item(t, stream.items[0].value), *stream.items[1:])
    return streamtest.ObjectStream(stream.name, items, stream.key, stream.error, stream.closed)


def test_object_stream_records_are_written_after_the_interactions(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    cassette = Cassette(path, sample_interactions()[3:], streams=sample_streams())
    fileformat.save(cassette, recorded_with=RECORDED_WITH)

    lines = path.read_text(encoding="utf-8").splitlines()

    assert lines[1].startswith('{"request":') and lines[2] == END_0
    assert lines[3:] == [
        '{"stream":{"name":"answer"}}',
        '{"t":0.012346,"item":{"text":"Hel","n":[1,2.5,true]}}',
        '{"t":0.02,"item":null}',
        '{"t":0.03,"item":{"$type":"tuple","value":[1,"x"]}}',
        '{"end":"completed","items":3}',
        '{"stream":{"name":"answer","key":{"question":"Hi","n":2}}}',
        '{"t":0.5,"item":"partial"}',
        '{"end":"failed","items":1,"error":{"type":"ValueError","message":"boom"}}',
        '{"stream":{"name":"graph","key":["thread",1]}}',
        '{"end":"closed","items":0}',
    ]


def test_a_cassette_with_only_object_streams_loads(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "streams.jsonl", HEADER, STREAM, ITEM, ITEMS_1)

    loaded = fileformat.load(path)

    assert loaded.interactions == []
    assert loaded.streams == [
        streamtest.ObjectStream("answer", (streamtest.Item(0.1, {"text": "Hel"}),))
    ]
    assert repr(loaded).endswith("with 0 interaction(s) and 1 object stream(s)>")


def test_the_object_stream_example_in_the_format_document_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cassette-format.md").read_text()
    section = doc.split("## Object streams", 1)[1]
    example = section.split("```\n", 2)[1]
    path = tmp_path / "example.jsonl"
    path.write_text(example, encoding="utf-8")

    [stream] = fileformat.load(path).streams

    assert (stream.name, stream.key, len(stream.items), stream.end) == (
        "answer",
        {"question": "Hi"},
        3,
        End.COMPLETED,
    )
    assert stream.items[2] == streamtest.Item(0.052114, None)


@pytest.mark.parametrize(
    ("lines", "line", "fragments"),
    [
        pytest.param(
            (HEADER, ITEM, ITEMS_1),
            2,
            ["an item appears outside an object stream"],
            id="stray-item",
        ),
        pytest.param(
            (HEADER, BEGIN, ITEM, END_1),
            3,
            ["an item appears inside the interaction that begins on line 2"],
            id="item-inside-interaction",
        ),
        pytest.param(
            (HEADER, STREAM, CHUNK, ITEMS_1),
            3,
            ["a chunk appears inside the object stream that begins on line 2"],
            id="chunk-inside-stream",
        ),
        pytest.param(
            (HEADER, STREAM, ITEM, '{"end":"completed","items":2}'),
            4,
            ["the end record counts 2 items but the object stream on line 2 has 1"],
            id="item-count-mismatch",
        ),
        pytest.param(
            (HEADER, STREAM, ITEM, END_1),
            4,
            ['the end record of an object stream counts "items", not "chunks"'],
            id="stream-end-counting-chunks",
        ),
        pytest.param(
            (HEADER, BEGIN, CHUNK, ITEMS_1),
            4,
            ['the end record of an interaction counts "chunks", not "items"'],
            id="interaction-end-counting-items",
        ),
        pytest.param(
            (HEADER, STREAM, '{"end":"failed","items":0}'),
            3,
            ['an "error" belongs exactly to an end that is "failed"'],
            id="failed-stream-without-error",
        ),
        pytest.param(
            (HEADER, STREAM, '{"end":"closed","items":0,"error":{"type":"E","message":"m"}}'),
            3,
            ['an "error" belongs exactly to an end that is "failed"'],
            id="closed-stream-with-error",
        ),
        pytest.param(
            (HEADER, STREAM, '{"end":"stopped","items":0}'),
            3,
            ["\"end\" is 'stopped'; expected completed, failed or closed"],
            id="unknown-stream-end",
        ),
        pytest.param(
            (HEADER, STREAM, ITEM),
            3,
            ["the file ends inside the object stream that begins on line 2", "cut short"],
            id="truncated-stream",
        ),
        pytest.param(
            (HEADER, STREAM, STREAM),
            3,
            ["a new object stream begins before the one on line 2 has its end record"],
            id="stream-without-end",
        ),
        pytest.param(
            (HEADER, STREAM, BEGIN),
            3,
            ["a new interaction begins before the object stream on line 2 has its end record"],
            id="interaction-inside-stream",
        ),
        pytest.param(
            (HEADER, BEGIN, STREAM),
            3,
            ["a new object stream begins before the interaction on line 2 has its end record"],
            id="stream-inside-interaction",
        ),
        pytest.param(
            (HEADER, STREAM, '{"item":1}', ITEMS_1),
            3,
            ['an item record holds exactly "t" and "item"'],
            id="item-without-t",
        ),
        pytest.param(
            (HEADER, STREAM, '{"t":0.1,"item":1,"text":"x"}', ITEMS_1),
            3,
            ['an item record holds exactly "t" and "item"'],
            id="item-with-text",
        ),
        pytest.param(
            (HEADER, '{"stream":{"key":1}}', ITEMS_1),
            2,
            ["not of format v1", "name"],
            id="stream-without-name",
        ),
        pytest.param(
            (HEADER, '{"stream":{"name":"a","keys":1}}', ITEMS_1),
            2,
            ["unknown field", "keys"],
            id="stream-unknown-field",
        ),
        pytest.param(
            (HEADER, ITEMS_1),
            2,
            ["an end record appears outside an interaction or an object stream"],
            id="stray-stream-end",
        ),
    ],
)
def test_a_broken_object_stream_names_its_path_line_and_problem(
    tmp_path: Path, lines: tuple[str, ...], line: int, fragments: list[str]
) -> None:
    assert_broken(tmp_path, lines, line, fragments)


def test_an_item_may_be_json_null_or_false_or_zero(tmp_path: Path) -> None:
    items = ('{"t":0.1,"item":null}', '{"t":0.2,"item":false}', '{"t":0.3,"item":0}')
    path = write_lines(
        tmp_path / "falsy.jsonl", HEADER, STREAM, *items, '{"end":"completed","items":3}'
    )

    [stream] = fileformat.load(path).streams

    assert [item.value for item in stream.items] == [None, False, 0]


def _with_t(record: str, t: str) -> str:
    """``record`` (one JSON object) with ``"t"`` set to the raw JSON number ``t``."""
    value = json.loads(record)
    target = value.get("response", value)
    target["t"] = "\x00"
    return json.dumps(value, separators=(",", ":")).replace('"\\u0000"', t)


@pytest.mark.parametrize(
    ("lines", "line", "fragments"),
    [
        pytest.param(
            (HEADER, BEGIN, _with_t(CHUNK, "-0.5"), END_1),
            3,
            ['the chunk\'s "t" is -0.5, negative', "from 0 to 604,800 (7 days)"],
            id="chunk-negative",
        ),
        pytest.param(
            (HEADER, BEGIN, _with_t(CHUNK, "1e300"), END_1),
            3,
            ['the chunk\'s "t" is 1e+300, more than 7 days', "a realtime replay waits"],
            id="chunk-absurd",
        ),
        pytest.param(
            (
                HEADER,
                BEGIN,
                CHUNK,
                _with_t(CHUNK, "604800.000001"),
                '{"end":"completed","chunks":2}',
            ),
            4,
            ['the chunk\'s "t" is 604800.000001, more than 7 days'],
            id="chunk-just-over-the-bound",
        ),
        pytest.param(
            (HEADER, BEGIN, '{"t":-1,"b64":"AA=="}', END_1),
            3,
            ['the chunk\'s "t" is -1.0, negative'],
            id="binary-chunk-negative",
        ),
        pytest.param(
            (HEADER, _with_t(BEGIN, "-2"), END_0),
            2,
            ['the response\'s "t" is -2.0, negative'],
            id="response-negative",
        ),
        pytest.param(
            (HEADER, _with_t(UNTIMED_BEGIN, "1e300"), END_0),
            2,
            ['the response\'s "t" is 1e+300, more than 7 days'],
            id="untimed-response-absurd",
        ),
        pytest.param(
            (HEADER, STREAM, _with_t(ITEM, "-0.001"), ITEMS_1),
            3,
            ['the item\'s "t" is -0.001, negative'],
            id="item-negative",
        ),
        pytest.param(
            (HEADER, STREAM, _with_t(ITEM, "9e9"), ITEMS_1),
            3,
            ['the item\'s "t" is 9000000000.0, more than 7 days'],
            id="item-absurd",
        ),
    ],
)
def test_an_offset_a_replay_cannot_wait_for_names_its_line(
    tmp_path: Path, lines: tuple[str, ...], line: int, fragments: list[str]
) -> None:
    assert_broken(tmp_path, lines, line, [*fragments, 'Set "t" to the seconds since the request'])


def test_offsets_at_the_bounds_load(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "bounds.jsonl",
        HEADER,
        _with_t(BEGIN, "604800"),
        _with_t(CHUNK, "0"),
        _with_t(CHUNK, "-0.0"),
        _with_t(CHUNK, "604800"),
        '{"end":"completed","chunks":3}',
    )

    response = fileformat.load(path).interactions[0].response

    assert (response.t, [c.t for c in response.chunks]) == (604800.0, [0.0, 0.0, 604800.0])
    assert str(response.chunks[1].t) == "0.0"  # -0.0 loads as 0.0, as before


def test_the_offset_bound_is_seven_days() -> None:
    assert fileformat.MAX_OFFSET == 7 * 24 * 3600


OFFSETS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 604800),
    st.floats(0, 1e-4),
    st.integers(0, 10**8).map(lambda k: k / 128),  # ties for round(t, 6): round half to even
    st.integers(0, 10**10).map(lambda k: k / 1e6),  # already to the microsecond
    st.integers(0, 10**7).map(lambda k: (k + 0.5) / 1e6),
    st.sampled_from([0.0, -0.0, 1e-7, 5e-7, 0.0078125, 1e6, 1e16, 1e22, 123456789.123456]),
)


@settings(
    max_examples=300, deadline=None, derandomize=True, database=None
)  # same examples every run
@given(offsets=st.lists(OFFSETS, max_size=30), head=OFFSETS, items=st.booleans())
def test_every_offset_is_written_as_round_t_6(
    offsets: list[float], head: float, items: bool
) -> None:
    """Whatever the offsets (some already to the microsecond, some not, in any order), each is
    written exactly as msgspec writes ``round(t, 6)``."""
    if items:
        stream = streamtest.ObjectStream("s", tuple(streamtest.Item(t, 1) for t in offsets))
        cassette = Cassette("x.jsonl", [], streams=[stream])
    else:
        chunks = tuple(Chunk(t, b"x" if n % 3 else b"\xff") for n, t in enumerate(offsets))
        response = Response(200, (), chunks, t=head)
        cassette = Cassette("x.jsonl", [Interaction(Request("GET", "u"), response)])

    lines = fileformat.dumps(cassette, recorded_with="r").splitlines()[2:-1]

    written = [line.split(b",")[0].removeprefix(b'{"t":') for line in lines]
    assert written == [msgspec.json.encode(round(t, 6)) for t in offsets]
