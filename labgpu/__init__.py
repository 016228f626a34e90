"""labgpu: one desktop window for a research lab's GPUs."""

__version__ = "0.1.0"
