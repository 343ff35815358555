"""The orchestrator's identity across restarts: the AgentId the server gave it, kept in a small JSON file.

The file lives in the store directory (or the working directory) and remembers which ClientMachine the id
belongs to, so a directory reused under another name registers as a new orchestrator instead of taking over.
"""

import json
import os
from pathlib import Path

STATE_FILE = ".orchjobs-orchestrator.json"


def load_agent_id(directory: Path, client_machine: str) -> str:
    """The AgentId saved for this ClientMachine, or "" (register as new)."""
    try:
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not isinstance(state, dict) or state.get("ClientMachine") != client_machine:
        return ""
    agent_id = state.get("AgentId")
    return agent_id if isinstance(agent_id, str) else ""


def save_agent_id(directory: Path, client_machine: str, agent_id: str) -> None:
    path = directory / STATE_FILE
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"ClientMachine": client_machine, "AgentId": agent_id}) + "\n", encoding="utf-8")
    os.replace(temporary, path)
