"""The main window's navigation: its ten pages in order, their shortcuts, and the list on the
left that switches between them.

The labels are the window's texts: they keep its translation context (``MainWindow``).
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSize
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from labgpu.gui.shell import resources
from labgpu.gui.shell.session import Identity

LIVE, CALENDAR, MY_BOOKINGS, OFFLOAD, USAGE, APPROVALS, RULES, MEMBERS, SERVERS, SETTINGS = range(
    10
)
#: Every page's shortcut, in the navigation's order (Ctrl+0 is the tenth, Settings).
PAGE_KEYS = tuple(f"Ctrl+{(page + 1) % 10}" for page in range(10))


def make_nav() -> QListWidget:
    """The list of pages, each with its icon and its shortcut in the tooltip."""
    nav = QListWidget()
    nav.setObjectName("nav")
    nav.setIconSize(QSize(20, 20))
    for name, label in (
        ("live", QCoreApplication.translate("MainWindow", "Live")),
        ("calendar", QCoreApplication.translate("MainWindow", "Calendar")),
        ("bookings", QCoreApplication.translate("MainWindow", "My bookings")),
        ("offload", QCoreApplication.translate("MainWindow", "Offload")),
        ("usage", QCoreApplication.translate("MainWindow", "Usage")),
        ("approvals", QCoreApplication.translate("MainWindow", "Approvals")),
        ("rules", QCoreApplication.translate("MainWindow", "Rules")),
        ("members", QCoreApplication.translate("MainWindow", "Members")),
        ("servers", QCoreApplication.translate("MainWindow", "Servers")),
        ("settings", QCoreApplication.translate("MainWindow", "Settings")),
    ):
        item = QListWidgetItem(resources.icon(name), label, nav)
        keys = PAGE_KEYS[nav.row(item)]
        shown = QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)
        tooltip = QCoreApplication.translate("MainWindow", "{page} ({keys})")
        item.setToolTip(tooltip.format(page=label, keys=shown))
    return nav


def show_pending_count(nav: QListWidget, count: int) -> None:
    """Approvals, with the number of requests waiting (if any) in its label."""
    label = (
        QCoreApplication.translate("MainWindow", "Approvals ({count})").format(count=count)
        if count
        else QCoreApplication.translate("MainWindow", "Approvals")
    )
    nav.item(APPROVALS).setText(label)


def show_pages_for(nav: QListWidget, identity: Identity) -> None:
    """Show the pages the signed-in role uses: Approvals and Usage for the PI (and managers),
    Rules for managers, Members for managers of a lab database with members."""
    nav.item(APPROVALS).setHidden(not identity.can_approve)
    nav.item(USAGE).setHidden(not identity.can_approve)  # the PI's (and managers') page
    nav.item(RULES).setHidden(not identity.can_manage)
    nav.item(MEMBERS).setHidden(not (identity.can_manage and identity.has_members))
