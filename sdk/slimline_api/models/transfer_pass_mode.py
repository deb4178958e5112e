from enum import StrEnum


class TransferPassMode(StrEnum):
    FINETUNE = "finetune"
    PROBE = "probe"

    def __str__(self) -> str:
        return str(self.value)
