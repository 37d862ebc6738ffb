"""A flow in the job detail: the job's parent, and its children (with theirs) as a tree with their states."""

from __future__ import annotations

from rich.text import Text

from ..jobs.models import FlowNode
from ..sanitize import safe_text

STATE_STYLES = {
    "failed": "bold red",
    "completed": "green",
    "active": "bold yellow",
    "delayed": "magenta",
    "waiting-children": "cyan",
    "removed": "dim",
}


def flow_text(parent: str | None, children: tuple[FlowNode, ...]) -> Text | None:
    """`parent <id>` for a flow child, then one line per child: branch, id, state and queue; None outside flows."""
    if not parent and not children:
        return None
    text = Text(end="")
    if parent:
        text.append("parent  ", style="dim")
        text.append_text(safe_text(parent, 80, style="bold"))
    if children:
        if parent:
            text.append("\n")
        text.append(f"children ({len(children)})", style="dim")
        _branch(text, children, "")
    return text


def _branch(text: Text, nodes: tuple[FlowNode, ...], indent: str) -> None:
    for index, node in enumerate(nodes):
        last = index == len(nodes) - 1
        text.append("\n" + indent + ("└─ " if last else "├─ "), style="dim")
        text.append_text(safe_text(node.id, 60))
        text.append("  ")
        text.append(node.state, style=STATE_STYLES.get(node.state, "bold"))
        text.append("  ")
        text.append_text(safe_text(node.queue, 40, style="dim"))
        _branch(text, node.children, indent + ("   " if last else "│  "))
