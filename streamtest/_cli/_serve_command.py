"""``streamtest serve``: replay cassettes over HTTP (the server is `streamtest._serve`)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from types import FrameType

from ._options import add_faults, add_pacing, check_pacing


class _Terminated(Exception):
    """SIGINT or SIGTERM arrived: stop serving."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def _serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; exit 0 then. A missing cassette or an unknown matcher is a
    usage error (2), a bad cassette or an address in use an error (1): one line each."""
    from .._serve import ReplayServer, cassette_paths  # lazily: `import streamtest` loads no server

    try:
        paths = cassette_paths(args.cassettes)
        server = ReplayServer(
            paths,
            host=args.host,
            port=args.port,
            timing=args.timing,
            speed=args.speed,
            untimed_gap=args.untimed_gap,
            match_on=[name.strip() for name in args.match_on.split(",") if name.strip()],
            allow_playback_repeats=not args.no_repeat,
            quiet=args.quiet,
            faults=args.fault,
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
  streamtest serve chat.jsonl --fault cut=12,error=reset        # break every stream mid-answer
  streamtest serve chat.jsonl --fault status=529,times=1        # overloaded once, then recorded

Requests match on method, path, query and body (JSON compared as values), not on the host:
point the client's base URL at the server and keep the recorded path. An unmatched request
gets HTTP 404 with an x-streamtest-unmatched header and an error naming the closest recorded
request. Stop with Ctrl-C or SIGTERM (exit status 0)."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    add_pacing(serve)
    add_faults(serve)
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

    def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
        args.timing = check_pacing(parser, args)
        return _serve(args)

    serve.set_defaults(run=run)
