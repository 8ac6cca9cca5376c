"""The exceptions streamtest raises.

    StreamtestError
    ├── CassetteError            a cassette file is unreadable or malformed
    ├── IncompleteRecordingError  replay was asked for data the recording does not hold
    ├── RecordedStreamError       a recorded object stream failed with a non-builtin exception
    ├── UnencodableItemError      (also a TypeError) no codec can store an object stream's item
    ├── UnmatchedRequestError     (also an AssertionError) no recorded interaction matches
    └── UnmatchedStreamError      (also an AssertionError) no recorded object stream matches

    StreamtestWarning             (a UserWarning) something was probably not what was meant

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


class UnmatchedStreamError(StreamtestError, AssertionError):
    """No recorded object stream matches a name and key, and the record mode forbids recording."""


class UnencodableItemError(StreamtestError, TypeError):
    """An object stream yielded an item that no codec can turn into JSON."""


class RecordedStreamError(StreamtestError):
    """Replay of an object stream whose recording failed with an exception that is not a
    builtin: ``type`` is the recorded class name and ``message`` its message."""

    def __init__(self, type: str, message: str, *, origin: str) -> None:
        self.type, self.message = type, message
        super().__init__(
            f"{type}: {message} (raised again from the failure recorded in {origin}; the "
            "recorded class is not a builtin exception, so replay raises RecordedStreamError with "
            "its .type and .message)."
        )


# Tracebacks and test reports name the public path, not this private module.
for _cls in (
    StreamtestError,
    CassetteError,
    IncompleteRecordingError,
    RecordedStreamError,
    UnencodableItemError,
    UnmatchedRequestError,
    UnmatchedStreamError,
):
    _cls.__module__ = "streamtest"


class StreamtestWarning(UserWarning):
    """Nothing failed, but the cassette probably did not do what the test meant (a fault that
    reshaped no replay)."""
