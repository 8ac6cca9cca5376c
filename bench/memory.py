"""Peak memory while recording a large stream, relative to the stream's size.

Each measurement runs in a fresh subprocess (``python -m bench.memory CHILD-ARGS``), so its peak
is its own: the child imports everything and records a small stream first (warm-up), then resets
the kernel's peak-RSS mark (``/proc/self/clear_refs``; where that is refused the peak since start
is used, which can only overstate), notes its RSS, and reads the stream from the loopback server
through a real ``httpx2.Client`` (the recording path: ``HTTPTransport`` to a socket), iterating
``iter_raw()`` without keeping anything. Growth = peak RSS (``VmHWM``) - RSS before the stream.

- plain: no recording (the client's own buffers);
- streamtest: ``use_cassette(record_mode="all")``, the cassette written at the exit included;
- the same with ``redact=Redaction.off()``: what the default redaction adds (it searches the
  chunks for secrets through a window of ~64 KiB, ``streamtest/_core/streamsearch.py``; it used to
  join the body into one ``bytes``, a second copy of the stream);
- vcrpy: ``vcr.use_cassette(record_mode="all")``, its YAML written at the exit included.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ._measure import Context, Row

GROUP = "memory"
TARGET = 1.5
_ROOT = Path(__file__).resolve().parents[1]


def _status(field: str) -> int:
    """A ``/proc/self/status`` figure in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def child(mode: str, url: str, warm_url: str) -> dict[str, object]:
    import httpx2
    import vcr

    import streamtest

    from ._data import drain_sync

    folder = Path(tempfile.mkdtemp(prefix="streamtest-bench-memory-"))
    client = httpx2.Client()

    def fetch(target: str, path: Path) -> None:
        path.unlink(missing_ok=True)
        if mode.startswith("streamtest"):
            redact = streamtest.Redaction.off() if mode.endswith("off") else None
            with streamtest.use_cassette(path, record_mode="all", redact=redact):
                drain_sync(client, target)
        elif mode == "vcrpy":
            with vcr.VCR().use_cassette(str(path), record_mode="all"):
                drain_sync(client, target)
        else:
            drain_sync(client, target)

    fetch(warm_url, folder / "warm")
    reset = _reset_peak()
    before = _status("VmRSS")
    fetch(url, folder / "big")
    peak = _status("VmHWM")
    size = (folder / "big").stat().st_size if mode != "plain" else 0
    return {"growth": peak - before, "reset": reset, "file": size}


def _measure(ctx: Context, mode: str) -> dict[str, object]:
    size = ctx.size
    url = ctx.server.url(f"blob/{size.memory_bytes}/{size.memory_chunk}")
    warm = ctx.server.url(f"blob/{64 * size.memory_chunk}/{size.memory_chunk}")
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", mode, url, warm],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"The memory benchmark ({mode}) failed:\n{done.stderr[-3000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(ctx: Context) -> list[Row]:
    size = ctx.size
    stream = size.memory_bytes
    modes = ("plain", "streamtest", "streamtest-redaction-off", "vcrpy")
    results = {mode: _measure(ctx, mode) for mode in modes}
    chunks = stream // size.memory_chunk
    how = "peak reset" if all(r["reset"] for r in results.values()) else "peak since start"
    note = f"{chunks:,} chunks of {size.memory_chunk:,} bytes; {how}"
    label = f"stream size ({stream / 2**20:,.0f} MB)"

    def growth(mode: str) -> float:
        value = results[mode]["growth"]
        assert isinstance(value, int)
        return float(value)

    return [
        Row(GROUP, "peak growth recording (streamtest)", growth("streamtest"), stream, label,
            "ratio", TARGET, unit="MB", note=note),
        Row(GROUP, "peak growth recording, redaction off", growth("streamtest-redaction-off"),
            stream, label, "info", None, unit="MB",
            note="Redaction.off(): what the secret search adds"),
        Row(GROUP, "peak growth, plain client", growth("plain"), stream, label, "info", None,
            unit="MB", note="no recording"),
        Row(GROUP, "peak growth recording (vcrpy)", growth("vcrpy"), stream, label, "info", None,
            unit="MB", note="joined body, YAML"),
    ]  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(child(*sys.argv[1:4])))
