"""Models out of PyTorch: ``export`` (ONNX, TorchScript)."""
