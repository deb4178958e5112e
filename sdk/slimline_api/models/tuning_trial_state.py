from enum import StrEnum


class TuningTrialState(StrEnum):
    COMPLETE = "complete"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    def __str__(self) -> str:
        return str(self.value)
