"""The exceptions streamtest raises.

    StreamtestError
    ├── CassetteError            a cassette file is unreadable or malformed
    ├── IncompleteRecordingError  replay was asked for data the recording does not hold
    └── UnmatchedRequestError     (also an AssertionError) no recorded interaction matches

Every message is a full sentence that says what is wrong and how to fix it.
"""

from __future__ import annotations

from pathlib import Path


class StreamtestError(Exception):
    """Base class of every error streamtest raises on purpose."""


class CassetteError(StreamtestError):
    """A cassette file could not be read: names the path, the line when known, and the fix."""

    def __init__(
        self, path: Path | str, what: str, *, line: int | None = None, fix: str = ""
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.what = what
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        message = f"Cassette {where} is invalid: {what}"
        if fix:
            message += f" {fix}"
        super().__init__(message)


class IncompleteRecordingError(StreamtestError):
    """The consumer read past the end of a stream the client had closed early while recording."""


class UnmatchedRequestError(StreamtestError, AssertionError):
    """No recorded interaction matches a request and the record mode forbids recording it."""


# Tracebacks and test reports name the public path, not this private module.
for _cls in (StreamtestError, CassetteError, IncompleteRecordingError, UnmatchedRequestError):
    _cls.__module__ = "streamtest"
