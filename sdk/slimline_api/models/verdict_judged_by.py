from enum import StrEnum


class VerdictJudgedBy(StrEnum):
    ROLLOUT = "rollout"
    SAMPLES = "samples"

    def __str__(self) -> str:
        return str(self.value)
