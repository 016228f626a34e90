"""The Live view's Qt model: servers as top-level rows, their GPUs as children.

Filtering happens here (model name, free only) rather than in a proxy, because a server row
must disappear when none of its GPUs pass. A refresh that keeps the same rows only emits
``dataChanged``, so expansion and selection survive the refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from labgpu.core.inventory.servers import GpuStatus, Server, ServerState
from labgpu.gui.booking.calendar_data import LiveMarks
from labgpu.gui.shell.snapshot import EMPTY, Snapshot
from labgpu.gui.widgets import text

AnyIndex = QModelIndex | QPersistentModelIndex

#: Role carrying a bar's filled fraction (0..1) or None.
FractionRole = Qt.ItemDataRole.UserRole + 1
#: Role carrying a server or GPU's state name (``online``, ``free``, ``busy``, ...).
StateRole = Qt.ItemDataRole.UserRole + 2

GREY = QColor("#8a9096")
STATE_COLORS = {"free": QColor("#2e7d4f"), "busy": QColor("#b5651d")}
BOOKED_BLUE = QColor("#2f6db5")
ERROR_RED = QColor("#c0392b")
FLAG_ORANGE = QColor("#c26a00")
SERVER_COLORS = {ServerState.ONLINE: QColor("#2e9d5f"), ServerState.UNKNOWN: GREY}


class Column(IntEnum):
    GPU = 0
    MODEL = 1
    UTIL = 2
    MEMORY = 3
    TEMP = 4
    POWER = 5
    STATE = 6
    BOOKED = 7
    OWNERS = 8
    PROCESSES = 9


@dataclass(frozen=True, slots=True)
class ServerGroup:
    server: Server
    gpus: tuple[GpuStatus, ...]
    total: int  # GPUs of the server, filtered or not
    free: int

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return self.server.name, tuple(g.uuid for g in self.gpus)


def _gpu_state(gpu: GpuStatus) -> str:
    if gpu.server_state is not ServerState.ONLINE:
        return str(gpu.server_state)
    return "free" if gpu.is_free else "busy"


@dataclass(frozen=True, slots=True)
class Totals:
    """What the rows shown now add up to (the filters applied)."""

    gpus: int
    servers: int
    free: int
    all_gpus: int  # every GPU of the snapshot, shown or not

    @property
    def filtered(self) -> bool:
        return self.gpus != self.all_gpus


class LiveModel(QAbstractItemModel):
    """Servers and GPUs of the latest snapshot, filtered by model and by *free only*.

    A GPU is *free* when no process runs on it and no live booking holds it now; one whose
    next booking starts within a day reads "free until 07:00".
    """

    # The rows shown changed (new snapshot, marks or filters): ``totals()`` is worth reading.
    shown_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._snapshot = EMPTY
        self._model_filter: str | None = None
        self._free_only = False
        self._groups: list[ServerGroup] = []
        self._marks = LiveMarks()

    # -- feeding ---------------------------------------------------------------------------

    def set_snapshot(self, snapshot: Snapshot) -> None:
        """Show a new snapshot (keeps rows in place when the servers and GPUs are the same)."""
        self._snapshot = snapshot
        self._regroup()

    def set_marks(self, marks: LiveMarks) -> None:
        """Show who has booked each GPU, and the idle / unbooked-use flags."""
        self._marks = marks
        self._regroup()  # a GPU booked now is not free: *free only* and the counts change

    def set_filter(self, model: str | None, free_only: bool) -> None:
        """Show only GPUs of ``model`` (None: every model) and, if ``free_only``, free GPUs."""
        self._model_filter = model
        self._free_only = free_only
        self._regroup()

    def groups(self) -> list[ServerGroup]:
        """The server groups shown now."""
        return list(self._groups)

    def totals(self) -> Totals:
        """GPUs, servers and free GPUs among the rows shown now."""
        shown = [g for group in self._groups for g in group.gpus]
        return Totals(
            gpus=len(shown),
            servers=len(self._groups),  # filtering: only servers with a GPU shown
            free=sum(1 for g in shown if self.is_free(g)),
            all_gpus=len(self._snapshot.gpus),
        )

    def is_free(self, gpu: GpuStatus) -> bool:
        """No process on it and no live booking holding it now."""
        label = self._label(gpu)
        return (
            gpu.is_free
            and label not in self._marks.booked_by
            and label not in self._marks.requested_by  # a pending request holds it too
        )

    def _passes(self, gpu: GpuStatus) -> bool:
        if self._model_filter is not None and gpu.model != self._model_filter:
            return False
        return self.is_free(gpu) or not self._free_only

    def _build_groups(self) -> list[ServerGroup]:
        filtering = self._model_filter is not None or self._free_only
        groups = []
        for server in sorted(self._snapshot.servers, key=lambda s: s.name):
            all_gpus = self._snapshot.gpus_of(server.name)
            shown = tuple(g for g in all_gpus if self._passes(g))
            if shown or not filtering:
                free = sum(1 for g in all_gpus if self.is_free(g))
                groups.append(ServerGroup(server, shown, len(all_gpus), free))
        return groups

    def _regroup(self) -> None:
        groups = self._build_groups()
        if [g.key for g in groups] == [g.key for g in self._groups]:
            self._groups = groups
            self._emit_all_changed()
        else:
            self.beginResetModel()
            self._groups = groups
            self.endResetModel()
        self.shown_changed.emit()

    def _emit_all_changed(self) -> None:
        last_col = len(Column) - 1
        if not self._groups:
            return
        self.dataChanged.emit(self.index(0, 0), self.index(len(self._groups) - 1, last_col))
        for row, group in enumerate(self._groups):
            if group.gpus:
                parent = self.index(row, 0)
                bottom = self.index(len(group.gpus) - 1, last_col, parent)
                self.dataChanged.emit(self.index(0, 0, parent), bottom)

    # -- structure -------------------------------------------------------------------------

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0)
        return self.createIndex(row, column, parent.row() + 1)

    def parent(self, child: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        group_id = child.internalId() if child.isValid() else 0
        return QModelIndex() if group_id == 0 else self.createIndex(group_id - 1, 0, 0)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        if not parent.isValid():
            return len(self._groups)
        if parent.internalId() == 0 and parent.column() == 0:
            return len(self._groups[parent.row()].gpus)
        return 0

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return [
            self.tr("GPU"),
            self.tr("Model"),
            self.tr("Utilisation"),
            self.tr("Memory"),
            self.tr("Temp."),
            self.tr("Power"),
            self.tr("State"),
            self.tr("Booked by"),
            self.tr("Owners"),
            self.tr("Processes"),
        ][section]

    # -- data ------------------------------------------------------------------------------

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        group_id = index.internalId()
        if group_id == 0:
            return self._server_data(self._groups[index.row()], index.column(), role)
        gpu = self._groups[group_id - 1].gpus[index.row()]
        return self._gpu_data(gpu, Column(index.column()), role)

    def server_title(self, group: ServerGroup) -> str:
        """``gpu-01 · online · 4 GPUs, 2 free`` or ``gpu-03 · offline: reason``."""
        server = group.server
        state = text.state_label(server.state)
        if server.state is ServerState.ONLINE:
            return self.tr("{name}  ·  {state}  ·  {total} GPUs, {free} free").format(
                name=server.name, state=state, total=group.total, free=group.free
            )
        if server.state is ServerState.UNKNOWN:
            return f"{server.name}  ·  {state}"
        return self.tr("{name}  ·  {state}: {reason}  ·  last seen {seen}").format(
            name=server.name,
            state=state,
            reason=server.state_reason or text.DASH,
            seen=text.local_time(server.last_seen),
        )

    def _server_data(self, group: ServerGroup, column: int, role: int) -> Any:
        if column != 0:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.server_title(group)
        if role == Qt.ItemDataRole.ToolTipRole:
            target = group.server.target
            where = f"{target.user + '@' if target.user else ''}{target.host}"
            return f"{where}\n{group.server.state_reason}".strip()
        if role == StateRole:
            return str(group.server.state)
        if role == Qt.ItemDataRole.DecorationRole:
            return SERVER_COLORS.get(group.server.state, ERROR_RED)
        return None

    def _gpu_data(self, gpu: GpuStatus, column: Column, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._gpu_text(gpu, column)
        if role == FractionRole:
            return _fraction(gpu, column)
        if role == StateRole:
            return _gpu_state(gpu)
        if role == Qt.ItemDataRole.ToolTipRole and column in (Column.OWNERS, Column.PROCESSES):
            return "\n".join(text.process_line(p) for p in gpu.processes) or None
        if column is Column.BOOKED and role == Qt.ItemDataRole.ToolTipRole:
            return self._booked_tooltip(gpu)
        if column is Column.STATE and role == Qt.ItemDataRole.ToolTipRole:
            return self._state_tooltip(gpu)
        if column is Column.BOOKED and role == Qt.ItemDataRole.ForegroundRole:
            flagged = (
                self._label(gpu) in self._marks.unbooked or self._label(gpu) in self._marks.idle
            )
            return QBrush(FLAG_ORANGE) if flagged else None
        if column is Column.STATE and role == Qt.ItemDataRole.ForegroundRole:
            return (
                QBrush(BOOKED_BLUE)
                if self._state_text_key(gpu) in ("booked", "requested")
                else _foreground(gpu, column)
            )
        if role == Qt.ItemDataRole.ForegroundRole:
            return _foreground(gpu, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.TEMP, Column.POWER):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _label(gpu: GpuStatus) -> str:
        return f"{gpu.server}:{gpu.index}"

    def booked_text(self, gpu: GpuStatus) -> str:
        """``kim``, ``kim · idle``, ``requested by kim`` or ``⚠ lee, no booking``."""
        label = self._label(gpu)
        holder = self._marks.booked_by.get(label, "")
        if not holder and label in self._marks.requested_by:
            holder = self.tr("requested by {user}").format(user=self._marks.requested_by[label])
        if label in self._marks.idle:
            return self.tr("{user} · idle").format(user=holder)
        if label in self._marks.unbooked:
            intruder = self._marks.unbooked[label]
            if holder:
                return self.tr("{user} · ⚠ {other} runs here").format(user=holder, other=intruder)
            return self.tr("⚠ {user}, no booking").format(user=intruder)
        return holder

    def _booked_tooltip(self, gpu: GpuStatus) -> str | None:
        """The whole cell (the column may elide it) and what the flag means."""
        label = self._label(gpu)
        why = None
        if label in self._marks.idle:
            why = self.tr("Booked but idle: its GPUs have stayed below the idle threshold.")
        elif label in self._marks.unbooked:
            why = self.tr("In use without a booking by {user}.").format(
                user=self._marks.unbooked[label]
            )
        shown = self.booked_text(gpu)
        return "\n".join(filter(None, (shown, why))) or None

    def _state_text_key(self, gpu: GpuStatus) -> str:
        """``free``, ``free-until``, ``booked``, ``requested``, ``busy`` or the server's state."""
        state = _gpu_state(gpu)
        if state != "free":
            return state
        label = self._label(gpu)
        if label in self._marks.booked_by:
            return "booked"
        if label in self._marks.requested_by:
            return "requested"
        return "free-until" if label in self._marks.next_start else "free"

    def typical_texts(self) -> dict[Column, str]:
        """Long cells the view should show whole, in the UI language (to size columns)."""
        return {
            Column.STATE: self.tr("free until {time}").format(time="00:00"),
            Column.BOOKED: self.tr("⚠ {user}, no booking").format(user="oh.taeyang"),
        }

    def state_text(self, gpu: GpuStatus) -> str:
        """``free``, ``free until 07:00``, ``booked``, ``busy`` or ``offline``."""
        key = self._state_text_key(gpu)
        if key == "free-until":
            start = self._marks.next_start[self._label(gpu)]
            # within FREE_UNTIL_HORIZON (a day), the hour alone is unambiguous; the tooltip
            # has the date
            return self.tr("free until {time}").format(time=start.astimezone().strftime("%H:%M"))
        texts = {
            "free": self.tr("free"),
            "booked": self.tr("booked"),
            "requested": self.tr("requested"),
            "busy": self.tr("busy"),
        }
        return texts.get(key) or text.state_label(gpu.server_state)

    def _state_tooltip(self, gpu: GpuStatus) -> str | None:
        key = self._state_text_key(gpu)
        label = self._label(gpu)
        if key == "booked":
            return self.tr("No process runs, but {user}'s booking holds it now.").format(
                user=self._marks.booked_by[label]
            )
        if key == "requested":
            return self.tr(
                "No process runs; {user}'s request holds it now, waiting for a PI or manager."
            ).format(user=self._marks.requested_by[label])
        if key == "free-until":
            return self.tr("Free now; a booking starts at {time}.").format(
                time=text.local_time(self._marks.next_start[label])
            )
        return None

    def _gpu_text(self, gpu: GpuStatus, column: Column) -> str:
        if column is Column.BOOKED:
            return self.booked_text(gpu)
        if column is Column.STATE:
            return self.state_text(gpu)
        values = {
            Column.GPU: str(gpu.index),
            Column.MODEL: gpu.model,
            Column.UTIL: text.percent(gpu.utilization_pct),
            Column.MEMORY: text.memory(gpu.memory_used_mb, gpu.memory_total_mb),
            Column.TEMP: text.celsius(gpu.temperature_c),
            Column.POWER: text.watts(gpu.power_w),
            Column.OWNERS: text.owners(gpu.processes),
            Column.PROCESSES: "; ".join(text.process_line(p) for p in gpu.processes),
        }
        return values[column]


def _fraction(gpu: GpuStatus, column: Column) -> float | None:
    if column is Column.UTIL and gpu.utilization_pct is not None:
        return max(0.0, min(gpu.utilization_pct / 100.0, 1.0))
    if column is Column.MEMORY and gpu.memory_used_mb is not None and gpu.memory_total_mb:
        return max(0.0, min(gpu.memory_used_mb / gpu.memory_total_mb, 1.0))
    return None


def _foreground(gpu: GpuStatus, column: Column) -> QBrush | None:
    state = _gpu_state(gpu)
    if state not in STATE_COLORS:
        return QBrush(GREY)  # a server that does not answer: its values are stale
    if column is Column.STATE:
        return QBrush(STATE_COLORS[state])
    return None
