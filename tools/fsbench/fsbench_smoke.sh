#!/bin/bash
# fsbench_smoke.sh - fsbench runs every test on the local disk, prints a
# well-formed line for each, and leaves its directory empty; bad arguments
# and unusable directories exit 2 with a message.
#
#   fsbench_smoke.sh [FSBENCH]       (CTest passes build/bin/fsbench)
#
# The run is small (-n 50 -i 1 -s 1M) in a fresh directory under /var/tmp
# (disk-backed, unlike a tmpfs /tmp). As root it also mounts two small
# tmpfs of its own, to check the exit status on a full and on a read-only
# directory, and unmounts them whatever happens.
set -u

FSBENCH=${1:-build/bin/fsbench}
fails=0
work=
mounts=()

say() { echo "fsbench_smoke: $*"; }
fail() { say "FAIL: $*"; fails=$((fails + 1)); }

cleanup() {
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
    [ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT

[ -x "$FSBENCH" ] || { say "FAIL: $FSBENCH is missing"; exit 1; }
work=$(mktemp -d "${FSBENCH_SMOKE_DIR:-/var/tmp}/fsbench-smoke.XXXXXX") ||
    exit 1
mkdir "$work/bench"

mapfile -t tests < <("$FSBENCH" -l)
[ "${#tests[@]}" -eq 20 ] || fail "fsbench -l lists ${#tests[@]} tests, not 20"

# ---- every test once: one well-formed line each, nothing left behind ----
timeout 240 "$FSBENCH" -n 50 -i 1 -s 1M "$work/bench" >"$work/out" \
    2>"$work/err"
rc=$?
[ $rc -eq 0 ] || fail "fsbench exited $rc: $(cat "$work/err")"
[ -s "$work/err" ] && fail "fsbench wrote to stderr: $(cat "$work/err")"

header="fsbench v1 dir=$work/bench files=50 iterations=1 filesize=1048576 passes=10"
[ "$(head -n 1 "$work/out")" = "$header" ] ||
    fail "header is '$(head -n 1 "$work/out")'"
[ "$(wc -l <"$work/out")" -eq $((${#tests[@]} + 1)) ] ||
    fail "$(wc -l <"$work/out") lines for ${#tests[@]} tests"

num='[0-9]+\.[0-9]{9}'
for t in "${tests[@]}"; do
    line=$(grep -E "^test=$t " "$work/out")
    if [ "$(grep -cE "^test=$t " "$work/out")" -ne 1 ]; then
        fail "$t: not exactly one line"
    elif [[ $t == rdwr_nc_* && $line == "test=$t skipped=EINVAL" ]]; then
        say "$t: skipped=EINVAL (no O_DIRECT here)"
    elif ! [[ $line =~ ^test=$t\ ops=[1-9][0-9]*\ seconds=($num)\ ops_per_sec=[1-9][0-9]*\ min_seconds=($num)\ max_seconds=($num)$ ]]; then
        fail "$t: malformed line '$line'"
    elif ! awk -v m="${BASH_REMATCH[1]}" -v lo="${BASH_REMATCH[2]}" \
            -v hi="${BASH_REMATCH[3]}" 'BEGIN { exit !(lo <= m && m <= hi && m > 0) }'; then
        fail "$t: not 0 < min <= seconds <= max: '$line'"
    fi
done
# The counts follow from -n 50, -r 10 and -s 1M.
grep -q '^test=file_create ops=50 ' "$work/out" || fail "file_create ops != 50"
grep -q '^test=file_list ops=500 ' "$work/out" || fail "file_list ops != 50 x 10"
grep -q '^test=rdwr_cc_read_page ops=2560 ' "$work/out" ||
    fail "rdwr_cc_read_page ops != 256 pages x 10"
grep -q '^test=rdwr_cc_read_large ops=160 ' "$work/out" ||
    fail "rdwr_cc_read_large ops != 16 blocks x 10"
left=$(ls -A "$work/bench")
[ -z "$left" ] && say "directory left empty" ||
    fail "left behind in the directory: $left"

# ---- -t selects by prefix; -i 3 reports the median between min and max ----
timeout 120 "$FSBENCH" -n 20 -i 3 -t file_list "$work/bench" >"$work/out3"
rc=$?
[ $rc -eq 0 ] || fail "-t file_list exited $rc"
got=$(grep -oE '^test=[a-z_]+' "$work/out3" | tr '\n' ' ')
[ "$got" = "test=file_list test=file_list_single test=file_list_none " ] ||
    fail "-t file_list ran: $got"
grep -q ' iterations=3 ' "$work/out3" || fail "header lacks iterations=3"

# ---- -j 2: two clients at once, in a directory each or one shared (-S):
# twice the operations, every listing sees what it should, nothing left ----
for shared in "" -S; do
    timeout 120 "$FSBENCH" -n 20 -r 2 -j 2 $shared \
        -t file_create,file_list,file_attr,rdwr_cc_read_page -s 64k \
        "$work/bench" >"$work/outj"
    rc=$?
    [ $rc -eq 0 ] || fail "-j 2 $shared exited $rc: $(cat "$work/outj")"
    grep -q " clients=2 shared=$([ -n "$shared" ] && echo 1 || echo 0)\$" \
        "$work/outj" || fail "-j 2 $shared: header is '$(head -n 1 "$work/outj")'"
    grep -q '^test=file_create ops=40 .* clients=2$' "$work/outj" ||
        fail "-j 2 $shared: file_create ops != 2 x 20"
    # Shared, each client lists both clients' files.
    listed=$([ -n "$shared" ] && echo 160 || echo 80)
    grep -q "^test=file_list ops=$listed .* clients=2\$" "$work/outj" ||
        fail "-j 2 $shared: file_list ops != $listed"
    left=$(ls -A "$work/bench")
    [ -z "$left" ] || fail "-j 2 $shared left behind: $left"
done
say "-j 2 and -j 2 -S: twice the operations, directory left empty"

# ---- errors: exit 2 and a message naming the problem ----
expect_2() {    # DESCRIPTION PATTERN ARGS...
    local what=$1 pattern=$2
    shift 2
    timeout 120 "$FSBENCH" "$@" >"$work/eout" 2>"$work/eerr"
    local code=$?
    if [ $code -ne 2 ]; then
        fail "$what: exit $code, not 2"
    elif ! grep -qiE "$pattern" "$work/eerr"; then
        fail "$what: message '$(cat "$work/eerr")' lacks /$pattern/"
    else
        say "$what: exit 2, $(head -n 1 "$work/eerr")"
    fi
}
expect_2 "missing DIR" "no such file" "$work/nonexistent"
touch "$work/afile"
expect_2 "DIR is a file" "not a directory" "$work/afile"
expect_2 "unknown test" "no test is named" -t no_such_test "$work/bench"
expect_2 "empty test list" "needs a test name" -t , "$work/bench"
expect_2 "file size not a multiple of 64k" "not a valid value" \
    -s 1000 "$work/bench"
expect_2 "no DIR" "usage" -n 5
expect_2 "-x with -j 2" "not with -j" -x true -j 2 "$work/bench"
expect_2 "-j 0" "not a valid value" -j 0 "$work/bench"

if [ "$(id -u)" = 0 ]; then
    mkdir "$work/full" "$work/ro"
    if mount -t tmpfs -o size=256k fsbench-smoke "$work/full"; then
        mounts+=("$work/full")
        expect_2 "full DIR" "no space left" -s 1M -t rdwr_cc_read_page \
            "$work/full"
        left=$(ls -A "$work/full")
        [ -z "$left" ] || fail "left behind after ENOSPC: $left"
    else
        fail "cannot mount a tmpfs for the ENOSPC check"
    fi
    if mount -t tmpfs -o ro fsbench-smoke "$work/ro"; then
        mounts+=("$work/ro")
        expect_2 "read-only DIR" "read-only" "$work/ro"
    else
        fail "cannot mount a tmpfs for the read-only check"
    fi
else
    say "not root: ENOSPC and read-only checks skipped"
fi

if [ $fails -ne 0 ]; then
    say "$fails check(s) failed; output was:"
    cat "$work/out"
    exit 1
fi
say "PASS"
