from enum import StrEnum


class TuneSampler(StrEnum):
    GRID = "grid"
    RANDOM = "random"
    TPE = "tpe"

    def __str__(self) -> str:
        return str(self.value)
