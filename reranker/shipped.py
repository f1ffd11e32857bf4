"""Folders the project ships beside the package: the bundled FAQ bases and the page's assets.

In a checkout they are ``knowledge_base/`` and ``assets/`` at the repository root; ``pip install .``
puts them under ``<prefix>/share/faq-rerank-desk/`` (``[tool.setuptools.data-files]``).

>>> shipped("knowledge_base").joinpath("en_store_faq.csv").is_file()
True
"""

from __future__ import annotations

import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
INSTALLED = Path(sys.prefix) / "share" / "faq-rerank-desk"


def shipped(folder: str) -> Path:
    """``folder`` of the checkout when running from one, else of the installed package."""
    here = CHECKOUT / folder
    return here if here.is_dir() else INSTALLED / folder
