from enum import StrEnum


class WorkerReadState(StrEnum):
    BUSY = "busy"
    IDLE = "idle"
    LOST = "lost"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return str(self.value)
