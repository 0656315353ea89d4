"""One module per CLI verb (discovered by ``senet.cli``): ``HELP``, ``add_arguments(parser)``, ``run(args)``."""
