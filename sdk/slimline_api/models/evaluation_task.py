from enum import StrEnum


class EvaluationTask(StrEnum):
    AUTO = "auto"
    LANGUAGE_MODEL = "language_model"
    OTHER = "other"

    def __str__(self) -> str:
        return str(self.value)
