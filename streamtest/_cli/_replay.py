"""``streamtest replay``: play a cassette's streams to the terminal as they arrived.

Each chunk is due at its recorded offset (divided by ``--speed``; ``--instant`` does not wait).
For the APIs streamtest knows, what each chunk added is typed out (`_deltas`): the text, the
reasoning (``[thinking] ...``), tool calls as their arguments stream (``[tool get_weather]
{"city": ...``), errors where they happened (``[error] ...``). Other APIs print their events
as raw lines, and ``--raw`` writes the exact recorded bytes. Object streams follow: text items
typed, other items one line each.

stdout carries only the stream, so it can be piped; the ``--- #0 ...`` line before and after
each interaction goes to stderr. Ctrl-C stops the replay cleanly, with exit status 0: stopping
a replay early is a normal way to end it.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path
from typing import IO, Any

from .._core.clock import Pacer, RealClock, Timing
from .._core.errors import CassetteError
from .._core.faults import Injector, stall_plan
from .._core.fileformat import load
from .._core.model import Cassette, Interaction, ObjectStream
from ._deltas import Piece, pieces_per_chunk
from ._figures import interaction_figures, item_kind, seconds, stream_figures
from ._options import add_faults, add_pacing, check_pacing, examples
from ._show import _count, quiet_stdout
from ._term import OK, PROBLEM, USAGE, fail, paint

_ITEM_WIDTH = 200

_EPILOG = examples(
    "streamtest replay cassettes/chat.jsonl              # at the recorded pace",
    "streamtest replay --speed 4 chat.jsonl              # four times faster",
    "streamtest replay --instant chat.jsonl > answer.txt # stdout holds only the stream",
    "streamtest replay --raw --interaction 1 chat.jsonl  # the exact bytes of #1",
    "streamtest replay --untimed-gap 0.05 imported.jsonl # vcrpy imports kept no timing",
    "streamtest replay --fault cut=20 chat.jsonl         # what an app sees if it breaks there",
    "streamtest replay --fault rechunk=bytes --raw c.jsonl  # the same bytes, one per chunk",
) + (
    "\n\nThe text, reasoning and tool calls of OpenAI chat and Responses, Anthropic, Gemini and\n"
    "Ollama streams are typed out; other APIs print their raw events. A line before and after\n"
    "each interaction goes to stderr. Ctrl-C stops the replay (exit status 0)."
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = commands.add_parser(
        "replay",
        help="play a cassette's streams to the terminal at their recorded pace",
        description=textwrap.fill(
            "Play a cassette's streams to the terminal at their recorded pace: the "
            "text and tool calls of known APIs typed out as they arrived, raw events otherwise, "
            "recorded errors where they happened.",
            90,
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("cassette", metavar="CASSETTE", help="the cassette file")
    add_pacing(replay)
    add_faults(replay)
    replay.add_argument(
        "--raw",
        action="store_true",
        help="write the exact recorded bytes (still compressed if they were), not the text",
    )
    replay.add_argument(
        "--interaction",
        type=int,
        metavar="N",
        help="replay only interaction #N (numbered as show numbers them), no object streams",
    )

    def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
        timing = check_pacing(parser, args)
        if not Path(args.cassette).is_file():
            return fail("replay", f"{args.cassette}: no such file.", USAGE)
        try:
            cassette = load(args.cassette)
        except (CassetteError, OSError) as exc:
            return fail("replay", str(exc), PROBLEM)
        count = len(cassette.interactions)
        if args.interaction is not None and not 0 <= args.interaction < count:
            parser.error(
                f"--interaction {args.interaction}: the cassette holds interactions "
                + (f"#0 to #{count - 1}" if count else "none")
            )
        player = _Player(timing, args.speed, args.untimed_gap, raw=args.raw)
        player.injector = Injector(args.fault) if args.fault else None
        return player.play(cassette, args.interaction)

    replay.set_defaults(run=run)


class Typist:
    """Writes pieces to ``out`` as a person reads them: text as it comes, each change of kind
    (reasoning, a tool call, an error) on a line of its own with a label, colour on a terminal."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.mode: str | None = None
        self.fresh_line = True

    def _put(self, text: str, style: str | None = None) -> None:
        if text:
            # Before writing: a Ctrl-C right after the write must still find the line open.
            self.fresh_line = text.endswith("\n")
            self.out.write(paint(text, style, self.out) if style else text)

    def _start(self, mode: str, label: str = "", style: str | None = None) -> None:
        if self.mode != mode or label:
            self.finish()
            self.mode = mode
            self._put(label, style)

    def write(self, piece: Piece) -> None:
        if piece.kind == "text":
            self._start("text")
            self._put(piece.text)
        elif piece.kind == "reasoning":
            if self.mode != "reasoning":
                self._start("reasoning", "[thinking] ", "dim")
            self._put(piece.text, "dim")
        elif piece.kind == "tool":
            self._start("arguments", f"[tool {piece.text}] ", "cyan")
        elif piece.kind == "arguments":
            if self.mode != "arguments":
                self._start("arguments", "[tool] ", "cyan")
            self._put(piece.text)
        elif piece.kind == "error":
            self._start("error", f"[error] {piece.text}\n", "red")
        else:
            self._start("raw")
            self._put(piece.text)
        self.out.flush()

    def finish(self) -> None:
        """End the current line, so what follows starts on its own."""
        if not self.fresh_line:
            self._put("\n")
            self.out.flush()
        self.mode = None


class _Player:
    def __init__(self, timing: Timing, speed: float, untimed_gap: float, *, raw: bool) -> None:
        self.timing, self.speed, self.untimed_gap, self.raw = timing, speed, untimed_gap, raw
        if hasattr(sys.stdout, "reconfigure"):  # a console that cannot show every character
            sys.stdout.reconfigure(errors="replace")
        self.typist = Typist(sys.stdout)
        self.injector: Injector | None = None

    def play(self, cassette: Cassette, only: int | None) -> int:
        """Replay the interactions (all, or number ``only``), then the object streams."""
        where = "the start"
        try:
            for index, interaction in enumerate(cassette.interactions):
                if only is None or index == only:
                    where = f"#{index}"
                    self._interaction(index, interaction)
            if only is None:
                for index, stream in enumerate(cassette.streams):
                    where = f"stream #{index}"
                    self._stream(index, stream)
        except KeyboardInterrupt:
            self.typist.finish()
            _note(f"--- stopped during {where} (Ctrl-C)", "yellow")
        except BrokenPipeError:  # `streamtest replay ... | head`: the reader has seen enough
            quiet_stdout()
        return OK

    def _pacer(self, *, timed: bool) -> Pacer:
        gap = None if timed else self.untimed_gap
        return Pacer(RealClock(), self.timing, self.speed, untimed_gap=gap)

    def _interaction(self, index: int, interaction: Interaction) -> None:
        shaped = self.injector and self.injector.shape(interaction.response, interaction.request)
        if shaped:
            interaction = Interaction(interaction.request, shaped.response)
        figures = interaction_figures(index, interaction, meaning=False)
        _note(f"--- {figures.title()}", "bold")
        if shaped:
            _note(f"--- injected: {'; '.join(shaped.faults)}", "yellow")
        response = interaction.response
        output = None if self.raw else pieces_per_chunk(interaction)
        pacer = self._pacer(timed=response.timed)
        stalls = stall_plan(shaped.stalls if shaped else ())
        start = time.perf_counter()
        for position, chunk in enumerate(response.chunks):
            if position in stalls:
                pacer.stall(stalls[position])
            pacer.wait(pacer.due(position, chunk.t))
            if output is None:
                sys.stdout.buffer.write(chunk.data)
                sys.stdout.buffer.flush()
            else:
                for piece in output.chunks[position]:
                    self.typist.write(piece)
        if len(response.chunks) in stalls:
            pacer.stall(stalls[len(response.chunks)])
        for piece in output.end if output is not None else ():
            self.typist.write(piece)
        if output is None and sys.stdout.isatty() and not response.body.endswith(b"\n"):
            # On a terminal only: piped or redirected, stdout holds exactly the bytes.
            sys.stdout.buffer.write(b"\n")
            sys.stdout.buffer.flush()
        self.typist.finish()
        took = time.perf_counter() - start
        recorded = seconds(figures.duration) if figures.timed else "unknown timing"
        end = figures.end
        if figures.error is not None:
            end += f" ({figures.error.type}: {figures.error.message})"
        _note(
            f"--- #{index} {end}: {_count(figures.chunks, 'chunk')}, {figures.bytes:,} bytes, "
            f"replayed in {took:.2f} s (recorded: {recorded})",
            "red" if figures.failed else "dim",
        )

    def _stream(self, index: int, stream: ObjectStream) -> None:
        figures = stream_figures(index, stream)
        _note(f"--- {figures.title()}", "bold")
        pacer = self._pacer(timed=True)
        start = time.perf_counter()
        for item in stream.items:
            pacer.wait(item.t)
            if isinstance(item.value, str):
                self.typist.write(Piece("text", item.value))
            else:
                self.typist.write(Piece("raw", _item_line(item.value)))
        if stream.error is not None:
            self.typist.write(Piece("error", f"{stream.error.type}: {stream.error.message}"))
        self.typist.finish()
        took = time.perf_counter() - start
        _note(
            f"--- stream #{index} {figures.end}: {_count(figures.items, 'item')}, replayed in "
            f"{took:.2f} s (recorded: {seconds(figures.duration)})",
            "red" if figures.failed else "dim",
        )


def _item_line(value: Any) -> str:
    """A non-text item on one line: its kind, then its JSON, cut to a readable width."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(text) > _ITEM_WIDTH:
        text = text[: _ITEM_WIDTH - 1] + "…"
    return f"[{item_kind(value)}] {text}\n"


def _note(text: str, style: str) -> None:
    print(paint(text, style, sys.stderr), file=sys.stderr, flush=True)
