"""Models out of PyTorch: ``export`` (ONNX, TorchScript, torch.export), ``quantize`` (int8 on the CPU) and
``benchmark`` (``senet bench``: latency of the runtimes side by side)."""
