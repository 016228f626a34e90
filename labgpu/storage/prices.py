"""The prices managers set per GPU model (issue 16, point 5): ``gpu_prices`` rows in,
``labgpu.core.usage.cost.GpuPrice`` values out.

Every change is audited in the same transaction (``price.set``, ``price.remove``). In a lab
database only managers write the table (``labdb_roles.MANAGED``); everyone reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

from sqlalchemy import select
from sqlalchemy.orm import Session

from labgpu.core.errors import UsageError
from labgpu.core.i18n import _
from labgpu.core.usage.cost import GpuPrice
from labgpu.storage.evidence_rows import GpuPriceRow
from labgpu.storage.inventory import add_audit, describe_changes
from labgpu.storage.types import utc_now

#: The columns a change may set.
FIELDS = ("currency", "cloud_per_gpu_h", "cluster_per_gpu_h", "purchase_per_gpu")


def to_price(row: GpuPriceRow) -> GpuPrice:
    """The stored row as a value."""
    return GpuPrice(
        row.model,
        row.currency,
        row.cloud_per_gpu_h,
        row.cluster_per_gpu_h,
        row.purchase_per_gpu,
        row.updated_at,
        row.updated_by or "",
    )


class PriceStore:
    """Prices per GPU model, one short transaction per call."""

    def __init__(
        self,
        read: Callable[[], AbstractContextManager[Session]],
        write: Callable[[], AbstractContextManager[Session]],
    ) -> None:
        self._read = read
        self._write = write

    def list(self) -> list[GpuPrice]:
        """Every model with a price row, by name."""
        with self._read() as s:
            return [to_price(r) for r in s.scalars(select(GpuPriceRow).order_by(GpuPriceRow.model))]

    def set(self, model: str, changes: Mapping[str, float | str | None], actor: str) -> GpuPrice:
        """Set some of a model's prices (a row is made the first time; None clears one);
        audited. ``changes`` keys are ``FIELDS``."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise UsageError(_("unknown price fields: {names}").format(names=", ".join(unknown)))
        with self._write() as s:
            row = s.get(GpuPriceRow, model, with_for_update=True)
            if row is None:
                row = GpuPriceRow(model=model, currency="USD")
                s.add(row)
            before = {f: getattr(row, f) for f in FIELDS}
            for name, value in changes.items():
                setattr(row, name, value)
            row.currency = row.currency or "USD"
            row.updated_at = utc_now()
            row.updated_by = actor
            after = {f: getattr(row, f) for f in FIELDS}
            add_audit(s, actor, "price.set", model, describe_changes(before, after))
            s.flush()
            return to_price(row)

    def remove(self, model: str, actor: str) -> bool:
        """Forget a model's prices; audited. False if it had none."""
        with self._write() as s:
            row = s.get(GpuPriceRow, model, with_for_update=True)
            if row is None:
                return False
            s.delete(row)
            add_audit(s, actor, "price.remove", model)
            return True
