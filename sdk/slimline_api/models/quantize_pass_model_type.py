from enum import StrEnum


class QuantizePassModelType(StrEnum):
    AUTO = "auto"
    BERT = "bert"
    GPT2 = "gpt2"
    NONE = "none"

    def __str__(self) -> str:
        return str(self.value)
