"""The optimization engine: a pure library (no Celery, no database, no HTTP).

Importing it is cheap: torch and onnxruntime are imported inside the functions that need them.
"""

from worker.engine.api import OptimizeResult, ProgressFn, optimize
from worker.engine.errors import Cancelled, EngineError

__all__ = ["Cancelled", "EngineError", "OptimizeResult", "ProgressFn", "optimize"]
