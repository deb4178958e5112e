"""What the file checks raise: a refusal with a message a user can act on, by kind.

Callers map them to their own errors (upload validation to InvalidModel / UnsafeModel, the engine to
EngineError), so these checks depend on nothing but the file.
"""

from __future__ import annotations


class RefusedFile(Exception):
    """A file the checks refuse; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedFile(RefusedFile):
    """Not what it claims to be, or not readable as such."""


class UnsafeFile(RefusedFile):
    """Opening it could run code, reach outside the file, or take unbounded memory."""


class OversizedFile(UnsafeFile):
    """It would expand beyond the size allowed (a zip bomb, or simply too large)."""
