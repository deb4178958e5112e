from enum import StrEnum


class PrunePassScope(StrEnum):
    GLOBAL = "global"
    PER_LAYER = "per_layer"

    def __str__(self) -> str:
        return str(self.value)
