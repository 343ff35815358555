"""Discovery: look for certificate-store files in the directories a job names, and tell the server where they are
(docs/orchestrator-protocol.md "Discovery"; the bounds are `orchjobs.domain.discovery`'s).

Like every store the reference orchestrator touches, the search stays inside its store directory: a directory named
relatively is under it, one named absolutely must be inside it, and a symbolic link (followed only with `SymLinks`)
that leads out of it is passed over. A server cannot make the orchestrator list the rest of the machine.

A file is found when its extension is one of `Extensions` (any case, with or without the dot; none named: the store
type's usual ones, `.pem .crt .cer` for PEM, `.jks` for JKS) and its name contains one of `NamePatterns` (any case;
none named: any name). `IgnoredDirs` are skipped: an entry with a `/` is a directory (resolved like `Dirs`), a bare
name skips every directory of that name. The search stops at MAX_LOCATIONS files and MAX_DEPTH levels below each
directory named.
"""

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchjobs.domain.discovery import DEFAULT_EXTENSIONS, MAX_DEPTH, MAX_LOCATION_LENGTH, MAX_LOCATIONS, split_list
from orchjobs.orchestrator.payload import bool_field, text_field
from orchjobs.orchestrator.payload import field as json_field


@dataclass(frozen=True)
class Search:
    """Where to look and what to keep, as a Discovery job's `Job` says."""

    dirs: tuple[str, ...]
    ignored_dirs: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()  # lower case, without the dot
    name_patterns: tuple[str, ...] = ()  # lower case
    follow_symlinks: bool = False

    @classmethod
    def from_job(cls, job: dict[str, Any], *, default_extensions: Iterable[str]) -> "Search":
        extensions = tuple(item.lstrip("*").lstrip(".").lower() for item in split_list(text_field(job, "Extensions")))
        return cls(
            dirs=split_list(text_field(job, "Dirs")),
            ignored_dirs=split_list(text_field(job, "IgnoredDirs")),
            extensions=tuple(item for item in extensions if item) or tuple(default_extensions),
            name_patterns=tuple(item.lower() for item in split_list(text_field(job, "NamePatterns"))),
            follow_symlinks=bool_field(job, "SymLinks"),
        )


@dataclass
class Found:
    """What a search found, and what it could not look at."""

    locations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # directories named that are missing, outside, unreadable
    truncated: bool = False  # stopped at the limit
    too_deep: int = 0  # directories not entered, MAX_DEPTH levels down


def default_extensions(capability: str) -> tuple[str, ...]:
    """The extensions a `CertStores.<Type>.Discovery` job looks for when it names none."""
    parts = capability.split(".")
    store_type = parts[1].upper() if len(parts) == 3 else ""
    return DEFAULT_EXTENSIONS.get(store_type, ())


def find_stores(
    root: Path,
    search: Search,
    *,
    own_files: Iterable[Path] = (),
    limit: int = MAX_LOCATIONS,
    max_depth: int = MAX_DEPTH,
) -> Found:
    """The files under the search's directories that look like stores, each once, in the order walked (the
    directories as named, their entries sorted by name)."""
    walker = _Walker(root.resolve(), search, own_files={path.resolve() for path in own_files}, limit=limit)
    for name in search.dirs:
        directory = walker.start(name)
        if directory is not None:
            walker.walk(directory, max_depth=max_depth)
        if walker.found.truncated:
            break
    return walker.found


class _Walker:
    def __init__(self, root: Path, search: Search, *, own_files: set[Path], limit: int) -> None:
        self.root = root
        self.search = search
        self.own_files = own_files
        self.limit = limit
        self.found = Found()
        self._seen_files: set[str] = set()
        self._seen_dirs: set[Path] = set()
        self._ignored_names = {item.lower() for item in search.ignored_dirs if "/" not in item and os.sep not in item}
        self._ignored_paths = {
            self._absolute(item).resolve() for item in search.ignored_dirs if "/" in item or os.sep in item
        }

    def _absolute(self, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.root / path

    def start(self, name: str) -> Path | None:
        """The directory `name` names, or None (and a problem noted) when it cannot be searched."""
        path = self._absolute(name)
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            self.found.problems.append(f"{name} is outside the store directory {self.root}")
        elif path.is_symlink() and not self.search.follow_symlinks:
            self.found.problems.append(f"{name} is a symbolic link (SymLinks is off)")
        elif not resolved.exists():
            self.found.problems.append(f"{name} does not exist")
        elif not resolved.is_dir():
            self.found.problems.append(f"{name} is not a directory")
        else:
            return path
        return None

    def walk(self, top: Path, *, max_depth: int) -> None:
        pending: list[tuple[Path, int]] = [(top, 0)]
        while pending and not self.found.truncated:
            directory, depth = pending.pop()
            resolved = directory.resolve()
            if resolved in self._seen_dirs or self._ignored(directory, resolved):
                continue
            self._seen_dirs.add(resolved)
            try:
                with os.scandir(directory) as entries:
                    listed = sorted(entries, key=lambda entry: entry.name)
            except OSError as exc:
                self.found.problems.append(f"{directory} cannot be read ({exc.strerror})")
                continue
            subdirectories: list[Path] = []
            for entry in listed:
                path = Path(entry.path)
                if entry.is_symlink() and not self._may_follow(path):
                    continue
                if entry.is_dir():
                    if depth < max_depth:
                        subdirectories.append(path)
                    else:
                        self.found.too_deep += 1
                elif entry.is_file() and self._wanted(entry.name):
                    self._keep(path)
                    if self.found.truncated:
                        return
            # Depth first, in name order: the last pushed is walked first.
            pending.extend((path, depth + 1) for path in reversed(subdirectories))

    def _may_follow(self, path: Path) -> bool:
        """A symbolic link is followed only with SymLinks, and only when it leads to somewhere in the store
        directory."""
        if not self.search.follow_symlinks:
            return False
        try:
            return path.resolve().is_relative_to(self.root)
        except (OSError, RuntimeError):  # a loop of links
            return False

    def _ignored(self, directory: Path, resolved: Path) -> bool:
        return directory.name.lower() in self._ignored_names or bool({directory, resolved} & self._ignored_paths)

    def _wanted(self, name: str) -> bool:
        lowered = name.lower()
        extension = lowered.rsplit(".", 1)[1] if "." in lowered else ""
        if extension not in self.search.extensions:
            return False
        return not self.search.name_patterns or any(pattern in lowered for pattern in self.search.name_patterns)

    def _keep(self, path: Path) -> None:
        text = str(path)
        if text in self._seen_files or path.resolve() in self.own_files or not _sendable(text):
            return
        self._seen_files.add(text)
        self.found.locations.append(text)
        if len(self.found.locations) >= self.limit:
            self.found.truncated = True


def _sendable(path: str) -> bool:
    """A path the server can take: within its length, and text UTF-8 can carry (not a name in another encoding)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return len(path) <= MAX_LOCATION_LENGTH


def summary(search: Search, found: Found, *, limit: int = MAX_LOCATIONS) -> str:
    """The completion's message: what was found where, and everything that was not searched."""
    where = ", ".join(search.dirs)
    count = len(found.locations)
    if count:
        text = f"Discovery found {count} certificate store{'s' if count != 1 else ''} in {where}."
    else:
        text = f"Discovery found no certificate stores in {where}."
    if found.truncated:
        text += f" The search stopped at {limit:,} stores; narrow Dirs, Extensions or NamePatterns to see the rest."
    if found.too_deep:
        text += f" {found.too_deep} director{'ies' if found.too_deep != 1 else 'y'} more than {MAX_DEPTH} levels deep"
        text += " were not searched."
    if found.problems:
        text += " Not searched: " + "; ".join(found.problems) + "."
    return text


def job_of(config: dict[str, Any]) -> dict[str, Any]:
    job = json_field(config, "Job")
    return job if isinstance(job, dict) else {}
