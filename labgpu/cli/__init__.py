"""The ``labgpu`` command line (the CLI contract, README *Using it*)."""
