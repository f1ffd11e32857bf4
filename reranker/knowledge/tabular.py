"""Read CSV files the way support teams actually save them: a table of strings, or a clear error.

Encodings: UTF-8 (with or without BOM), Excel's UTF-16 "Unicode Text", and legacy Chinese
encodings (GBK/GB18030, Big5) told apart by ``charset-normalizer``. Separators: comma, semicolon
or tab, found by :class:`csv.Sniffer`. Columns are found by any of their accepted names.

>>> table = read_table("问题;答案\\n怎么退货？;在订单页申请。".encode("gbk"))
>>> table.columns.tolist(), find_column(table, ("question", "问题"))
(['问题', '答案'], '问题')
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
from charset_normalizer import from_bytes

from reranker.errors import InvalidInput

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

_BINARY_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # zip (.xlsx, .docx) and OLE (.xls)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Excel's "Unicode Text" export
# What charset-normalizer may choose from once strict UTF-8 fails: single-byte code pages are
# left out because any byte string "decodes" in them (binary junk would pass as text).
_LEGACY_ENCODINGS = ["gb18030", "big5"]
_SEPARATORS = ",;\t"
_SNIFF_CHARS = 64 * 1024


def read_table(source: str | Path | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES,
               name: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Read a CSV file (a path, or the uploaded bytes) into a table of strings.

    Missing values become ""; header names are stripped. Raises ``InvalidInput`` with a
    sentence a support agent can act on when the file can't be used (naming the file ``name``,
    by default :func:`describe`'s words).
    """
    name = name or describe(source)
    text = _decode(_read_bytes(source, max_bytes), name)
    if not text.strip():
        raise InvalidInput.of("err_csv_empty", name=name)
    try:
        table = pd.read_csv(io.StringIO(text), sep=guess_separator(text), dtype=str, keep_default_na=False)
    except pd.errors.ParserError as error:
        raise parse_error(name, str(error)) from None
    if table.empty:
        raise InvalidInput.of("err_csv_no_rows", name=name)
    table.columns = [str(column).strip() for column in table.columns]
    return table.fillna("")


def row_lines(source: str | Path | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, name: str | None = None) -> list[int]:
    """The file line (1-based) each data row of :func:`read_table` starts on, so messages can name it.

    >>> row_lines(b'question,answer\\n\\nShipping?,"3-5 days\\nor 7"\\nReturns?,Yes\\n')
    [3, 5]
    """
    text = _decode(_read_bytes(source, max_bytes), name or describe(source))
    reader = csv.reader(io.StringIO(text), delimiter=guess_separator(text))
    lines: list[int] = []
    start = 1
    for row in reader:
        if row:  # pandas skips blank lines too
            lines.append(start)
        start = reader.line_num + 1
    return lines[1:]  # the header is not a data row


def guess_separator(text: str) -> str:
    """Comma, semicolon or tab: :class:`csv.Sniffer` on the first rows, else the header's most common.

    >>> guess_separator("question;answer\\nHow much?;Free over $50, otherwise $5.95.\\n")
    ';'
    >>> guess_separator("question\\nWhere is my parcel?\\n")
    ','
    """
    header = next((line for line in text.splitlines() if line.strip()), "")
    try:
        separator = csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=_SEPARATORS).delimiter
    except csv.Error:
        separator = ""
    if separator and separator in header:
        return separator
    return max(_SEPARATORS, key=header.count)


def find_column(table: pd.DataFrame, accepted: Iterable[str]) -> str | None:
    """The first column named like one of ``accepted`` (case, spaces, "_" and "-" ignored)."""
    by_key: dict[str, str] = {}
    for column in table.columns:
        by_key.setdefault(_header_key(column), column)
    return next((by_key[key] for key in map(_header_key, accepted) if key in by_key), None)


def require_column(table: pd.DataFrame, name: str, role: str, accepted: Sequence[str]) -> str:
    """The column for ``role``; ``InvalidInput`` naming the columns found and accepted if none."""
    column = find_column(table, accepted)
    if column is None:
        found = ", ".join(table.columns) or "none"
        raise InvalidInput.of(
            "err_csv_column", name=name, role=role, found=found, accepted=", ".join(accepted)
        )
    return column


def split_pipes(value: str) -> tuple[str, ...]:
    """``"a | b |"`` -> ``("a", "b")``: the cell format for lists (similar questions, ids)."""
    return tuple(part.strip() for part in value.split("|") if part.strip())


def describe(source: str | Path | bytes) -> str:
    """How messages name the file: "The uploaded file" or "The file NAME"."""
    return "The uploaded file" if isinstance(source, bytes) else f"The file {Path(source).name}"


def _read_bytes(source: str | Path | bytes, max_bytes: int) -> bytes:
    if isinstance(source, bytes):
        size = len(source)
    else:
        try:
            size = Path(source).stat().st_size
        except FileNotFoundError:
            raise InvalidInput(f"Cannot find the file {source}. Check the path.") from None
    if size > max_bytes:
        raise InvalidInput.of(
            "err_csv_too_large", name=describe(source), size=human_size(size), limit=human_size(max_bytes)
        )
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def _decode(data: bytes, name: str) -> str:
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16")
    if data.startswith(_BINARY_MAGIC) or b"\x00" in data:
        raise InvalidInput.of("err_csv_binary", name=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data, cp_isolation=_LEGACY_ENCODINGS).best()
    if best is None:
        raise InvalidInput.of("err_csv_encoding", name=name)
    return str(best)


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"


_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def parse_error(name: str, message: str) -> InvalidInput:
    """The parser's message as a sentence that names the line and says what to do.

    >>> str(parse_error("faq.csv", "Error tokenizing data. C error: Expected 2 fields in line 3, saw 3"))
    'faq.csv, line 3: 3 values where the header has 2. Put values that contain the separator in double quotes (or remove the extra ones), then upload the file again.'
    """
    if fields := _FIELDS.search(message):
        expected, line, saw = fields.groups()
        return InvalidInput.of(
            "err_csv_fields", name=name, line=int(line), saw=int(saw), expected=int(expected)
        )
    if quote := _OPEN_QUOTE.search(message):
        return InvalidInput.of("err_csv_open_quote", name=name, line=int(quote.group(1)) + 1)
    return InvalidInput.of("err_csv_parse", name=name, error=message.strip())


def multiline_quote(text: str) -> tuple[int, int] | None:
    """The lines (1-based, first and last) of the first quoted value that spans several lines: usually a
    quote left open that joined lines into one row (None when no quote spans lines).

    >>> multiline_quote('question,answer\\nShipping?,"3-5 days\\nReturn?,Yes\\nOrder?,See"\\n')
    (2, 4)
    """
    opened = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.count('"') % 2 == 0:
            continue
        if opened is None:
            opened = number
        else:
            return opened, number
    return None if opened is None else (opened, len(text.splitlines()))
