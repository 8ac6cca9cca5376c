"""streamtest's benchmarks: one command, ``python -m bench`` (see `bench.run`)."""
