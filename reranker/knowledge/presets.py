"""Instruction presets: what the reranker should look for, per kind of support question.

Qwen3-Reranker reads an English task instruction with every pair; a specific one (what a good
answer must explain) ranks better than the generic web-search default.

>>> instruction_for("refunds", "")
"Given a customer's question about a refund or a return, judge whether the document explains the eligibility, the steps or the time the refund takes"
>>> instruction_for("refunds", "Judge whether the document answers the question")
'Judge whether the document answers the question'
"""

from __future__ import annotations

from dataclasses import dataclass

from reranker.engine.prompt import DEFAULT_INSTRUCTION
from reranker.errors import InvalidInput


@dataclass(frozen=True)
class InstructionPreset:
    """A named instruction; ``key`` is what the UI and API pass around."""

    key: str
    label: str
    instruction: str


PRESETS: tuple[InstructionPreset, ...] = (
    InstructionPreset("general", "General (model default)", DEFAULT_INSTRUCTION),
    InstructionPreset(
        "orders",
        "E-commerce orders & shipping",
        "Given a customer's question about an order, judge whether the document explains the "
        "order status, shipping time or delay",
    ),
    InstructionPreset(
        "refunds",
        "Refunds & returns",
        "Given a customer's question about a refund or a return, judge whether the document "
        "explains the eligibility, the steps or the time the refund takes",
    ),
    InstructionPreset(
        "account",
        "Account & security",
        "Given a customer's question about their account, judge whether the document explains "
        "how to sign in, recover access, change account details or keep the account secure",
    ),
    InstructionPreset(
        "finance",
        "Finance & payments",
        "Given a customer's question about a payment, a charge, an invoice or a fee, judge "
        "whether the document explains the amount, the reason or how to resolve the problem",
    ),
    InstructionPreset(
        "legal",
        "Legal & policy",
        "Given a customer's question about terms, privacy or their legal rights, judge whether "
        "the document states the policy or the rule that answers it",
    ),
    InstructionPreset(
        "it",
        "IT support",
        "Given a user's description of a technical problem, judge whether the document gives "
        "the cause or the troubleshooting steps that fix it",
    ),
)
DEFAULT_PRESET = "general"
_BY_KEY = {preset.key: preset for preset in PRESETS}


def get_preset(key: str) -> InstructionPreset:
    """The preset with this key; raises ``InvalidInput`` listing the known keys."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise InvalidInput(
            f"Unknown instruction preset {key!r}; choose one of: {', '.join(_BY_KEY)}."
        ) from None


def instruction_for(key: str, override: str | None = None) -> str:
    """The instruction to send: the typed ``override`` when it has text, else the preset's."""
    if override and override.strip():
        return override.strip()
    return get_preset(key).instruction
