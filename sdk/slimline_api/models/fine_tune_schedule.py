from enum import StrEnum


class FineTuneSchedule(StrEnum):
    AUTO = "auto"
    CONSTANT = "constant"
    COSINE = "cosine"
    PLATEAU = "plateau"

    def __str__(self) -> str:
        return str(self.value)
