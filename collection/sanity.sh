#!/usr/bin/env bash
# ansible-test sanity on the collection staged by collection/build.py, for Python 3.11: the Python of
# the Debian 12 hosts the modules run on and of the controller (tests/config.yml says >=3.11; CI has no
# other interpreter, so the version is fixed here rather than left to whatever is on PATH).
# ansible-test installs its own pinned tool versions (pylint, pycodestyle, yamllint, voluptuous, ...)
# into virtualenvs under ~/.ansible/test/venv, once per tool and version; later runs reuse them.
# Extra arguments go to ansible-test (e.g. --test pylint).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
stage="$repo/.cache/collection/ansible_collections/dream/backup"
[[ -f $stage/galaxy.yml ]] || { echo "no staged collection in $stage: run make collection first" >&2; exit 2; }

# ansible-test fetches pip's bootstrap script from a host outside the package index; give it ours at the
# path it looks in first (the pip version is the one this ansible-test pins). A real get-pip.py someone
# saved there is left alone; a copy of ours is kept current.
ansible_test=$(python3 -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',\$/\1/p" "$ansible_test/_internal/python_requirements.py")
[[ -n $pip_version ]] || { echo "cannot tell which pip this ansible-test bootstraps" >&2; exit 2; }
bootstrap="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [[ ! -e $bootstrap ]] || grep -q '^"""Stand-in for the get-pip.py' "$bootstrap"; then
  mkdir -p "$(dirname "$bootstrap")"
  install -m 0644 "$repo/collection/pip_bootstrap.py" "$bootstrap"
fi

cd "$stage"
exec ansible-test sanity --python 3.11 --color no "$@"
