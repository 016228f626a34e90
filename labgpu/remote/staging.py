"""Copying a job's folder to a cluster and its results back, over SFTP, incrementally.

A file is skipped when the other side has one of the same size and modification time (whole
seconds); every copied file gets its source's mtime, so an unchanged tree costs one directory
listing per folder and nothing else.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

#: (bytes done, bytes to send) — called as the transfer goes.
Progress = Callable[[int, int], None]


@dataclass
class TransferReport:
    """What a transfer did."""

    files_copied: int = 0
    bytes_copied: int = 0
    files_skipped: int = 0
    missing: list[str] = field(default_factory=list)


def _excluded(name: str, excludes: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in excludes)


def local_files(root: Path, excludes: Sequence[str]) -> Iterator[tuple[str, os.stat_result]]:
    """``(posix relative path, stat)`` of every regular file under ``root``, excludes pruned."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _excluded(d, excludes))
        base = Path(dirpath)
        for name in sorted(filenames):
            if _excluded(name, excludes):
                continue
            path = base / name
            info = path.stat()
            if stat.S_ISREG(info.st_mode):
                yield path.relative_to(root).as_posix(), info


def remote_files(sftp: paramiko.SFTPClient, root: str) -> dict[str, tuple[int, int]]:
    """``relative path -> (size, mtime)`` of the regular files under ``root`` (none if absent)."""
    found: dict[str, tuple[int, int]] = {}
    pending = [""]
    while pending:
        rel = pending.pop()
        try:
            entries = sftp.listdir_attr(posixpath.join(root, rel) if rel else root)
        except FileNotFoundError:
            continue
        for entry in entries:
            child = posixpath.join(rel, entry.filename) if rel else entry.filename
            mode = entry.st_mode or 0
            if stat.S_ISDIR(mode):
                pending.append(child)
            elif stat.S_ISREG(mode):
                found[child] = (entry.st_size or 0, int(entry.st_mtime or 0))
    return found


def makedirs(sftp: paramiko.SFTPClient, path: str, known: set[str] | None = None) -> None:
    """``mkdir -p`` over SFTP (``known`` remembers directories that exist)."""
    known = known if known is not None else set()
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        current = "/".join(parts[:i])
        if not current or current in known:
            continue
        try:
            sftp.stat(current)
        except FileNotFoundError:
            sftp.mkdir(current)
        known.add(current)


def upload_tree(
    sftp: paramiko.SFTPClient,
    local: Path,
    remote: str,
    excludes: Sequence[str],
    progress: Progress | None = None,
) -> TransferReport:
    """Make ``remote`` hold ``local``'s files (changed or new ones are copied)."""
    there = remote_files(sftp, remote)
    todo: list[tuple[str, os.stat_result]] = []
    report = TransferReport()
    for rel, info in local_files(local, excludes):
        if there.get(rel) == (info.st_size, int(info.st_mtime)):
            report.files_skipped += 1
        else:
            todo.append((rel, info))
    total = sum(info.st_size for _, info in todo)
    dirs: set[str] = set()
    makedirs(sftp, remote, dirs)
    done = 0
    if progress:
        progress(0, total)
    for rel, info in todo:
        target = posixpath.join(remote, rel)
        makedirs(sftp, posixpath.dirname(target), dirs)
        with open(local / rel, "rb") as source:
            sftp.putfo(source, target, info.st_size, confirm=False)
        sftp.utime(target, (int(info.st_atime), int(info.st_mtime)))
        done += info.st_size
        report.files_copied += 1
        report.bytes_copied += info.st_size
        if progress:
            progress(done, total)
    return report


def write_text(sftp: paramiko.SFTPClient, path: str, text: str, mode: int = 0o700) -> None:
    """Write a small text file (the job script) and set its mode."""
    makedirs(sftp, posixpath.dirname(path))
    with sftp.open(path, "w") as out:
        out.write(text.encode("utf-8"))
    sftp.chmod(path, mode)


def download(sftp: paramiko.SFTPClient, remote: str, local: Path, report: TransferReport) -> None:
    """Copy a remote file or folder to ``local`` when it is new or changed there."""
    try:
        info = sftp.stat(remote)
    except FileNotFoundError:
        report.missing.append(remote)
        return
    if stat.S_ISDIR(info.st_mode or 0):
        for rel, (size, mtime) in sorted(remote_files(sftp, remote).items()):
            _get(sftp, posixpath.join(remote, rel), local / rel, size, mtime, report)
    else:
        _get(sftp, remote, local, info.st_size or 0, int(info.st_mtime or 0), report)


def _get(
    sftp: paramiko.SFTPClient, remote: str, local: Path, size: int, mtime: int,
    report: TransferReport,
) -> None:  # fmt: skip
    if local.is_file():
        have = local.stat()
        if have.st_size == size and int(have.st_mtime) == mtime:
            report.files_skipped += 1
            return
    local.parent.mkdir(parents=True, exist_ok=True)
    partial = local.with_name(local.name + ".part")
    sftp.get(remote, str(partial))
    os.utime(partial, (mtime, mtime))
    partial.replace(local)
    report.files_copied += 1
    report.bytes_copied += size


def read_tail(sftp: paramiko.SFTPClient, path: str, max_bytes: int = 65536) -> str:
    """The last ``max_bytes`` of a remote text file ('' if it does not exist yet)."""
    try:
        size = sftp.stat(path).st_size or 0
    except FileNotFoundError:
        return ""
    with sftp.open(path, "r") as source:
        source.seek(max(0, size - max_bytes))
        data = source.read(max_bytes)
    return data.decode("utf-8", "replace")
