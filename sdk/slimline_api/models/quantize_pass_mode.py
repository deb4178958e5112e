from enum import StrEnum


class QuantizePassMode(StrEnum):
    AUTO = "auto"
    DYNAMIC = "dynamic"
    FP16 = "fp16"
    STATIC = "static"

    def __str__(self) -> str:
        return str(self.value)
