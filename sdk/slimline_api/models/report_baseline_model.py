from enum import StrEnum


class ReportBaselineModel(StrEnum):
    INPUT = "input"
    TRANSFERRED = "transferred"

    def __str__(self) -> str:
        return str(self.value)
