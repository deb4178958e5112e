from enum import StrEnum


class TuneObjective(StrEnum):
    LATENCY = "latency"
    SIZE = "size"
    THROUGHPUT = "throughput"

    def __str__(self) -> str:
        return str(self.value)
