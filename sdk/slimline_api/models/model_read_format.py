from enum import StrEnum


class ModelReadFormat(StrEnum):
    ONNX = "onnx"
    TORCH_EXPORT = "torch_export"

    def __str__(self) -> str:
        return str(self.value)
