#!/usr/bin/env bash
# Refresh the lock (.ci/constraints.txt): resolve ".[all,test]" afresh in a new empty venv (torch held at the CPU
# build named in the current lock), run the default test suite there, and write the lock only if it passes.
# Usage: bash scripts/update_lock.sh    (then commit .ci/constraints.txt with the test summary in the message)
set -euo pipefail
cd "$(dirname "$0")/.."
torch_pin=$(grep -E '^torch==' .ci/constraints.txt)
tmp=$(mktemp -d)
python -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q "$torch_pin" -e ".[all,test]"
"$tmp/venv/bin/python" -m pytest -m "not slow" -q -p no:cacheprovider
{
    echo "# The lock: every version the default test suite passed with (Python $("$tmp/venv/bin/python" -c 'import platform; print(platform.python_version())'), $(date -u +%Y-%m-%d))."
    echo "# Used by both README commands and .ci/run (pip install -c .ci/constraints.txt ...). Refresh: bash scripts/update_lock.sh"
    echo "# torch is the CPU build; an unpinned torch pulls a multi-GB CUDA build."
    "$tmp/venv/bin/pip" freeze --exclude-editable | sed -E 's/^(torch==[^+]+)\+cpu$/\1/'
} > .ci/constraints.txt.new
mv .ci/constraints.txt.new .ci/constraints.txt
rm -rf "$tmp"
echo "lock written: $(grep -cv '^#' .ci/constraints.txt) packages"
