/*
 * test_fuse_abi.c - src/protocol/fuse_abi.h against the kernel's ABI.
 *
 * Everything that the system's <linux/fuse.h> (7.38) also defines must be
 * identical there and here: sizes, offsets, constants (abi_facts.h). What
 * came after 7.38 is checked against values transcribed from the kernel's
 * 7.45 header (include/uapi/linux/fuse.h, Linux 6.18).
 */
#define _GNU_SOURCE /* RENAME_* in <stdio.h> */

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "abi_fact.h"
#include "expect.h"
#include "fuse_abi.h"

#include <linux/fs.h> /* after fuse_abi.h: RENAME_* must agree */

#define SIZE(type) {#type, sizeof(type)},
#define OFFSET(type, field) {#type "." #field, offsetof(type, field)},
#define VALUE(name) {#name, (uint64_t)(name)},
#define VALUE32(name) {#name, (uint32_t)(name)},

static const struct abi_fact abi_facts_fsp[] = {
#include "abi_facts.h"
    {NULL, 0},
};

static void everything_in_linux_7_38_is_identical_here(void)
{
    size_t i;

    for (i = 0; abi_facts_fsp[i].name != NULL; i++) {
        EXPECT_STREQ(abi_facts_fsp[i].name, abi_facts_linux[i].name);
        EXPECT_EQ(abi_facts_fsp[i].value, abi_facts_linux[i].value);
        if (abi_facts_fsp[i].value != abi_facts_linux[i].value)
            fprintf(stderr, "    %s\n", abi_facts_fsp[i].name);
    }
    EXPECT_TRUE(abi_facts_linux[i].name == NULL);
    EXPECT_TRUE(i > 200);
}

static void protocol_is_7_45(void)
{
    EXPECT_EQ(FUSE_KERNEL_VERSION, 7);
    EXPECT_EQ(FUSE_KERNEL_MINOR_VERSION, 45);
}

static void opcodes_after_7_38_have_the_kernels_numbers(void)
{
    EXPECT_EQ(FUSE_STATX, 52);              /* 7.39 */
    EXPECT_EQ(FUSE_COPY_FILE_RANGE_64, 53); /* 7.45 */
    EXPECT_EQ(FUSE_NOTIFY_RESEND, 7);       /* 7.40 */
    EXPECT_EQ(FUSE_NOTIFY_INC_EPOCH, 8);    /* 7.44 */
    EXPECT_EQ(FUSE_NOTIFY_PRUNE, 9);        /* 7.45 */
}

static void init_flags_above_bit_31_have_the_kernels_bits(void)
{
    EXPECT_EQ(FUSE_CREATE_SUPP_GROUP, 1ULL << 34);
    EXPECT_EQ(FUSE_DIRECT_IO_ALLOW_MMAP, 1ULL << 36);
    EXPECT_EQ(FUSE_PASSTHROUGH, 1ULL << 37);
    EXPECT_EQ(FUSE_NO_EXPORT_SUPPORT, 1ULL << 38);
    EXPECT_EQ(FUSE_HAS_RESEND, 1ULL << 39);
    EXPECT_EQ(FUSE_ALLOW_IDMAP, 1ULL << 40);
    EXPECT_EQ(FUSE_OVER_IO_URING, 1ULL << 41);
    EXPECT_EQ(FUSE_REQUEST_TIMEOUT, 1ULL << 42);
    EXPECT_EQ(FOPEN_PASSTHROUGH, 1 << 7);
    EXPECT_EQ(FUSE_UNIQUE_RESEND, 1ULL << 63);
    /* 64-bit constants must not be int-sized, or shifts would overflow */
    EXPECT_EQ(sizeof(FUSE_PASSTHROUGH), 8);
}

static void newer_structs_have_the_kernels_layout(void)
{
    EXPECT_EQ(sizeof(struct fuse_init_out), 64);
    EXPECT_EQ(offsetof(struct fuse_init_out, max_stack_depth), 36);
    EXPECT_EQ(offsetof(struct fuse_init_out, request_timeout), 40);
    EXPECT_EQ(offsetof(struct fuse_open_out, backing_id), 12);
    EXPECT_EQ(offsetof(struct fuse_setxattr_in, setxattr_flags), 8);
    EXPECT_EQ(sizeof(struct fuse_statx), 256);
    EXPECT_EQ(sizeof(struct fuse_statx_in), 24);
    EXPECT_EQ(sizeof(struct fuse_statx_out), 288);
    EXPECT_EQ(sizeof(struct fuse_backing_map), 16);
    EXPECT_EQ(sizeof(struct fuse_copy_file_range_out), 8);
    EXPECT_EQ(sizeof(struct fuse_notify_prune_out), 16);
    EXPECT_EQ(sizeof(struct fuse_uring_req_header), 288);
    EXPECT_EQ(offsetof(struct fuse_uring_req_header, op_in), 128);
    EXPECT_EQ(offsetof(struct fuse_uring_req_header, ring_ent_in_out), 256);
    EXPECT_EQ(sizeof(struct fuse_uring_cmd_req), 24);
    EXPECT_EQ(offsetof(struct fuse_uring_cmd_req, qid), 16);
    EXPECT_EQ(FUSE_IO_URING_CMD_REGISTER, 1);
    EXPECT_EQ(FUSE_IO_URING_CMD_COMMIT_AND_FETCH, 2);
}

static void device_ioctls_use_magic_229(void)
{
    EXPECT_EQ(FUSE_DEV_IOC_CLONE, _IOR(229, 0, uint32_t));
    EXPECT_EQ(FUSE_DEV_IOC_BACKING_OPEN, _IOW(229, 1, struct fuse_backing_map));
    EXPECT_EQ(FUSE_DEV_IOC_BACKING_CLOSE, _IOW(229, 2, uint32_t));
    EXPECT_EQ(FUSE_DEV_IOC_SYNC_INIT, _IO(229, 3));
    EXPECT_EQ(_IOC_TYPE(FUSE_DEV_IOC_BACKING_OPEN), 229);
    EXPECT_EQ(_IOC_SIZE(FUSE_DEV_IOC_BACKING_OPEN), 16);
}

/* fuse_abi.h, <stdio.h> and <linux/fs.h> all define RENAME_*: this file
 * includes the three, and -Werror would stop a differing definition. */
static void rename2_flags_are_renameat2s(void)
{
    EXPECT_EQ(RENAME_NOREPLACE, 1);
    EXPECT_EQ(RENAME_EXCHANGE, 2);
    EXPECT_EQ(RENAME_WHITEOUT, 4);
}

static void dirent_size_helpers_align_to_8(void)
{
    EXPECT_EQ(FUSE_DIRENT_SIZE_FOR(0), 24);
    EXPECT_EQ(FUSE_DIRENT_SIZE_FOR(1), 32);
    EXPECT_EQ(FUSE_DIRENT_SIZE_FOR(8), 32);
    EXPECT_EQ(FUSE_DIRENT_SIZE_FOR(9), 40);
    EXPECT_EQ(FUSE_DIRENTPLUS_SIZE_FOR(1), 160);
    EXPECT_EQ(FUSE_DIRENTPLUS_SIZE_FOR(8), 160);
    EXPECT_EQ(FUSE_DIRENTPLUS_SIZE_FOR(9), 168);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(everything_in_linux_7_38_is_identical_here),
    EXPECT_CASE(protocol_is_7_45),
    EXPECT_CASE(opcodes_after_7_38_have_the_kernels_numbers),
    EXPECT_CASE(init_flags_above_bit_31_have_the_kernels_bits),
    EXPECT_CASE(newer_structs_have_the_kernels_layout),
    EXPECT_CASE(device_ioctls_use_magic_229),
    EXPECT_CASE(rename2_flags_are_renameat2s),
    EXPECT_CASE(dirent_size_helpers_align_to_8),
};

int main(void)
{
    return expect_run("test_fuse_abi", cases, sizeof cases / sizeof *cases);
}
