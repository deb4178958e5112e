from enum import StrEnum


class TuningStorage(StrEnum):
    DATABASE = "database"
    MEMORY = "memory"

    def __str__(self) -> str:
        return str(self.value)
