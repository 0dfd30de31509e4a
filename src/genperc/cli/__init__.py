"""The ``genperc`` command line: one module per command group."""
