"""Errors a user can act on. The message is what the job's ``error.message`` says."""

from __future__ import annotations


class EngineError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Cancelled(EngineError):
    def __init__(self, code: str = "cancelled", message: str = "the job was cancelled") -> None:
        super().__init__(code, message)
