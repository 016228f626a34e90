"""What the main window does when the Servers page asks: remove a server or forget its host
key, on a worker, then say how it went on the page or in the status bar.

The texts are the window's: they keep its translation context (``MainWindow``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication

from labgpu.gui.shell.errors import handle_error
from labgpu.gui.shell.worker import run_task

if TYPE_CHECKING:
    from labgpu.gui.shell.main_window import MainWindow


def remove_server(window: MainWindow, name: str) -> None:
    """Remove a server (already confirmed) on a worker, then refresh."""
    run_task(
        lambda: window.labgpu.inventory.remove_server(name),
        lambda _r, error: _server_removed(window, name, error),
        context=window,
    )


def _server_removed(window: MainWindow, name: str, error: BaseException | None) -> None:
    if error is None:
        window.servers_page.show_message("")
        window.statusBar().showMessage(
            QCoreApplication.translate("MainWindow", "Server {name} removed.").format(name=name),
            10_000,
        )
    else:
        message = handle_error(window, error)
        window.servers_page.show_message(message or "")
    window.refresh()


def forget_host_key(window: MainWindow, name: str) -> None:
    """Forget a server's known host key (already confirmed) on a worker."""
    run_task(
        lambda: window.labgpu.inventory.forget_host_key(name),
        lambda removed, error: _host_key_forgotten(window, name, removed, error),
        context=window,
    )


def _host_key_forgotten(
    window: MainWindow, name: str, removed: int | None, error: BaseException | None
) -> None:
    if error is not None:
        window.servers_page.show_message(handle_error(window, error) or "")
        return
    window.servers_page.show_message(
        QCoreApplication.translate(
            "MainWindow",
            "Forgot {count} host key(s) of {name}. Add the server again to confirm its new key.",
        ).format(count=removed, name=name)
    )
