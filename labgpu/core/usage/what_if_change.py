"""The GPUs a what-if adds or removes: ``"+8 A40"``, ``"-2 RTX A4000"``, several joined by commas.

A model is matched the way ``--model`` is everywhere (``core/inventory/models.py``): ``A40``
is the lab's ``NVIDIA A40``. A model the lab does not have may be added under the name given;
its memory is then unknown. Added GPUs sit on a server of their own, ``what-if``, with ids
below zero (never a real GPU's); removed ones are the last of that model by server and index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from labgpu.core.booking.slots import SlotGpu
from labgpu.core.errors import UsageError
from labgpu.core.i18n import _
from labgpu.core.inventory.models import model_matches

#: The server added GPUs are placed on.
WHAT_IF_SERVER = "what-if"
#: More GPUs than this in one change is a typo, not a plan.
MAX_CHANGE = 10000

_ITEM = re.compile(r"^([+-])\s*(\d+)\s*(?:[x×]\s*)?(.*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class GpuChange:
    """``count`` GPUs of ``model`` added (above zero) or removed (below zero)."""

    count: int
    model: str

    def text(self) -> str:
        """``+8 NVIDIA A40``."""
        return f"{self.count:+d} {self.model}".strip()


def grammar_help() -> str:
    """What a change looks like, for a message."""
    return _(
        'write a change as a sign, a number and a model, e.g. "+8 A40" or "-2 RTX A4000"; '
        'join several with commas: "+8 A40, -4 A4000"; "+0" replays the lab as it is'
    )


def parse_change(text: str) -> tuple[GpuChange, ...]:
    """The changes ``text`` asks for (none for ``""`` or ``"+0"``); ``UsageError`` (exit 2)
    saying the grammar when it is not one."""
    changes: list[GpuChange] = []
    items = [item.strip() for item in text.split(",")]
    if items == [""]:
        return ()
    for item in items:
        found = _ITEM.match(item)
        if found is None:
            raise UsageError(
                _("cannot read {item} as a change of GPUs; {grammar}").format(
                    item=repr(item), grammar=grammar_help()
                )
            )
        sign, digits, model = found.groups()
        count = int(digits) * (-1 if sign == "-" else 1)
        model = " ".join(model.split())
        if abs(count) > MAX_CHANGE:
            raise UsageError(
                _("{count} GPUs is more than a what-if handles ({most} at most)").format(
                    count=abs(count), most=MAX_CHANGE
                )
            )
        if count == 0:
            continue
        if not model:
            raise UsageError(
                _("{item} names no GPU model; {grammar}").format(
                    item=repr(item), grammar=grammar_help()
                )
            )
        changes.append(GpuChange(count, model))
    return tuple(changes)


def resolve(changes: Sequence[GpuChange], gpus: Sequence[SlotGpu]) -> tuple[GpuChange, ...]:
    """``changes`` with each model named as the lab names it (``A40`` -> ``NVIDIA A40``);
    a model the lab lacks keeps its name when added and is refused when removed."""
    names = sorted({g.model for g in gpus})
    resolved = []
    for change in changes:
        matching = [n for n in names if model_matches(change.model, n)]
        if len(matching) > 1:
            raise UsageError(
                _("{model} matches several models of the lab ({names}); name one").format(
                    model=repr(change.model), names=", ".join(matching)
                )
            )
        if not matching and change.count < 0:
            raise UsageError(
                _("the lab has no {model} GPUs to remove; its models: {names}").format(
                    model=repr(change.model), names=", ".join(names) or _("none")
                )
            )
        resolved.append(GpuChange(change.count, matching[0] if matching else change.model))
    return tuple(resolved)


def changed_gpus(gpus: Sequence[SlotGpu], changes: Sequence[GpuChange]) -> list[SlotGpu]:
    """The lab's bookable GPUs with ``changes`` (already ``resolve``d) made."""
    kept = sorted(gpus, key=lambda g: (g.server, g.id))
    next_id = min((g.id for g in gpus), default=0)
    next_id = min(next_id, 0) - 1
    added: list[SlotGpu] = []
    for change in changes:
        same = [g for g in kept if g.model == change.model]
        if change.count < 0:
            if -change.count > len(same):
                raise UsageError(
                    _("cannot remove {count} x {model}: the lab has {have}").format(
                        count=-change.count, model=change.model, have=len(same)
                    )
                )
            gone = {g.id for g in same[change.count :]}
            kept = [g for g in kept if g.id not in gone]
            continue
        memory = max(
            (g.memory_mb for g in gpus if g.model == change.model and g.memory_mb), default=None
        )
        for _i in range(change.count):
            added.append(SlotGpu(next_id, WHAT_IF_SERVER, change.model, memory))
            next_id -= 1
    return kept + added
