#!/usr/bin/env bash
# help_test.sh EXPECTED PROGRAM [ARG...]: PROGRAM ARG... -h and
# PROGRAM ARG... --help must each exit 0, write nothing on stderr, and
# write EXPECTED (the checked-in copy of the help text) on stdout, byte for
# byte. On a difference it prints `diff -u EXPECTED ACTUAL`.
#
# A help text changed on purpose: run the test with FSP_HELP_UPDATE=1
#   FSP_HELP_UPDATE=1 ctest --test-dir build -L help
# which writes the program's output to EXPECTED, and review the change to
# tests/help/*.txt with the code (git diff).
#
# Exit status: 0 every check passed; 1 one failed; 2 a usage error.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: help_test.sh EXPECTED PROGRAM [ARG...]" >&2
    exit 2
fi
expected=$1
shift
name="$(basename "$1")${2:+ ${*:2}}"
work=$(mktemp -d /tmp/fsp-help-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
failed=0

for flag in -h --help; do
    status=0
    "$@" "$flag" >"$work/out" 2>"$work/err" </dev/null || status=$?
    if [ "${FSP_HELP_UPDATE:-0}" = 1 ] && [ "$flag" = -h ] && [ $status -eq 0 ]; then
        cp "$work/out" "$expected"
        echo "help_test: $name $flag: wrote $expected"
    fi
    if [ $status -ne 0 ]; then
        echo "help_test: FAIL: $name $flag exited $status, not 0" >&2
        failed=1
    fi
    if [ -s "$work/err" ]; then
        echo "help_test: FAIL: $name $flag wrote on stderr:" >&2
        cat "$work/err" >&2
        failed=1
    fi
    if [ ! -f "$expected" ]; then
        echo "help_test: FAIL: no $expected (FSP_HELP_UPDATE=1 writes it)" >&2
        failed=1
    elif ! cmp -s "$expected" "$work/out"; then
        echo "help_test: FAIL: $name $flag differs from $expected:" >&2
        diff -u --label "$expected (expected)" --label "$name $flag (actual)" \
            "$expected" "$work/out" >&2 || true
        failed=1
    else
        echo "help_test: $name $flag: as in $(basename "$expected")"
    fi
done
exit $failed
