"""Servers and GPUs as values: what a probe reads (nvidia-smi), host keys, model names."""
