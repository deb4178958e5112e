from enum import StrEnum


class LanguageModelReportKind(StrEnum):
    DECODER = "decoder"
    ENCODER = "encoder"

    def __str__(self) -> str:
        return str(self.value)
