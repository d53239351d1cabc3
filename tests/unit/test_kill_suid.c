/*
 * test_kill_suid.c - fsp_fs_mode_after_kill_suid(): which set-ID bits a
 * write, truncate or fallocate by the request's caller takes from a file,
 * and the caller facts it reads from /proc (fsp_caller_in_group(),
 * fsp_caller_has_capability()). No mount: the operation context is set
 * as the dispatcher sets it around a callback.
 */
#define _GNU_SOURCE
#include <fsp/fsp.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caller.h"
#include "expect.h"
#include "fs_internal.h"

#define FILE_GID 500
#define OTHER_GID 600

/* The answer for a caller of @uid and fsgid @gid whose /proc entry is not
 * to be read (pid 0), for a file of @mode in group FILE_GID. */
static uint32_t after_kill(uint32_t mode, uint32_t uid, uint32_t gid)
{
    const fsp_operation_context_t caller = { .uid = uid, .gid = gid };
    uint32_t answer;

    fsp_set_operation_context(&caller);
    answer = fsp_fs_mode_after_kill_suid(mode, FILE_GID);
    fsp_set_operation_context(NULL);
    return answer;
}

static void set_user_id_always_goes(void)
{
    EXPECT_EQ(after_kill(S_IFREG | 04755, 1000, FILE_GID), S_IFREG | 0755);
    EXPECT_EQ(after_kill(S_IFREG | 04755, 0, 0), S_IFREG | 0755);
}

static void set_group_id_with_group_execute_goes_even_for_members(void)
{
    EXPECT_EQ(after_kill(S_IFREG | 06775, 1000, FILE_GID), S_IFREG | 0775);
    EXPECT_EQ(after_kill(S_IFREG | 02070, 0, 0), S_IFREG | 070);
}

static void set_group_id_without_group_execute_stays_for_members(void)
{
    EXPECT_EQ(after_kill(S_IFREG | 06666, 1000, FILE_GID), S_IFREG | 02666);
}

static void set_group_id_without_group_execute_goes_for_outsiders(void)
{
    EXPECT_EQ(after_kill(S_IFREG | 06666, 1000, OTHER_GID), S_IFREG | 0666);
}

/* With pid 0 nothing can be read: root stands for CAP_FSETID. */
static void root_outside_the_group_keeps_it(void)
{
    EXPECT_EQ(after_kill(S_IFREG | 02666, 0, OTHER_GID), S_IFREG | 02666);
}

static void outside_a_request_it_stays(void)
{
    EXPECT_EQ(fsp_fs_mode_after_kill_suid(S_IFREG | 06666, FILE_GID),
              S_IFREG | 02666);
    EXPECT_EQ(fsp_fs_mode_after_kill_suid(S_IFREG | 06676, FILE_GID),
              S_IFREG | 0676);
}

static void proc_gives_this_process_fsgid_and_groups(void)
{
    gid_t groups[64];
    int n = getgroups(64, groups);

    EXPECT_TRUE(fsp_caller_in_group((uint32_t)getpid(), FSP_UNKNOWN_ID,
                                    (uint32_t)getegid()));
    EXPECT_TRUE(fsp_caller_in_group((uint32_t)getpid(), (uint32_t)getegid(),
                                    (uint32_t)getegid()));
    for (int i = 0; i < n; i++)
        EXPECT_TRUE(fsp_caller_in_group((uint32_t)getpid(), FSP_UNKNOWN_ID,
                                        (uint32_t)groups[i]));
    EXPECT_FALSE(fsp_caller_in_group((uint32_t)getpid(), FSP_UNKNOWN_ID,
                                     0x7ffffff0u));
    /* pid 0: only the fsgid given counts */
    EXPECT_TRUE(fsp_caller_in_group(0, 7, 7));
    EXPECT_FALSE(fsp_caller_in_group(0, 7, 8));
}

static void proc_gives_this_process_capabilities(void)
{
    bool root = geteuid() == 0;

    /* root (as CI runs) has CAP_FSETID in effect; others do not */
    EXPECT_EQ(fsp_caller_has_capability((uint32_t)getpid(), CAP_FSETID,
                                        !root),
              root);
    EXPECT_TRUE(fsp_caller_has_capability(0, CAP_FSETID, true));
    EXPECT_FALSE(fsp_caller_has_capability(0, CAP_FSETID, false));
}

static const struct expect_case cases[] = {
    EXPECT_CASE(set_user_id_always_goes),
    EXPECT_CASE(set_group_id_with_group_execute_goes_even_for_members),
    EXPECT_CASE(set_group_id_without_group_execute_stays_for_members),
    EXPECT_CASE(set_group_id_without_group_execute_goes_for_outsiders),
    EXPECT_CASE(root_outside_the_group_keeps_it),
    EXPECT_CASE(outside_a_request_it_stays),
    EXPECT_CASE(proc_gives_this_process_fsgid_and_groups),
    EXPECT_CASE(proc_gives_this_process_capabilities),
};

int main(void)
{
    return expect_run("test_kill_suid", cases, sizeof cases / sizeof *cases);
}
