"""Runs execute their steps in one process.

Every step that touches the warehouse is in the ``duckdb`` pool with one slot, so steps never run in
parallel anyway; the multiprocess executor would only add a Python process (and a fresh import of
the code location) per step. In process, a backfill run of a month of one source is four steps in
one process, and the pool still serializes it against other runs.
"""

import dagster as dg


@dg.definitions
def executor() -> dg.Definitions:
    return dg.Definitions(executor=dg.in_process_executor)
