/*
 * harness_selftest.c - the harness's own checks: a hung case is reported as
 * TIMEOUT and cleaned up (connection aborted, daemon killed, mount gone), a
 * failed expectation, a crash and a dead daemon are all reported. The
 * H_XFAIL cases pass when they fail; the last case checks for leftovers.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *record_file(void)
{
    static char b[64];
    snprintf(b, sizeof b, "/tmp/fsp-selftest-%d", (int)getppid());
    return b;
}

static void hang_on_stopped_daemon_is_reported_as_timeout(void)
{
    const struct h_mount *m = h_cur_mount();
    char rec[600];
    int n = snprintf(rec, sizeof rec, "%s %d\n", m->mnt, (int)m->pid);
    h_write_file(record_file(), rec, (size_t)n, 0644);
    kill(m->pid, SIGSTOP);
    struct stat st;
    stat(h_path("blocks-forever"), &st); /* hangs until the runner aborts */
    ADD_FAILURE("stat returned after the abort");
}

static void failed_expectation_is_reported(void)
{
    EXPECT_EQ(1 + 1, 3);
    EXPECT_ERRNO(open(h_path("missing"), O_RDONLY), EEXIST);
}

static void crash_is_reported(void)
{
    raise(SIGSEGV);
}

static void daemon_death_is_reported(void)
{
    kill(h_cur_mount()->pid, SIGKILL);
    h_sleep(0.2);
}

static void nothing_is_left_behind_by_earlier_cases(void)
{
    char rec[600] = "";
    ASSERT_TRUE(h_read_file(record_file(), rec, sizeof rec - 1) > 0);
    unlink(record_file());
    char mnt[512];
    int pid;
    ASSERT_EQ(sscanf(rec, "%511s %d", mnt, &pid), 2);
    EXPECT_EQ(h_mountinfo_count(mnt), 0);
    struct stat st;
    EXPECT_ERRNO(stat(mnt, &st), ENOENT);
    EXPECT_TRUE(h_wait_gone(pid, 1));
    EXPECT_EQ(h_find_process("memfs", mnt), 0);
}

static const struct h_case cases[] = {
    H_CASE_T(hang_on_stopped_daemon_is_reported_as_timeout, NULL, H_DAEMON | H_XFAIL, 3),
    H_CASE(failed_expectation_is_reported, NULL, H_DAEMON | H_XFAIL),
    H_CASE(crash_is_reported, NULL, H_DAEMON | H_XFAIL),
    H_CASE(daemon_death_is_reported, NULL, H_DAEMON | H_XFAIL),
    H_CASE(nothing_is_left_behind_by_earlier_cases, NULL, H_DAEMON),
};

int main(int argc, char **argv)
{
    return h_main("harness_selftest", argc, argv, cases, sizeof cases / sizeof *cases);
}
