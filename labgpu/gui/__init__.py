"""The desktop app (the only package importing PySide6 and pyqtgraph)."""
