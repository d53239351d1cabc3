/*
 * test_mountinfo.c - the mountinfo reader and parser that the mount code,
 * fsptool and the launcher share (src/channel/mountinfo.c).
 */
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "expect.h"
#include "mountinfo.h"

static void a_fuse_line_gives_device_point_type_source_and_options(void)
{
    char line[] = "36 35 0:52 / /mnt/my\\040vol rw,nosuid shared:1 master:2 "
                  "- fuse.memfs my\\134src rw,user_id=0,group_id=0\n";
    struct fsp_mountinfo_entry e;

    EXPECT_TRUE(fsp_mountinfo_parse_line(line, &e));
    EXPECT_EQ(e.major, 0);
    EXPECT_EQ(e.minor, 52);
    EXPECT_STREQ(e.mount_point, "/mnt/my vol");
    EXPECT_STREQ(e.fstype, "fuse.memfs");
    EXPECT_STREQ(e.source, "my\\src");
    EXPECT_STREQ(e.super_options, "rw,user_id=0,group_id=0");
}

static void a_line_without_super_options_or_newline_still_parses(void)
{
    char line[] = "1 0 8:1 / / rw - ext4 /dev/sda1";
    struct fsp_mountinfo_entry e;

    EXPECT_TRUE(fsp_mountinfo_parse_line(line, &e));
    EXPECT_EQ(e.major, 8);
    EXPECT_STREQ(e.mount_point, "/");
    EXPECT_STREQ(e.super_options, "");
}

static void malformed_lines_are_refused(void)
{
    char no_dash[] = "36 35 0:52 / /mnt rw fuse.memfs memfs rw";
    char bad_dev[] = "36 35 0-52 / /mnt rw - fuse memfs rw";
    char short_line[] = "36 35 0:52 /";
    char no_source[] = "36 35 0:52 / /mnt rw - fuse";
    struct fsp_mountinfo_entry e;

    EXPECT_TRUE(!fsp_mountinfo_parse_line(no_dash, &e));
    EXPECT_TRUE(!fsp_mountinfo_parse_line(bad_dev, &e));
    EXPECT_TRUE(!fsp_mountinfo_parse_line(short_line, &e));
    EXPECT_TRUE(!fsp_mountinfo_parse_line(no_source, &e));
}

static void file_kinds_name_the_seven_types(void)
{
    EXPECT_STREQ(fsp_file_kind(S_IFDIR | 0755, "?"), "a directory");
    EXPECT_STREQ(fsp_file_kind(S_IFSOCK, "?"), "a socket");
    EXPECT_STREQ(fsp_file_kind(0, "of unknown type"), "of unknown type");
}

static void fuse_types_are_told_from_fusectl_and_others(void)
{
    EXPECT_TRUE(fsp_mountinfo_is_fuse("fuse"));
    EXPECT_TRUE(fsp_mountinfo_is_fuse("fuse.memfs"));
    EXPECT_TRUE(fsp_mountinfo_is_fuse("fuseblk"));
    EXPECT_TRUE(!fsp_mountinfo_is_fuse("fusectl"));
    EXPECT_TRUE(!fsp_mountinfo_is_fuse("ext4"));
}

static void a_connection_id_is_major_shifted_by_20_or_minor(void)
{
    EXPECT_EQ(fsp_mountinfo_conn_id(0, 52), 52);
    EXPECT_EQ(fsp_mountinfo_conn_id(1, 2), (1u << 20) | 2);
}

static void count_visit(const struct fsp_mountinfo_entry *e, void *ctx)
{
    (void)e;
    ++*(unsigned *)ctx;
}

/* The table always holds at least one mount: the root's. */
static void the_running_table_is_read_entry_by_entry(void)
{
    unsigned n = 0;

    EXPECT_EQ(fsp_mountinfo_foreach(count_visit, &n), 0);
    EXPECT_TRUE(n > 0);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(a_fuse_line_gives_device_point_type_source_and_options),
    EXPECT_CASE(a_line_without_super_options_or_newline_still_parses),
    EXPECT_CASE(malformed_lines_are_refused),
    EXPECT_CASE(file_kinds_name_the_seven_types),
    EXPECT_CASE(fuse_types_are_told_from_fusectl_and_others),
    EXPECT_CASE(a_connection_id_is_major_shifted_by_20_or_minor),
    EXPECT_CASE(the_running_table_is_read_entry_by_entry),
};

int main(void)
{
    return expect_run("test_mountinfo", cases, sizeof cases / sizeof *cases);
}
