from enum import StrEnum


class TuningObjective(StrEnum):
    LATENCY = "latency"
    SIZE = "size"
    THROUGHPUT = "throughput"

    def __str__(self) -> str:
        return str(self.value)
