from enum import StrEnum


class WeightOnlyPassAlgorithm(StrEnum):
    GPTQ = "gptq"
    HQQ = "hqq"
    RTN = "rtn"

    def __str__(self) -> str:
        return str(self.value)
