from enum import StrEnum


class PrunePassMethod(StrEnum):
    STRUCTURED = "structured"
    UNSTRUCTURED = "unstructured"

    def __str__(self) -> str:
        return str(self.value)
