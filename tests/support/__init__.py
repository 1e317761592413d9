"""Helpers shared by test suites (running the pinned Node 22 tooling, ...)."""
