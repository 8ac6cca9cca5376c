"""Wire layer: recording tee and replay streams for httpx and httpx2, and the one patch point."""
