"""Reading py-spy's raw (collapsed-stack) profile: top functions by own and by total time, the
gateway's own code apart, and where the samples fall by package. Pure: tests feed it text.

A raw profile has one line per distinct stack, `root;caller;...;leaf COUNT`, each frame
`function (path:line)`; with py-spy's `--function`, `line` is the function's first line, so
one function is one frame name.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")
# The project's own code: what the gateway's developers can change.
OWN = ("gateway/", "resolvers/")
# Frames every sample of the serving process passes through: nothing to learn from them.
PROCESS = ("gateway/__main__.py", "gateway/cli.py")


@dataclass(frozen=True, slots=True)
class Frame:
    function: str
    path: str
    line: int | None

    @property
    def own(self) -> bool:
        return _project_path(self.path) is not None

    @property
    def package(self) -> str:
        """`gateway`, `resolvers`, a third-party package, `stdlib`, or `<string>` (code made at
        run time: dataclasses' `__init__`, namedtuples)."""
        project = _project_path(self.path)
        if project is not None:
            return project.split("/", 1)[0]
        path = _short(self.path)
        top = path.split("/", 1)[0].removesuffix(".py")
        if top in sys.stdlib_module_names or path.startswith("<frozen"):
            return "stdlib"
        return top or path

    @property
    def label(self) -> str:
        path = _project_path(self.path) or _short(self.path)
        return f"{self.function} ({path}:{self.line})" if self.line else f"{self.function} ({path})"


def _project_path(path: str) -> str | None:
    """`gateway/...` or `resolvers/...` for a path inside the project (never site-packages)."""
    if "site-packages/" in path:
        return None
    for root in OWN:
        if path.startswith(root):
            return path
        at = path.rfind("/" + root)
        if at >= 0:
            return path[at + 1 :]
    return None


def _short(path: str) -> str:
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if "/lib/python" in path:
        return path.split("/lib/python", 1)[1].split("/", 1)[-1]
    return path


def parse_frame(text: str) -> Frame:
    match = _FRAME.match(text.strip())
    if match is None:
        return Frame(text.strip(), "", None)
    line = match.group("line")
    return Frame(match.group("function"), match.group("path"), int(line) if line else None)


def parse(raw: str) -> list[tuple[tuple[Frame, ...], int]]:
    """(stack from root to leaf, samples) per line of a raw profile."""
    stacks = []
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stacks.append((tuple(parse_frame(f) for f in stack.split(";")), int(count)))
    return stacks


@dataclass(frozen=True, slots=True)
class Profile:
    samples: int
    own: Counter[Frame]
    total: Counter[Frame]
    # Each sample charged to the deepest of the project's frames on its stack: the gateway's
    # function together with the library work it called directly.
    own_code: Counter[Frame]
    packages: Counter[str]


def summarise(stacks: Iterable[tuple[tuple[Frame, ...], int]]) -> Profile:
    own: Counter[Frame] = Counter()
    total: Counter[Frame] = Counter()
    own_code: Counter[Frame] = Counter()
    packages: Counter[str] = Counter()
    samples = 0
    for stack, count in stacks:
        if not stack:
            continue
        samples += count
        own[stack[-1]] += count
        packages[stack[-1].package] += count
        for frame in set(stack):  # a recursive function counts once per sample
            total[frame] += count
        deepest = next((f for f in reversed(stack) if f.own and not f.path.endswith(PROCESS)), None)
        if deepest is not None:
            own_code[deepest] += count
    return Profile(samples, own, total, own_code, packages)


def _table(title: str, counts: Counter[Frame] | Counter[str], samples: int, top: int) -> list[str]:
    lines = [title]
    for key, count in counts.most_common(top):
        name = key.label if isinstance(key, Frame) else key
        lines.append(f"  {100 * count / samples:5.1f}%  {count:7d}  {name}")
    return lines


def render(profile: Profile, top: int = 25) -> str:
    if not profile.samples:
        return "no samples (was the process busy? is py-spy allowed to attach?)"
    own_frames = Counter(
        {f: c for f, c in profile.total.items() if f.own and not f.path.endswith(PROCESS)}
    )
    sections = [
        [f"{profile.samples} samples of the gateway process while it was busy (idle excluded)"],
        _table(
            "By package, where the sample's own (leaf) frame is:",
            profile.packages,
            profile.samples,
            top,
        ),
        _table(f"Top {top} functions by own time (any code):", profile.own, profile.samples, top),
        _table(
            f"Top {top} of the gateway's own functions (gateway/, resolvers/) by total time:",
            own_frames,
            profile.samples,
            top,
        ),
        _table(
            f"Top {top} of the gateway's own functions by own time, counting the library code "
            "each calls directly as its own:",
            profile.own_code,
            profile.samples,
            top,
        ),
    ]
    return "\n\n".join("\n".join(section) for section in sections)
