/*
 * test_atime.c - fsp_fs_atime_due(): when a read or a listing updates an
 * access time, for each policy (relatime, strictatime, noatime) and with
 * nodiratime. No mount: a volume is created and asked.
 */
#include <fsp/fsp.h>

#include "expect.h"

#define DAY (24 * 60 * 60)

static const struct timespec now = { 2000000000, 500 };

static struct timespec at(time_t seconds_ago)
{
    struct timespec t = { now.tv_sec - seconds_ago, now.tv_nsec };
    return t;
}

/* A volume with @atime and @nodiratime, or read-only. */
static fsp_fs_t *volume(uint8_t atime, bool nodiratime, bool read_only)
{
    static const fsp_fs_interface_t none;
    fsp_volume_params_t p;
    fsp_fs_t *fs = NULL;

    fsp_volume_params_init(&p);
    p.atime = atime;
    p.nodiratime = nodiratime;
    p.read_only = read_only;
    if (fsp_fs_create(&p, &none, NULL, &fs) != 0)
        ADD_FAILURE("fsp_fs_create failed");
    return fs;
}

static void relatime_is_the_default(void)
{
    fsp_volume_params_t p;

    fsp_volume_params_init(&p);
    EXPECT_EQ(p.atime, FSP_ATIME_RELATIME);
    EXPECT_FALSE(p.nodiratime);
    EXPECT_FALSE(p.allow_setuid);
    EXPECT_FALSE(p.allow_devices);
}

static void relatime_updates_when_not_later_than_mtime_or_ctime(void)
{
    fsp_fs_t *fs = volume(FSP_ATIME_RELATIME, false, false);

    /* atime before mtime, equal to it, before ctime only */
    EXPECT_TRUE(fsp_fs_atime_due(fs, false, at(20), at(10), at(30), now));
    EXPECT_TRUE(fsp_fs_atime_due(fs, false, at(10), at(10), at(30), now));
    EXPECT_TRUE(fsp_fs_atime_due(fs, false, at(20), at(30), at(10), now));
    /* later than both, and recent: no update */
    EXPECT_FALSE(fsp_fs_atime_due(fs, false, at(5), at(10), at(10), now));
    /* later than both, but a day old: update */
    EXPECT_FALSE(fsp_fs_atime_due(fs, false, at(DAY - 1), at(2 * DAY),
                                  at(2 * DAY), now));
    EXPECT_TRUE(fsp_fs_atime_due(fs, false, at(DAY), at(2 * DAY),
                                 at(2 * DAY), now));
    /* directories alike */
    EXPECT_TRUE(fsp_fs_atime_due(fs, true, at(20), at(10), at(30), now));
    EXPECT_FALSE(fsp_fs_atime_due(fs, true, at(5), at(10), at(10), now));
    fsp_fs_delete(fs);
}

static void nanoseconds_decide_equal_seconds(void)
{
    fsp_fs_t *fs = volume(FSP_ATIME_RELATIME, false, false);
    struct timespec a = { 100, 2 }, m = { 100, 1 }, c = { 100, 3 };

    EXPECT_TRUE(fsp_fs_atime_due(fs, false, a, m, c, (struct timespec){ 101, 0 }));
    c.tv_nsec = 1;
    EXPECT_FALSE(fsp_fs_atime_due(fs, false, a, m, c, (struct timespec){ 101, 0 }));
    fsp_fs_delete(fs);
}

static void strictatime_always_updates(void)
{
    fsp_fs_t *fs = volume(FSP_ATIME_STRICT, false, false);

    EXPECT_TRUE(fsp_fs_atime_due(fs, false, at(1), at(10), at(10), now));
    EXPECT_TRUE(fsp_fs_atime_due(fs, true, at(1), at(10), at(10), now));
    fsp_fs_delete(fs);
}

static void noatime_never_updates(void)
{
    fsp_fs_t *fs = volume(FSP_ATIME_NEVER, false, false);

    EXPECT_FALSE(fsp_fs_atime_due(fs, false, at(20), at(10), at(10), now));
    EXPECT_FALSE(fsp_fs_atime_due(fs, true, at(20), at(10), at(10), now));
    fsp_fs_delete(fs);
}

static void nodiratime_leaves_directories_alone(void)
{
    fsp_fs_t *fs = volume(FSP_ATIME_STRICT, true, false);

    EXPECT_FALSE(fsp_fs_atime_due(fs, true, at(20), at(10), at(10), now));
    EXPECT_TRUE(fsp_fs_atime_due(fs, false, at(20), at(10), at(10), now));
    fsp_fs_delete(fs);
}

static void read_only_volumes_and_no_volume_never_update(void)
{
    fsp_fs_t *fs = volume(FSP_ATIME_STRICT, false, true);

    EXPECT_FALSE(fsp_fs_atime_due(fs, false, at(20), at(10), at(10), now));
    EXPECT_FALSE(fsp_fs_atime_due(NULL, false, at(20), at(10), at(10), now));
    fsp_fs_delete(fs);
}

static void an_unknown_policy_is_refused(void)
{
    static const fsp_fs_interface_t none;
    fsp_volume_params_t p;
    fsp_fs_t *fs = NULL;

    fsp_volume_params_init(&p);
    p.atime = FSP_ATIME_NEVER + 1;
    EXPECT_EQ(fsp_fs_create(&p, &none, NULL, &fs), -EINVAL);
    EXPECT_TRUE(fs == NULL);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(relatime_is_the_default),
    EXPECT_CASE(relatime_updates_when_not_later_than_mtime_or_ctime),
    EXPECT_CASE(nanoseconds_decide_equal_seconds),
    EXPECT_CASE(strictatime_always_updates),
    EXPECT_CASE(noatime_never_updates),
    EXPECT_CASE(nodiratime_leaves_directories_alone),
    EXPECT_CASE(read_only_volumes_and_no_volume_never_update),
    EXPECT_CASE(an_unknown_policy_is_refused),
};

int main(void)
{
    return expect_run("test_atime", cases, sizeof cases / sizeof *cases);
}
