"""The lab's booking rules, maintenance windows and bookable GPUs (``lab.rules``): anyone reads
them, a manager changes them (the lab database enforces the same)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from labgpu.core.booking.bookings import Window, as_utc
from labgpu.core.booking.checks import validate_rules
from labgpu.core.booking.rules import BookingRules, Maintenance
from labgpu.core.errors import LabgpuError, RefusedError
from labgpu.core.i18n import N_, _

if TYPE_CHECKING:
    from labgpu.services.booking.service import BookingService


class RulesService:
    """The rules bookings are checked against, as one member (a manager may change them)."""

    def __init__(self, bookings: BookingService) -> None:
        self.bookings = bookings

    def current(self) -> BookingRules:
        """The lab's current rules (defaults until a manager saves some)."""
        return self.bookings.rules()

    def save(self, rules: BookingRules) -> None:
        """Save new rules (audited). Existing bookings stay as they are."""
        self._require_manager(N_("change the booking rules"))
        validate_rules(rules)
        self.bookings.store.bookings.set_rules(rules, self.bookings.user)

    def maintenance(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[Maintenance]:
        """Maintenance windows overlapping ``[start, end)``."""
        return self.bookings.store.bookings.list_maintenance(start, end)

    def add_maintenance(
        self, gpu_ids: Sequence[int], start: datetime, end: datetime, reason: str
    ) -> Maintenance:
        """Block GPUs over a window (existing bookings are kept; talk to their holders)."""
        self._require_manager(N_("add maintenance windows"))
        start, end = as_utc(start, "start"), as_utc(end, "end")
        if end <= start:
            raise LabgpuError(_("a maintenance window must end after it starts; fix the times"))
        known = self.bookings.gpus()
        unknown = sorted(set(gpu_ids) - set(known))
        if not gpu_ids or unknown:
            raise LabgpuError(
                _("unknown GPU ids {ids}; see `labgpu status`").format(
                    ids=unknown or _("(none given)")
                )
            )
        return self.bookings.store.bookings.add_maintenance(
            sorted(set(gpu_ids)), Window(start, end), reason, self.bookings.user
        )

    def remove_maintenance(self, maintenance_id: int) -> None:
        """Delete a maintenance window."""
        self._require_manager(N_("remove maintenance windows"))
        self.bookings.store.bookings.remove_maintenance(maintenance_id, self.bookings.user)

    def set_gpu_bookable(self, gpu_id: int, bookable: bool) -> None:
        """Make a GPU bookable, or first-come (not bookable)."""
        self._require_manager(N_("change which GPUs are bookable"))
        self.bookings.store.bookings.set_gpu_bookable(gpu_id, bookable, self.bookings.user)

    def _require_manager(self, what: str) -> None:
        """Refuse unless this member manages the lab; ``what``: marked with ``N_``."""
        if not self.bookings.can_manage():
            raise RefusedError(
                _("permission denied: only a lab manager can {what}").format(what=_(what))
            )
