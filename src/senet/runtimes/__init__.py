"""The CPU runtimes a model can run in besides PyTorch eager: ONNX Runtime, OpenVINO, and torch.export's
``.pt2`` programs (PT2E int8 under Inductor); the files each reads and writes, with the model's weight card
inside them (name, options, classes, preprocessing), so that ``senet eval`` and ``senet predict`` run a
deployed file as they run a checkpoint (:mod:`senet.runtimes.deployed`), and ``--runtime auto`` picks the
fastest (:mod:`senet.runtimes.auto`)."""
