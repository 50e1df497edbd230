"""``rmslab inventory``: every protected artefact of a file share, which cluster and key
protected it, and what retiring that key would leave unreadable (SPEC A-1, P-7).

:func:`run_inventory` walks the trees and runs :func:`inventory_file` on each file — in
this process, in a process pool or on a Dask cluster — keeping what it finished in an
SQLite state database when asked, so that a run can resume. :func:`migration_view`
groups the records per SLC key; :func:`generate_share` makes a share of protected files
of every container kind for tests, benchmarks and notebooks.
"""

from rmslab.inventory.record import FIELDS, inventory_batch, inventory_file
from rmslab.inventory.run import Interrupted, Inventory, run_inventory, walk
from rmslab.inventory.share import ShareSpec, generate_share
from rmslab.inventory.view import KeyView, migration_view, to_json, to_text, write_json

__all__ = ["FIELDS", "inventory_file", "inventory_batch", "Inventory", "Interrupted",
           "run_inventory", "walk", "KeyView", "migration_view", "to_json", "to_text",
           "write_json", "ShareSpec", "generate_share"]
