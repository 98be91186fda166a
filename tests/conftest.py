"""Shared fixtures: the real local stack (livekit-server, platform API) and a real audio sink."""

pytest_plugins = ["tests.fixtures_stack", "tests.fixtures_audio"]
