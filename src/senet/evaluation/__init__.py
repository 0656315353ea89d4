"""Measuring a trained model: ``evaluate`` (single crop, ``evaluator``), the ILSVRC multi-view protocol
(``multiview``), ``predict`` (``inference``) and the eval transforms of a model (``preprocess``)."""
