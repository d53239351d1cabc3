# bench/lib.sh - what bench/run, bench/peers and bench/floor share: the
# unmount of their mount point, the fuse module's enable_uring parameter,
# and the medians and ratios of their tables. Sourced, not run; the script
# sets $me (its name, for messages), $mnt (its mount point) and $results
# (the directory of its fsbench outputs, CONFIG.N).

# Unmount what is mounted at $mnt: the FUSE daemons exit then.
unmount_ours() {
    local tries=0
    while grep -q " $mnt " /proc/mounts; do
        timeout 10 umount "$mnt" 2>/dev/null ||
            timeout 10 umount -l "$mnt" 2>/dev/null
        tries=$((tries + 1))
        [ $tries -lt 5 ] || { echo "$me: cannot unmount $mnt" >&2; return 1; }
        sleep 0.2
    done
}

# The fuse module parameter enable_uring: FUSE over io_uring needs it Y.
# uring_on sets it for the runs that need it (other users of the machine
# may expect N: keep those runs short); uring_restore puts back what it
# was, and fails when it cannot.
uring_param=/sys/module/fuse/parameters/enable_uring
uring_saved=""
uring_on() {
    [ -w "$uring_param" ] || return 0
    [ -n "$uring_saved" ] || uring_saved=$(cat "$uring_param")
    echo Y > "$uring_param"
}
uring_restore() {
    [ -n "$uring_saved" ] || return 0
    if ! echo "$uring_saved" > "$uring_param"; then
        echo "$me: cannot put $uring_param back to $uring_saved" >&2
        return 1
    fi
}

# The median ops/s (or field $3) of test $2 in configuration $1 over the
# runs, or n/a.
median_of() {
    cat "$results/$1".[0-9]* 2>/dev/null |
        sed -n "s/^test=$2 .*${3:-ops_per_sec}=\([0-9]*\).*/\1/p" | sort -n |
        awk '{ v[NR] = $1 }
             END { if (NR == 0) print "n/a";
                   else if (NR % 2) print v[(NR + 1) / 2];
                   else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# $1 / $2 with two decimals, or n/a when either is missing or $2 is 0.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "n/a" || b == "n/a" || a == "" || b == "" || b == 0) print "n/a";
        else printf "%.2f\n", a / b }'
}

# One line on the machine for a table's caption.
machine_line() {
    local cpu
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
    echo "$(nproc) CPUs ($cpu), kernel $(uname -r)"
}

# Signals while a command runs: the script's INT, TERM and HUP traps call
# on_signal STATUS, which only notes the signal and ends the command; the
# script then exits with STATUS from run_child, outside the trap (an exit
# from inside a trap that interrupted wait can abort bash 5.2 with
# "reader_loop: bad jump"), and its EXIT trap cleans up.
child=""
interrupted=""
on_signal() {
    interrupted=$1
    [ -z "$child" ] || kill "$child" 2>/dev/null
}
check_interrupted() {
    [ -z "$interrupted" ] || exit "$interrupted"
}

# Run a command in the background and wait for it, so that a signal is
# seen at once, not when the command is done. Returns its status.
run_child() {
    local status
    check_interrupted
    "$@" &
    child=$!
    wait "$child"
    status=$?
    if [ -n "$interrupted" ]; then
        wait "$child" 2>/dev/null
        child=""
        exit "$interrupted"
    fi
    child=""
    return $status
}

# ---- daemons in the foreground (callers set $mnt and $work) ----

# The daemon start_foreground started, or empty.
daemon_pid=""

# Stop the daemon start_foreground started, if it did not exit with the
# unmount.
stop_daemon() {
    [ -n "$daemon_pid" ] || return 0
    local n=0
    while kill -0 "$daemon_pid" 2>/dev/null && [ $n -lt 50 ]; do
        sleep 0.1
        n=$((n + 1))
    done
    if kill -0 "$daemon_pid" 2>/dev/null; then
        kill "$daemon_pid" 2>/dev/null
        sleep 0.5
        kill -9 "$daemon_pid" 2>/dev/null
    fi
    wait "$daemon_pid" 2>/dev/null
    daemon_pid=""
}

# Wait up to 10 s for $mnt to be a FUSE mount; fails if the daemon died.
wait_mounted() {
    local n=0
    until grep -q " $mnt fuse" /proc/mounts; do
        if [ -n "$daemon_pid" ] && ! kill -0 "$daemon_pid" 2>/dev/null; then
            return 1
        fi
        [ $n -lt 100 ] || return 1
        sleep 0.1
        n=$((n + 1))
    done
}

# A daemon in the foreground (-f), in the background of this script: the
# same for fsp's and libfuse's, since a daemon that detaches (setsid) runs
# in a scheduler autogroup of its own, which on this machine made either
# side 2-3x slower over io_uring (docs/BENCHMARKS.md, "Autogroups").
start_foreground() {
    "$@" >"$work/mount.err" 2>&1 &
    daemon_pid=$!
    wait_mounted
}
