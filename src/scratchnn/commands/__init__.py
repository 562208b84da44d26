"""The subcommands of ``scratchnn``: one module each, with ``add_arguments(parser)`` and
``run(args) -> int``; the first line of the module's docstring is its help."""
