"""The demo lab: a seeded model of the reference lab, its history, live feed and simulated cluster.

Imported only by the CLI and the GUI's entry (an import-linter contract); production code
never asks whether it runs the demo."""
