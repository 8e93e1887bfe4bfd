"""The unit tests mirror the program's package file for file (issue #24): src/dream_backup/X.py is tested
in tests/unit/program/test_X.py, and a subpackage's module in the same subfolder here. A newcomer
looking for the tests of a module finds them at one place, and a new module without tests fails here.
A package's __init__.py is not mirrored: what it holds (VERSION, engines.make_engine) runs in every run
of the built program (tests/integration)."""

from __future__ import annotations

from pathlib import Path

from tests.support.program import REPO

PACKAGE = REPO / "src" / "dream_backup"
TESTS = Path(__file__).resolve().parent

# Each exemption says why the module has no unit test file and where it is tested instead.
EXEMPT = {
    "__main__.py": "two lines that call cli.main(); every test that runs the built program runs it",
}


def mirrored(module: Path) -> Path:
    relative = module.relative_to(PACKAGE)
    return TESTS / relative.parent / f"test_{relative.name}"


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" and "__pycache__" not in p.parts)


def test_every_module_has_its_test_file_at_the_mirrored_path():
    missing = [str(m.relative_to(PACKAGE)) for m in modules()
               if str(m.relative_to(PACKAGE)) not in EXEMPT and not mirrored(m).is_file()]
    assert missing == [], f"modules of src/dream_backup without tests/unit/program/.../test_<module>.py: {missing}"


def test_every_test_file_here_names_a_module_or_is_a_repository_test():
    """A test file named after a module that was renamed or removed would mislead the reader."""
    known = {mirrored(m) for m in modules()} | {TESTS / "test_mirror.py"}
    stray = [str(p.relative_to(TESTS)) for p in TESTS.rglob("test_*.py") if p not in known]
    assert stray == [], f"test files that mirror no module of src/dream_backup: {stray}"


def test_exemptions_are_few_and_name_existing_modules():
    assert len(EXEMPT) <= 3
    for name, reason in EXEMPT.items():
        assert (PACKAGE / name).is_file(), name
        assert len(reason) > 20, name
