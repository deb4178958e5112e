from enum import StrEnum


class EventReadType(StrEnum):
    LOG = "log"
    PROGRESS = "progress"
    STAGE = "stage"
    STATE = "state"
    TRIAL = "trial"
    WARNING = "warning"

    def __str__(self) -> str:
        return str(self.value)
