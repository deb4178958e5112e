"""Slimline: model optimization as a service (the HTTP service package).

This package never imports torch, onnxruntime or ``worker``: the API enqueues jobs by task
name and the engine runs in worker processes.
"""

__version__ = "0.1.0"
