"""Checks on hostile files before anything parses them for real: zip archives, torch.export archives.

They read files on local disk, import no torch and unpickle nothing, and raise ``RefusedFile``
subclasses (``errors``) that each caller maps to its own errors.
"""

from app.core.safety.errors import MalformedFile, OversizedFile, RefusedFile, UnsafeFile

__all__ = ["MalformedFile", "OversizedFile", "RefusedFile", "UnsafeFile"]
