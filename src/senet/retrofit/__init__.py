"""``add_se`` for any CNN: the block swap for ResNets (``insert``), the torch.fx graph analysis
(``graph``), the hosts that carry a block (``hosts``) and the rows that say where blocks went (``points``)."""
