from enum import StrEnum


class QuantizePassActivationType(StrEnum):
    INT8 = "int8"
    UINT8 = "uint8"

    def __str__(self) -> str:
        return str(self.value)
