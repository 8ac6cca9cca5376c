"""``streamtest scrub``: apply the redaction rules to existing cassettes, in place."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._core.errors import StreamtestError
from .._core.fileformat import load, save
from .._core.redaction import Redaction, Scrubber
from .._core.scrubbing import Finding, scrub_cassette
from .._objects.codecs import scrub
from .._version import __version__
from ._options import examples
from ._term import OK, PROBLEM, USAGE, fail, paint, progress

_SHOWN_PLACES = 12

_DESCRIPTION = """\
Remove secrets from existing cassettes with the rules recording applies: the values of
secret headers (authorization, x-api-key, cookie, ...) and key-like query parameters
(api_key, key, token, ...); anywhere in URLs, headers, request bodies, response chunks
(searched across chunk boundaries; Content-Length is fixed), error messages and object
stream items: strings shaped like provider keys (sk-..., sk-ant-..., AIza..., gsk_...,
hf_...) and the value of every environment variable named *_API_KEY, *_TOKEN or *_SECRET
(as set when this command runs). Each secret becomes REDACTED; compressed bodies are not
searched.

A cassette is rewritten only when it held a secret, atomically (a temporary file renamed
over it), with everything else kept; scrubbing again changes nothing. The report names each
place that held a secret, never the secret (at most its first three characters, or the
environment variable it is the value of).

Exit status: 0 when done (with --check: no secrets), 1 when --check found secrets or a
cassette is invalid, 2 for a usage error such as a missing path."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser(
        "scrub",
        help="remove secrets from existing cassettes, in place",
        description=_DESCRIPTION,
        epilog=examples(
            "streamtest scrub tests/cassettes                 # rewrite what holds a secret",
            "streamtest scrub --check tests/cassettes         # CI: exit 1 if any secret",
            "streamtest scrub --dry-run chat.jsonl            # report, write nothing",
            "streamtest scrub --header x-internal-auth --pattern 'acme_[0-9a-f]{32}' .",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "paths", nargs="+", metavar="PATH", help="cassette files, or folders (every *.jsonl)"
    )
    mode = command.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if any cassette holds a secret"
    )
    mode.add_argument("--dry-run", action="store_true", help="report what would go; write nothing")
    command.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME",
        help="also redact the value of this header (repeatable)",
    )
    command.add_argument(
        "--query-param",
        action="append",
        default=[],
        metavar="NAME",
        help="also redact the value of this query parameter (repeatable)",
    )
    command.add_argument(
        "--pattern",
        action="append",
        default=[],
        metavar="REGEX",
        help="also redact every match of this regular expression (repeatable)",
    )

    def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
        for pattern in args.pattern:
            try:
                Redaction.off().adding(key_shapes=[("pattern", pattern)]).scrubber()
            except re.error as exc:
                parser.error(f"--pattern {pattern!r} is not a usable regular expression ({exc})")
        rules = Redaction().adding(
            headers=args.header,
            query_params=args.query_param,
            key_shapes=[(f"pattern-{n}", p) for n, p in enumerate(args.pattern, 1)],
        )
        return _scrub(args.paths, rules.scrubber(), check=args.check, dry_run=args.dry_run)

    command.set_defaults(run=run)


def _cassettes(paths: Sequence[str]) -> list[Path] | str:
    """Every cassette named or under a folder named; or the message for a path that is not."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.jsonl") if p.is_file())
        elif path.exists():
            found.append(path)
        else:
            return f"{path}: no such file or folder."
    return list(dict.fromkeys(found)) or f"no cassettes (*.jsonl) under {', '.join(paths)}."


def _scrub(paths: Sequence[str], scrubber: Scrubber, *, check: bool, dry_run: bool) -> int:
    files = _cassettes(paths)
    if isinstance(files, str):
        return fail("scrub", files, USAGE)
    secrets = dirty = invalid = 0
    for path in progress(files, len(files), "Scrubbing"):
        try:
            findings = _scrub_file(path, scrubber, write=not (check or dry_run))
        except StreamtestError as exc:
            invalid += 1
            fail("scrub", str(exc))
            continue
        except OSError as exc:  # (the cassette itself is left as it was: writes are atomic)
            invalid += 1
            fail("scrub", f"{path}: cannot be rewritten ({exc.strerror or exc}).")
            continue
        if findings:
            count = sum(finding.count for finding in findings)
            secrets, dirty = secrets + count, dirty + 1
            verb = "found" if check else "would be removed" if dry_run else "removed"
            places = ", ".join(map(str, findings[:_SHOWN_PLACES]))
            if len(findings) > _SHOWN_PLACES:
                places += f", and {len(findings) - _SHOWN_PLACES} more"
            print(f"{path}: {paint(f'{count} secret(s) {verb}', 'red')} — {places}")
    total = f"{len(files)} cassette(s)"
    if not secrets:
        print(paint(f"No secrets found in {total}.", "green"))
    elif check:
        print(f"{secrets} secret(s) in {dirty} of {total}; `streamtest scrub` removes them.")
    elif dry_run:
        print(f"Would remove {secrets} secret(s) from {dirty} of {total}; nothing was written.")
    else:
        print(f"Removed {secrets} secret(s) from {dirty} of {total}.")
    if invalid:
        print(f"{invalid} cassette(s) could not be scrubbed (see above).", file=sys.stderr)
    return PROBLEM if invalid or (check and secrets) else OK


def _scrub_file(path: Path, scrubber: Scrubber, *, write: bool) -> list[Finding]:
    cassette = load(path)

    def scrub_item(value: Any) -> Any:
        return scrub(value, scrubber)

    scrubbed, findings = scrub_cassette(cassette, scrubber, scrub_item=scrub_item)
    if findings and write:
        target = path.resolve()  # a symlinked cassette stays a symlink
        mode = target.stat().st_mode
        scrubbed.path = target
        save(scrubbed, recorded_with=_recorded_with(target))
        os.chmod(target, mode)
    return findings


def _recorded_with(path: Path) -> str:
    """The header's ``recorded_with``, kept: scrubbing is not recording."""
    with path.open("rb") as handle:
        header = json.loads(handle.readline())
    recorded_with = header.get("recorded_with") if isinstance(header, dict) else None
    return recorded_with if isinstance(recorded_with, str) else f"streamtest {__version__}"
