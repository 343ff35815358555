"""Which failures are the same failure: a run's message with what differs from run to run folded away.

    message_group("Login to 10.0.0.7:5986 failed after 3 attempts (job 3f2504e0-4f89-11d3-9a0c-0305e82c3301)")
    == "Login to <address> failed after <n> attempts (job <id>)"

Numbers, GUIDs, thumbprints and other long hex, IP addresses, URLs and file paths become placeholders, runs of
whitespace one space. The group is computed once, when a warning or failure is recorded, and kept beside the
message, so that grouping a million runs is a GROUP BY on a column and not a regular expression per row.
"""

import re

# Longer groups are cut: two messages that agree on their first 512 folded characters are one failure.
MAX_GROUP_LENGTH = 512

# Order matters: the longer, more specific shapes are folded before their parts (a URL holds a path and numbers).
_FOLDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE), "<url>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<id>"),
    # Thumbprints (SHA-1, SHA-256), serial numbers and other long hex, also written with colons or spaces per byte.
    (re.compile(r"\b[0-9a-f]{2}(?:[: ][0-9a-f]{2}){7,}\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{16,}\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<address>"),
    # Windows paths (C:\x\y, \\server\share\x) and POSIX paths of two parts or more (/var/lib/x).
    # A path ends before trailing punctuation ("cannot open C:\x\y.pfx: denied").
    (re.compile(r"(?:\b[a-z]:|\\\\[^\\\s]+)\\(?:[^\s'\"<>|]*[^\s'\"<>|:,;.)])?", re.IGNORECASE), "<path>"),
    (re.compile(r"(?<![\w.:/])/[^\s/'\"<>]+(?:/[^\s/'\"<>]*)*/[^\s/'\"<>]*[^\s/'\"<>:,;.)]"), "<path>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.IGNORECASE), "<n>"),
    (re.compile(r"\d+(?:[.,]\d+)*"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def message_group(message: str | None) -> str | None:
    """The folded form of a run's message, None for no message."""
    if message is None:
        return None
    folded = message
    for pattern, placeholder in _FOLDS:
        folded = pattern.sub(placeholder, folded)
    return folded.strip()[:MAX_GROUP_LENGTH]


def group_query(base: str, *, job_type: str, agent_id: str, target_path: str | None, group: str | None) -> str:
    """The query that selects exactly one failure group's runs: `base` (the failure count's query, narrowed by the
    request's own) and the group's values, text compared without regard to case as the grouping does."""
    return (
        f"({base}) AND JobType -eq {_quoted(job_type)} AND AgentId -eq {agent_id}"
        f" AND TargetPath -eq {_quoted(target_path)} AND MessageGroup -eq {_quoted(group)}"
    )


def _quoted(value: str | None) -> str:
    return "NULL" if value is None else '"' + value.replace('"', '""') + '"'
