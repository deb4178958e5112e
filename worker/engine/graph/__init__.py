"""Graph repair (``repair``) and analysis (``analysis``) shared by the passes, lift and the model facts.

ONNX only: no torch, and onnxruntime is imported inside the one function that runs it.
"""
