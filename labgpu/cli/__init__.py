"""The ``labgpu`` command line (DESIGN §7)."""
