/*
 * test_mountinfo.c - the mountinfo reader and parser that the mount code,
 * fsptool and the launcher share (src/channel/mountinfo.c).
 */
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "mountinfo.h"

static void a_fuse_line_gives_device_point_type_source_and_options(void)
{
    char line[] = "36 35 0:52 / /mnt/my\\040vol rw,nosuid shared:1 master:2 "
                  "- fuse.memfs my\\134src rw,user_id=0,group_id=0\n";
    struct fsp_mountinfo_entry e;

    CHECK(fsp_mountinfo_parse_line(line, &e));
    CHECK_EQ(e.major, 0);
    CHECK_EQ(e.minor, 52);
    CHECK_STR(e.mount_point, "/mnt/my vol");
    CHECK_STR(e.fstype, "fuse.memfs");
    CHECK_STR(e.source, "my\\src");
    CHECK_STR(e.super_options, "rw,user_id=0,group_id=0");
}

static void a_line_without_super_options_or_newline_still_parses(void)
{
    char line[] = "1 0 8:1 / / rw - ext4 /dev/sda1";
    struct fsp_mountinfo_entry e;

    CHECK(fsp_mountinfo_parse_line(line, &e));
    CHECK_EQ(e.major, 8);
    CHECK_STR(e.mount_point, "/");
    CHECK_STR(e.super_options, "");
}

static void malformed_lines_are_refused(void)
{
    char no_dash[] = "36 35 0:52 / /mnt rw fuse.memfs memfs rw";
    char bad_dev[] = "36 35 0-52 / /mnt rw - fuse memfs rw";
    char short_line[] = "36 35 0:52 /";
    char no_source[] = "36 35 0:52 / /mnt rw - fuse";
    struct fsp_mountinfo_entry e;

    CHECK(!fsp_mountinfo_parse_line(no_dash, &e));
    CHECK(!fsp_mountinfo_parse_line(bad_dev, &e));
    CHECK(!fsp_mountinfo_parse_line(short_line, &e));
    CHECK(!fsp_mountinfo_parse_line(no_source, &e));
}

static void file_kinds_name_the_seven_types(void)
{
    CHECK_STR(fsp_file_kind(S_IFDIR | 0755, "?"), "a directory");
    CHECK_STR(fsp_file_kind(S_IFSOCK, "?"), "a socket");
    CHECK_STR(fsp_file_kind(0, "of unknown type"), "of unknown type");
}

static void fuse_types_are_told_from_fusectl_and_others(void)
{
    CHECK(fsp_mountinfo_is_fuse("fuse"));
    CHECK(fsp_mountinfo_is_fuse("fuse.memfs"));
    CHECK(fsp_mountinfo_is_fuse("fuseblk"));
    CHECK(!fsp_mountinfo_is_fuse("fusectl"));
    CHECK(!fsp_mountinfo_is_fuse("ext4"));
}

static void a_connection_id_is_major_shifted_by_20_or_minor(void)
{
    CHECK_EQ(fsp_mountinfo_conn_id(0, 52), 52);
    CHECK_EQ(fsp_mountinfo_conn_id(1, 2), (1u << 20) | 2);
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

    CHECK_EQ(fsp_mountinfo_foreach(count_visit, &n), 0);
    CHECK(n > 0);
}

int main(void)
{
    RUN(a_fuse_line_gives_device_point_type_source_and_options);
    RUN(a_line_without_super_options_or_newline_still_parses);
    RUN(malformed_lines_are_refused);
    RUN(file_kinds_name_the_seven_types);
    RUN(fuse_types_are_told_from_fusectl_and_others);
    RUN(a_connection_id_is_major_shifted_by_20_or_minor);
    RUN(the_running_table_is_read_entry_by_entry);
    return check_report("test_mountinfo");
}
