"""Progress reporting and cancellation, as the engine sees them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from worker.engine.errors import Cancelled


class ProgressFn(Protocol):
    def __call__(
        self,
        stage: str,
        fraction: float,
        message: str = "",
        *,
        type: str = "progress",
        data: dict[str, Any] | None = None,
    ) -> None: ...


class Reporter:
    """Maps a step's local fraction onto the job's overall 0..1 and checks for cancellation."""

    def __init__(self, progress: ProgressFn | None, is_cancelled: Callable[[], bool] | None) -> None:
        self._progress = progress
        self._is_cancelled = is_cancelled
        self.span = (0.0, 1.0)
        self.stage = "starting"
        self.fraction = 0.0
        self.warnings: list[str] = []

    def check(self) -> None:
        """Raise Cancelled when the job was cancelled (call between and inside long steps)."""
        if self._is_cancelled is not None and self._is_cancelled():
            raise Cancelled()

    def enter(self, stage: str, start: float, end: float, message: str = "") -> None:
        self.check()
        self.stage, self.span = stage, (start, end)
        self.fraction = max(self.fraction, start)
        if self._progress is not None:
            self._progress(stage, self.fraction, message or f"stage: {stage}")

    def update(self, local_fraction: float) -> None:
        self.check()
        start, end = self.span
        self.fraction = max(self.fraction, start + (end - start) * min(max(local_fraction, 0.0), 1.0))
        if self._progress is not None:
            self._progress(self.stage, self.fraction)

    def warn(self, message: str, data: dict[str, Any] | None = None) -> None:
        self.warnings.append(message)
        if self._progress is not None:
            self._progress(self.stage, self.fraction, message, type="warning", data=data)

    def log(self, message: str, data: dict[str, Any] | None = None) -> None:
        if self._progress is not None:
            self._progress(self.stage, self.fraction, message, type="log", data=data)

    def event(self, type: str, message: str, data: dict[str, Any] | None = None) -> None:
        """A typed job event (e.g. ``trial``) with structured data, recorded as it happens."""
        if self._progress is not None:
            self._progress(self.stage, self.fraction, message, type=type, data=data)
