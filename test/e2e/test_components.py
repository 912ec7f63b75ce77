"""`weft components` and the component table in docs/configuration.md come from the
same list (src/exe/components.inc)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_docs_table_is_the_binarys_component_list(weft_bin):
    table = subprocess.run([weft_bin, "components", "--markdown"], capture_output=True, text=True,
                           check=True, timeout=30).stdout
    documented = re.search(r"<!-- components: begin -->\n(.*?)<!-- components: end -->", DOC.read_text(),
                           re.S)
    assert documented, "docs/configuration.md has no generated component table"
    assert documented.group(1) == table, (
        "docs/configuration.md's component table is out of date; paste `weft components --markdown`")
    listed = subprocess.run([weft_bin, "components"], capture_output=True, text=True, check=True,
                            timeout=30).stdout.split("\n")
    rows = [line for line in table.splitlines()[2:]]
    assert len(rows) == len([line for line in listed if line]) >= 10
