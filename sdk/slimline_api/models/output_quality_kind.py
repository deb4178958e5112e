from enum import StrEnum


class OutputQualityKind(StrEnum):
    CLASSIFIER = "classifier"
    DENSE = "dense"
    INTEGER = "integer"
    LANGUAGE_MODEL = "language_model"
    SMALL = "small"

    def __str__(self) -> str:
        return str(self.value)
