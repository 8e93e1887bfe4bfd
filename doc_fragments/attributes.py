"""Documentation shared by the collection's modules: what check mode and diff mode mean for them. Each
module says in its own `attributes` how far it supports them (`support`, `details`); the descriptions
live here once (`extends_documentation_fragment: [dream.backup.attributes]`)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and report what would change, changing nothing.
  diff_mode:
    description: Reports the state before and after a change when run with C(--diff).
"""
