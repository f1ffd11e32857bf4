"""Find the model: a local directory, or a Hugging Face id (local cache first, then the hub)."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reranker.errors import ModelUnavailable

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen3-Reranker-0.6B"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_WEIGHT_FILES = ("*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "merges.txt")


@dataclass(frozen=True)
class ModelRole:
    """What a model is for, as the error messages name it: the flag, variable and an example."""

    kind: str
    flag: str
    env: str
    example: str
    check: Callable[[Path, str], None]


def resolve_model_dir(model: str | os.PathLike[str], role: ModelRole | None = None) -> Path:
    """Return a local directory holding the model's config, tokenizer and weights.

    ``model`` is a directory, or a Hugging Face id that is looked up in the local cache and
    then downloaded. Raises :class:`ModelUnavailable` saying what was tried and how to fix it.
    ``role`` says which model this is (default: the reranker) and how a directory is checked.
    """
    role = role or RERANKER_ROLE
    text = str(model).strip()
    path = Path(text).expanduser()
    if path.is_dir():
        role.check(path, text)
        return path
    if path.exists() or not _HUB_ID.match(text) or text.startswith((".", "/", "~")):
        raise ModelUnavailable(
            f"Model not found: {text!r} is not a model directory. Pass {role.flag} with the path of "
            f"a downloaded {role.kind}, or a Hugging Face id such as {role.example}."
        )
    directory = _from_hub(text, role)
    role.check(directory, text)
    return directory


def _from_hub(repo_id: str, role: ModelRole) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, allow_patterns=list(_WEIGHT_FILES), local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        logger.info("%s is not in the local Hugging Face cache; downloading it", repo_id)
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise ModelUnavailable(
            f"Could not load {repo_id}: it is not in the local Hugging Face cache and "
            "HF_HUB_OFFLINE is set. Download it on a machine with internet "
            f"(`hf download {repo_id} --local-dir DIR`) and pass {role.flag} DIR."
        )
    try:
        return Path(snapshot_download(repo_id, allow_patterns=list(_WEIGHT_FILES)))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelUnavailable(
            f"Could not download {repo_id} from the Hugging Face Hub ({reason}). If this machine "
            f"is offline, download it elsewhere (`hf download {repo_id} "
            f"--local-dir DIR`), copy DIR here and pass {role.flag} DIR (or set {role.env}=DIR)."
        ) from exc


def check_is_qwen3_reranker(directory: Path, shown_as: str) -> None:
    """Refuse directories that are not a Qwen3 causal LM with a tokenizer and weights."""
    config_file = directory / "config.json"
    if not config_file.is_file():
        raise ModelUnavailable(
            f"{shown_as!r} has no config.json: it is not a Hugging Face model directory. Pass the "
            "directory that holds config.json, tokenizer.json and *.safetensors."
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{shown_as!r}: config.json cannot be read ({exc}).") from exc
    if config.get("model_type") != "qwen3" or "Qwen3ForCausalLM" not in config.get("architectures", []):
        found = config.get("architectures") or config.get("model_type") or "unknown"
        raise ModelUnavailable(
            f"{shown_as!r} is not a Qwen3 reranker (its config says {found}). This app needs "
            f"{DEFAULT_MODEL} or another Qwen3ForCausalLM reranker checkpoint."
        )
    if not (directory / "tokenizer.json").is_file():
        raise ModelUnavailable(f"{shown_as!r} has no tokenizer.json; copy the whole model folder.")
    if not any(directory.glob("*.safetensors")) and not any(directory.glob("*.bin")):
        raise ModelUnavailable(f"{shown_as!r} has no weights (*.safetensors); copy the whole model folder.")


RERANKER_ROLE = ModelRole(
    "Qwen3-Reranker", "--model", "RERANKER_MODEL", DEFAULT_MODEL, check_is_qwen3_reranker
)


def model_basename(model: str) -> str:
    """The last part of a model's hub id or path (either slash), to match a path with its hub id.

    >>> model_basename("Qwen/Qwen3-Reranker-0.6B"), model_basename("C:\\\\models\\\\Qwen3-Reranker-0.6B\\\\")
    ('Qwen3-Reranker-0.6B', 'Qwen3-Reranker-0.6B')
    """
    return model.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]
