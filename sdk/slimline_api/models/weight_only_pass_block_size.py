from enum import IntEnum


class WeightOnlyPassBlockSize(IntEnum):
    VALUE_32 = 32
    VALUE_64 = 64
    VALUE_128 = 128

    def __str__(self) -> str:
        return str(self.value)
