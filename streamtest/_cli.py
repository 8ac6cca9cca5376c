"""The ``streamtest`` command line: show, replay, import-vcr, serve."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ._core.clock import Pacer, RealClock, Timing
from ._core.errors import StreamtestError
from ._core.fileformat import load
from ._core.model import Interaction
from ._vcr_import import import_vcr
from ._version import __version__

_VCR_SUFFIXES = (".yaml", ".yml", ".json")


def _summary(index: int, interaction: Interaction) -> str:
    request, response = interaction.request, interaction.response
    chunks = response.chunks
    first = f"{chunks[0].t:.3f} s" if chunks else "-"
    last = f"{chunks[-1].t:.3f} s" if chunks else "-"
    if not response.timed:
        first = last = "unknown"
    end = response.end.value
    if response.error is not None:
        end += f" ({response.error.type}: {response.error.message})"
    return (
        f"#{index} {request.method} {request.url} -> {response.status}\n"
        f"   {len(chunks)} chunks, {len(response.body):,} bytes, first chunk {first}, "
        f"last {last}, {end}"
    )


def _show(paths: Sequence[str]) -> int:
    for path in paths:
        cassette = load(path)
        print(f"{path}: {len(cassette.interactions)} interaction(s)")
        for index, interaction in enumerate(cassette.interactions):
            print(_summary(index, interaction))
    return 0


def _replay(path: str, speed: float, instant: bool, untimed_gap: float) -> int:
    """Print each chunk's bytes at its recorded offset (divided by ``speed``); chunks whose
    timing is unknown come ``untimed_gap`` seconds apart."""
    cassette = load(path)
    timing = Timing.INSTANT if instant else Timing.REALTIME
    out = sys.stdout.buffer
    for index, interaction in enumerate(cassette.interactions):
        response = interaction.response
        gap = None if response.timed else untimed_gap
        pacer = Pacer(RealClock(), timing, speed, untimed_gap=gap)
        start = time.perf_counter()
        for position, chunk in enumerate(response.chunks):
            pacer.wait(pacer.due(position, chunk.t))
            out.write(chunk.data)
            out.flush()
        took = time.perf_counter() - start
        print(f"\n--- {_summary(index, interaction)}\n   replayed in {took:.3f} s", flush=True)
    return 0


def _vcr_files(sources: Sequence[str]) -> list[tuple[Path, Path]]:
    """Each cassette file to convert, with its output path relative to ``--out``: a folder
    contributes every YAML/JSON file under it, keeping the folder structure."""
    found = []
    for source in map(Path, sources):
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                if path.is_file() and path.suffix.lower() in _VCR_SUFFIXES:
                    found.append((path, path.relative_to(source).with_suffix(".jsonl")))
        else:
            found.append((source, Path(source.name).with_suffix(".jsonl")))
    return found


def _import_vcr(sources: Sequence[str], out: Path) -> int:
    """Convert every file; one that fails is reported and the others are still converted."""
    files = _vcr_files(sources)
    if not files:
        print("streamtest: no vcrpy cassettes (*.yaml, *.yml, *.json) found.", file=sys.stderr)
        return 1
    failed = 0
    for src, relative in files:
        dest = out / relative
        try:
            cassette = import_vcr(src, dest)
        except StreamtestError as exc:
            failed += 1
            print(f"streamtest: {exc}", file=sys.stderr)
            continue
        chunks = sum(len(i.response.chunks) for i in cassette.interactions)
        print(f"{src} -> {dest}: {len(cassette)} interaction(s), {chunks} chunk(s)")
    print(f"Converted {len(files) - failed} of {len(files)} file(s) into {out}.")
    return 1 if failed else 0


class _Terminated(Exception):
    """SIGINT or SIGTERM arrived: stop serving."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def _serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; exit 0 then. A missing cassette or an unknown matcher is a
    usage error (2), a bad cassette or an address in use an error (1): one line each."""
    from ._serve import ReplayServer, cassette_paths  # lazily: `import streamtest` loads no server

    try:
        paths = cassette_paths(args.cassettes)
        server = ReplayServer(
            paths,
            host=args.host,
            port=args.port,
            timing=Timing.INSTANT if args.instant else Timing.REALTIME,
            speed=args.speed,
            untimed_gap=args.untimed_gap,
            match_on=[name.strip() for name in args.match_on.split(",") if name.strip()],
            allow_playback_repeats=not args.no_repeat,
            quiet=args.quiet,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"streamtest serve: {exc}", file=sys.stderr)
        return 2
    try:
        server.start()
    except OSError as exc:
        print(
            f"streamtest serve: cannot listen on {args.host}:{args.port} ({exc}); pick another "
            "--port (0 picks a free one).",
            file=sys.stderr,
        )
        return 1
    # Both signals are handled, not left to Python's defaults: a shell starts a background job
    # with SIGINT ignored, and SIGTERM would kill the process without stopping the server.
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {signum: signal.signal(signum, _terminate) for signum in handled}
    try:
        print(
            f"streamtest serve: replaying {server.interaction_count} interaction(s) from "
            f"{len(paths)} cassette(s) on {server.url}",
            flush=True,
        )
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, _Terminated):
        return 0
    finally:
        server.stop()
        for signum, handler in previous.items():
            if handler is not None:  # (None: not set from Python, so nothing to put back)
                signal.signal(signum, handler)


_SERVE_EPILOG = """\
examples:
  streamtest serve cassettes/ --port 8765
  OPENAI_BASE_URL=http://127.0.0.1:8765/v1 python app.py        # the openai SDKs read it
  ANTHROPIC_BASE_URL=http://127.0.0.1:8765 node app.js          # and the anthropic SDKs
  streamtest serve chat.jsonl --port 0 --instant --no-repeat     # CI: fast, each reply once
  curl -N http://127.0.0.1:8765/v1/chat/completions -d @request.json

Requests match on method, path, query and body (JSON compared as values), not on the host:
point the client's base URL at the server and keep the recorded path. An unmatched request
gets HTTP 404 with an x-streamtest-unmatched header and an error naming the closest recorded
request. Stop with Ctrl-C or SIGTERM (exit status 0)."""


def _add_pacing(command: argparse.ArgumentParser) -> None:
    """--speed / --instant and --untimed-gap, shared by the commands that replay."""
    pace = command.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, default=1.0, help="speed factor (default 1)")
    pace.add_argument("--instant", action="store_true", help="no waiting between chunks")
    command.add_argument(
        "--untimed-gap",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="gap between chunks whose timing is unknown (imported from vcrpy); default 0",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="streamtest",
        description="Chunk cassettes for streaming LLM traffic: inspect and replay.",
    )
    parser.add_argument("--version", action="version", version=f"streamtest {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="summarize each interaction of cassettes")
    show.add_argument("cassettes", nargs="+")
    replay = commands.add_parser("replay", help="play a cassette's chunks to the terminal")
    replay.add_argument("cassette")
    _add_pacing(replay)
    convert = commands.add_parser(
        "import-vcr",
        help="convert vcrpy cassettes into chunk cassettes",
        description="Convert vcrpy cassettes (YAML or JSON) into chunk cassettes: one chunk per "
        "streamed event, timing marked unknown, secrets redacted. Folders are searched for "
        "*.yaml, *.yml and *.json and their structure is kept under --out.",
        epilog="example: streamtest import-vcr tests/cassettes --out tests/chunk_cassettes",
    )
    convert.add_argument(
        "sources", nargs="+", metavar="SRC", help="vcrpy cassette files or folders"
    )
    convert.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    serve = commands.add_parser(
        "serve",
        help="replay cassettes over HTTP to apps in any process or language",
        description="Replay cassettes over HTTP, with their recorded timing, to any client that\n"
        "speaks the recorded APIs (OpenAI chat and Responses, Anthropic messages, ...). Prints\n"
        "one line with the URL, logs each request on stderr, and runs until Ctrl-C or SIGTERM.",
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "cassettes",
        nargs="+",
        metavar="CASSETTE_OR_DIR",
        help="cassette files, or folders (every *.jsonl under them, sorted); tried in order",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=8765, help="port to bind (default 8765; 0 picks a free one)"
    )
    _add_pacing(serve)
    serve.add_argument(
        "--match-on",
        default="method,path,query,body",
        metavar="NAMES",
        help="comma-separated matchers (default method,path,query,body; also url, scheme, "
        "host, port, headers)",
    )
    serve.add_argument(
        "--no-repeat",
        action="store_true",
        help="answer each recorded interaction once (default: the last match replays again)",
    )
    serve.add_argument("--quiet", action="store_true", help="do not log each request on stderr")
    args = parser.parse_args(argv)
    try:
        if args.command == "show":
            return _show(args.cassettes)
        if args.command == "import-vcr":
            return _import_vcr(args.sources, args.out)
        if not args.speed > 0:
            parser.error("--speed must be a positive number")
        if not args.untimed_gap >= 0:
            parser.error("--untimed-gap must be zero or a positive number of seconds")
        if args.command == "serve":
            return _serve(args)
        return _replay(args.cassette, args.speed, args.instant, args.untimed_gap)
    except StreamtestError as exc:
        print(f"streamtest: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
