"""Small real models and datasets, built by the tests themselves (no binary files in the repo)."""

from tests.factories.datasets import image_dataset, npz_bytes
from tests.factories.models import cnn_onnx, export_onnx, mlp_onnx, small_cnn

__all__ = ["cnn_onnx", "export_onnx", "image_dataset", "mlp_onnx", "npz_bytes", "small_cnn"]
