"""SQLite's process-wide settings for a served mock: its memory statistics off.

Why: by default (SQLITE_DEFAULT_MEMSTATUS=1) SQLite counts every allocation it makes, under a process-wide
mutex; an accepted request makes several hundred of them, and the counting cost 6% of its instructions
(bench/instructions.py, bench/RESULTS.md). The mock reads none of those counts and sets no heap limit (the one
feature that needs them). Python's `sqlite3` has no way to say so, so the setting goes through the C API of
the very SQLite library that `_sqlite3` uses, with ctypes.

SQLite takes a process-wide setting only while it is not initialised, and Python's `sqlite3` initialises it on
import; so `quiet_memory_statistics` shuts it down first, which SQLite allows only when nothing of it is in use
(no connection, no statement). It checks that by the statistics themselves: with them on, a process in which
SQLite holds no memory at all has nothing open. Anywhere else it changes nothing. It is for the mock's own
served processes (`app_from_environment` calls it before the first store opens); tests that build apps
in-process keep SQLite's defaults.
"""

from __future__ import annotations

import _sqlite3
import ctypes
from typing import Final

SQLITE_OK: Final = 0
SQLITE_CONFIG_MEMSTATUS: Final = 9  # sqlite3.h


def quiet_memory_statistics() -> bool:
    """Turn SQLite's memory statistics off for this process; True if they are off when it returns.

    False, changing nothing, when SQLite holds memory (a connection or statement is open somewhere in the
    process, so it may not be shut down) or when its C API cannot be reached."""
    try:
        library = ctypes.CDLL(_sqlite3.__file__)  # dlsym from here finds the SQLite that _sqlite3 links
        memory_used, malloc, free = library.sqlite3_memory_used, library.sqlite3_malloc, library.sqlite3_free
        shutdown, configure, initialize = library.sqlite3_shutdown, library.sqlite3_config, library.sqlite3_initialize
    except (OSError, AttributeError):
        return False
    memory_used.restype = ctypes.c_int64
    malloc.restype = ctypes.c_void_p
    free.argtypes = [ctypes.c_void_p]
    held = memory_used()
    probe = malloc(8)
    counting = memory_used() > held
    free(probe)
    if not counting:
        return True  # already off (a second call): nothing is counted, so nothing tells what is open
    if held != 0 or shutdown() != SQLITE_OK:
        return False
    try:
        return bool(configure(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK)
    finally:
        initialize()
