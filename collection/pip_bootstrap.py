"""Stand-in for the get-pip.py that ansible-test downloads to put pip into the empty virtualenvs its
sanity tests run in. That download comes from a host outside the package index, which CI machines
cannot reach; this script does the same job with what is here: ensurepip (the pip wheel inside
Python), then `pip install` of the arguments ansible-test passes (pip==VERSION and pip options) from
the package index pip is configured with.

collection/sanity.sh copies it to ansible-test's cache path for the script (~/.ansible/test/cache/),
where ansible-test finds it and runs it with the virtualenv's Python."""

from __future__ import annotations

import subprocess
import sys

# get-pip.py options that `pip install` does not know: they ask not to install setuptools and wheel,
# which a plain `pip install pip==X` does not install anyway.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, stdout=subprocess.DEVNULL)
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    return subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
