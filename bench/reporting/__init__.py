"""What `make bench` is made of: the bench scripts' JSON results and the report built on them.

* ``figures``: ``Figure`` and ``write_result``, the only part the bench scripts import (with
  ``--json PATH`` each writes its figures beside its usual printout);
* ``machine``: the facts about the machine a run was made on;
* ``markdown`` and ``plots``: ``docs/benchmarks.md`` and its PNG curves;
* ``bench/report.py`` runs every script in a fresh process and puts it all together.
"""

from .figures import Figure, write_result

__all__ = ["Figure", "write_result"]
