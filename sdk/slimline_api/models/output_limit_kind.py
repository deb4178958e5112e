from enum import StrEnum


class OutputLimitKind(StrEnum):
    AUTO = "auto"
    CLASSIFIER = "classifier"
    DENSE = "dense"
    INTEGER = "integer"
    SMALL = "small"

    def __str__(self) -> str:
        return str(self.value)
