from enum import StrEnum


class PrunePassImportance(StrEnum):
    L1 = "l1"
    L2 = "l2"
    TAYLOR = "taylor"

    def __str__(self) -> str:
        return str(self.value)
