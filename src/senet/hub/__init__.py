"""Weights in and out: the weight card and checkpoint styles (``weights``) and the published tags with
their downloads (``pretrained``). Below the models: it imports no model and no registry."""
