from enum import StrEnum


class QuantizePassWeightType(StrEnum):
    INT8 = "int8"
    UINT8 = "uint8"

    def __str__(self) -> str:
        return str(self.value)
