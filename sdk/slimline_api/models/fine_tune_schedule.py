from enum import StrEnum


class FineTuneSchedule(StrEnum):
    CONSTANT = "constant"
    COSINE = "cosine"

    def __str__(self) -> str:
        return str(self.value)
