"""Keep stdout for the one result a CLI prints: everything else written to it goes to stderr.

vLLM logs to stdout by default, and engines and C libraries may print there too, so the CLIs
run loading and scoring inside :func:`stdout_to_stderr` and print their result after it. The
redirect is at the file-descriptor level: it also catches C code and child processes.

>>> import sys
>>> with stdout_to_stderr():
...     print("a log line")        # goes to stderr
>>> print("the result")
the result
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 (and ``sys.stdout``) at stderr for the block."""
    sys.stdout.flush()
    saved_fd = os.dup(1)
    saved_stdout = sys.stdout
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stdout = saved_stdout
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
