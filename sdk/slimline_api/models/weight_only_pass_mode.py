from enum import StrEnum


class WeightOnlyPassMode(StrEnum):
    AUTO = "auto"
    OPTIONS = "options"

    def __str__(self) -> str:
        return str(self.value)
