from enum import StrEnum


class ChunkedUploadReadStatus(StrEnum):
    COMPLETED = "completed"
    EXPIRED = "expired"
    OPEN = "open"

    def __str__(self) -> str:
        return str(self.value)
