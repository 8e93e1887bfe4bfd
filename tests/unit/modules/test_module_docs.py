"""Every module's DOCUMENTATION renders with ansible-doc and agrees with its argument spec."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.unit.conftest import REPO, load_module

MODULES = sorted(p.stem for p in (REPO / "library").glob("*.py"))
ANSIBLE_DOC = Path(sys.executable).parent / "ansible-doc"


class _Captured(Exception):
    pass


def argument_spec_of(name: str) -> tuple[dict, bool]:
    module = load_module(name)
    seen = {}

    def capture(argument_spec, supports_check_mode=False, **_):
        seen.update(spec=argument_spec, check=supports_check_mode)
        raise _Captured

    module.AnsibleModule = capture
    with pytest.raises(_Captured):
        module.main()
    return seen["spec"], seen["check"]


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders(name):
    proc = subprocess.run([str(ANSIBLE_DOC), f"dream.backup.{name}"], capture_output=True, check=False,
                          text=True, cwd=REPO, env={"PATH": "/usr/bin:/bin", "HOME": str(REPO),
                                                    "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")})
    assert proc.returncode == 0, proc.stderr
    assert name in proc.stdout and "OPTIONS" in proc.stdout


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_argument_spec(name):
    module = load_module(name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    yaml.safe_load(module.EXAMPLES)
    assert isinstance(yaml.safe_load(module.RETURN), dict)
    spec, check_mode = argument_spec_of(name)
    assert set(doc["options"]) == set(spec), "documented options differ from the argument spec"
    for option, documented in doc["options"].items():
        actual = spec[option]
        assert documented.get("type", "str") == actual.get("type", "str"), option
        assert documented.get("required", False) == actual.get("required", False), option
        assert documented.get("default") == actual.get("default"), option
        assert documented.get("choices") == actual.get("choices"), option
    assert check_mode is True
    assert doc["attributes"]["check_mode"]["support"] == "full"


@pytest.mark.parametrize("name", MODULES)
def test_what_check_and_diff_mode_mean_is_written_once_in_the_doc_fragment(name):
    """Each module says how far it supports check and diff mode; the fragment dream.backup.attributes
    (doc_fragments/attributes.py) says once what they mean."""
    doc = yaml.safe_load(load_module(name).DOCUMENTATION)
    assert doc["extends_documentation_fragment"] == ["dream.backup.attributes"]
    assert doc["attributes"]["check_mode"].get("description") is None
    assert set(doc["attributes"]) == {"check_mode", "diff_mode"}
    assert all(attribute["support"] in ("full", "partial", "none") for attribute in doc["attributes"].values())
