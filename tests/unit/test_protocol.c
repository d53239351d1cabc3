/*
 * test_protocol.c - the protocol layer (src/protocol/protocol.c and
 * describe.c), as a specification.
 *
 * Decoding: every opcode, every kind of malformed request. INIT
 * negotiation. Encoding: attributes, timeouts, directory entries. The debug
 * log's argument formatting (describe.c). Random mutations live in
 * test_protocol_fuzz.c.
 */
#define _GNU_SOURCE /* RENAME_NOREPLACE in <stdio.h>, O_* flags */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "describe.h"
#include "expect.h"
#include "fuse_msg.h"
#include "op_table.h"
#include "protocol.h"

#define MINOR FUSE_KERNEL_MINOR_VERSION

static int decode(struct fuse_msg *m, struct fsp_request *req)
{
    return fsp_op_decode(m->words, m->len, MINOR, req);
}

/* Is [p, p + n) inside the message? */
static bool inside(const struct fuse_msg *m, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)m->words;
    const unsigned char *q = p;

    return q >= b && q <= b + m->len && n <= (size_t)(b + m->len - q);
}

/* ---- Headers ------------------------------------------------------------- */

static void header_shorter_than_40_bytes_is_einval(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_valid(&m, FUSE_STATFS);
    for (size_t len = 0; len < sizeof(struct fuse_in_header); len++) {
        MSG_HDR(&m)->len = (uint32_t)len;
        EXPECT_EQ(fsp_op_decode(m.words, len, MINOR, &req), -EINVAL);
        EXPECT_TRUE(req.hdr == NULL);
    }
}

static void len_field_must_match_bytes_read(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_valid(&m, FUSE_LOOKUP);
    MSG_HDR(&m)->len = (uint32_t)m.len + 1;
    EXPECT_EQ(decode(&m, &req), -EINVAL);
    EXPECT_TRUE(req.hdr == NULL);
    MSG_HDR(&m)->len = (uint32_t)m.len - 1;
    EXPECT_EQ(decode(&m, &req), -EINVAL);
    MSG_HDR(&m)->len = 0xffffffffu;
    EXPECT_EQ(decode(&m, &req), -EINVAL);
    MSG_HDR(&m)->len = 0;
    EXPECT_EQ(decode(&m, &req), -EINVAL);
}

static void null_or_misaligned_buffer_is_einval(void)
{
    static uint64_t words[64];
    struct fuse_msg m;
    struct fsp_request req;

    EXPECT_EQ(fsp_op_decode(NULL, 40, MINOR, &req), -EINVAL);
    msg_valid(&m, FUSE_STATFS);
    memcpy((char *)words + 4, m.words, m.len);
    EXPECT_EQ(fsp_op_decode((char *)words + 4, m.len, MINOR, &req),
              -EINVAL);
}

static void unknown_opcode_gets_enosys(void)
{
    static const uint32_t unknown[] = {0,  7,    19,         54,
                                       99, CUSE_INIT, FUSE_INIT_BSWAP_RESERVED,
                                       0xffffffffu};
    struct fuse_msg m;
    struct fsp_request req;

    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        msg_start(&m, unknown[i], 3);
        msg_str(&m, "whatever");
        msg_end(&m);
        EXPECT_EQ(decode(&m, &req), -ENOSYS);
        /* The header is set, so that the ENOSYS reply can be sent. */
        EXPECT_TRUE(req.hdr == (const void *)m.words);
        EXPECT_EQ(req.opcode, unknown[i]);
        EXPECT_EQ(req.unique, 0x1234);
        EXPECT_TRUE(fsp_op_has_reply(unknown[i]));
    }
}

static void dax_mapping_opcodes_are_named_but_get_enosys(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_setupmapping_in in = {.len = 4096};

    msg_start(&m, FUSE_SETUPMAPPING, 2);
    msg_put(&m, &in, sizeof(in));
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -ENOSYS);
    EXPECT_STREQ(fsp_op_name(FUSE_SETUPMAPPING), "SETUPMAPPING");
    EXPECT_STREQ(fsp_op_name(FUSE_REMOVEMAPPING), "REMOVEMAPPING");
}

/* ---- Every opcode, well formed ------------------------------------------ */

static void every_opcode_decodes_when_well_formed(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    int decoded = 0;

    for (uint32_t op = 0; op < MSG_OPCODE_END + 8; op++) {
        if (!msg_valid(&m, op))
            continue;
        decoded++;
        EXPECT_EQ(decode(&m, &req), 0);
        EXPECT_TRUE(req.hdr == (const void *)m.words);
        EXPECT_EQ(req.opcode, op);
        EXPECT_EQ(req.unique, 0x1234);
        EXPECT_EQ(req.nodeid, MSG_HDR(&m)->nodeid);
        EXPECT_TRUE(req.arg == NULL || inside(&m, req.arg, req.arg_size));
        EXPECT_TRUE(req.name == NULL ||
                    inside(&m, req.name, strlen(req.name) + 1));
        EXPECT_TRUE(req.name2 == NULL ||
                    inside(&m, req.name2, strlen(req.name2) + 1));
        EXPECT_TRUE(req.data == NULL || inside(&m, req.data, req.data_size));
        EXPECT_TRUE(fsp_op_name(op) != NULL);
    }
    /* 1..53 less 7 and 19 (never used) and the two DAX-only opcodes */
    EXPECT_EQ(decoded, 49);
}

static void fixed_arguments_point_right_after_the_header(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_valid(&m, FUSE_SETATTR);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_TRUE(req.arg == (const char *)m.words + sizeof(struct fuse_in_header));
    EXPECT_EQ(req.arg_size, sizeof(struct fuse_setattr_in));
    EXPECT_EQ(((const struct fuse_setattr_in *)req.arg)->size, 4096);

    msg_valid(&m, FUSE_READLINK);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_TRUE(req.arg == NULL);
    EXPECT_EQ(req.arg_size, 0);
}

static void lookup_decodes_its_name(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_valid(&m, FUSE_LOOKUP);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_STREQ(req.name, "file.txt");
    EXPECT_TRUE(req.name2 == NULL);
    EXPECT_TRUE(req.data == NULL);
}

static void symlink_carries_link_name_then_target(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_valid(&m, FUSE_SYMLINK);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_STREQ(req.name, "link");
    EXPECT_STREQ(req.name2, "../target");
}

static void rename_and_rename2_decode_both_names(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_valid(&m, FUSE_RENAME);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_STREQ(req.name, "old");
    EXPECT_STREQ(req.name2, "new");
    EXPECT_EQ(((const struct fuse_rename_in *)req.arg)->newdir, 9);

    msg_valid(&m, FUSE_RENAME2);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_STREQ(req.name, "old");
    EXPECT_STREQ(req.name2, "new");
    EXPECT_EQ(((const struct fuse_rename2_in *)req.arg)->flags,
              RENAME_NOREPLACE);
}

static void rename_with_one_name_is_rejected(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_rename_in in = {.newdir = 9};

    msg_start(&m, FUSE_RENAME, 2);
    msg_put(&m, &in, sizeof(in));
    msg_str(&m, "old");
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);
    /* A failed decode leaves only the header. */
    EXPECT_TRUE(req.hdr != NULL);
    EXPECT_TRUE(req.arg == NULL && req.name == NULL && req.name2 == NULL);
}

static void create_mknod_mkdir_link_tmpfile_decode_struct_and_name(void)
{
    static const uint32_t ops[] = {FUSE_CREATE, FUSE_MKNOD, FUSE_MKDIR,
                                   FUSE_LINK, FUSE_TMPFILE};
    static const char *const names[] = {"new.txt", "fifo", "dir", "hardlink",
                                        "new.txt"};
    struct fuse_msg m;
    struct fsp_request req;

    for (size_t i = 0; i < 5; i++) {
        msg_valid(&m, ops[i]);
        EXPECT_EQ(decode(&m, &req), 0);
        EXPECT_STREQ(req.name, names[i]);
        EXPECT_TRUE(req.arg != NULL);
        EXPECT_TRUE((const char *)req.name == (const char *)req.arg + req.arg_size);
    }
}

static void write_data_follows_write_in(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_valid(&m, FUSE_WRITE);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_EQ(req.arg_size, sizeof(struct fuse_write_in));
    EXPECT_TRUE(req.data == (const char *)req.arg + sizeof(struct fuse_write_in));
    EXPECT_EQ(req.data_size, 16);
    EXPECT_TRUE(memcmp(req.data, "0123456789abcdef", 16) == 0);
}

static void write_data_longer_than_request_is_rejected(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_write_in in = {.fh = 1, .size = 17};

    msg_start(&m, FUSE_WRITE, 2);
    msg_put(&m, &in, sizeof(in));
    msg_put(&m, "0123456789abcdef", 16);
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);
    EXPECT_TRUE(req.data == NULL);
    EXPECT_EQ(req.data_size, 0);
}

static void write_with_huge_size_is_rejected(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_write_in in = {.fh = 1, .size = 0xffffffffu};

    msg_start(&m, FUSE_WRITE, 2);
    msg_put(&m, &in, sizeof(in));
    msg_put(&m, "abc", 3);
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);
}

static void write_of_zero_bytes_is_well_formed(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_write_in in = {.fh = 1, .size = 0};

    msg_start(&m, FUSE_WRITE, 2);
    msg_put(&m, &in, sizeof(in));
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_EQ(req.data_size, 0);
}

static void setxattr_uses_the_8_byte_header_then_name_then_value(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_valid(&m, FUSE_SETXATTR);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_EQ(req.arg_size, FUSE_COMPAT_SETXATTR_IN_SIZE);
    EXPECT_STREQ(req.name, "user.test");
    EXPECT_EQ(req.data_size, 5);
    EXPECT_TRUE(memcmp(req.data, "value", 5) == 0);
    EXPECT_EQ(((const struct fuse_setxattr_in *)req.arg)->flags, 1);
}

static void setxattr_value_larger_than_body_is_rejected(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_setxattr_in in = {.size = 6};

    msg_start(&m, FUSE_SETXATTR, 2);
    msg_put(&m, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
    msg_str(&m, "user.test");
    msg_put(&m, "value", 5);
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);
}

static void setxattr_uses_the_16_byte_header_once_setxattr_ext_is_on(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_setxattr_in in = {.size = 5, .flags = 2,
                                  .setxattr_flags =
                                      FUSE_SETXATTR_ACL_KILL_SGID};

    msg_start(&m, FUSE_SETXATTR, 2);
    msg_put(&m, &in, sizeof in);
    msg_str(&m, "system.posix_acl_access");
    msg_put(&m, "value", 5);
    msg_end(&m);
    ASSERT_EQ(fsp_op_decode(m.words, m.len, MINOR | FSP_PROTO_SETXATTR_EXT,
                            &req),
              0);
    EXPECT_EQ(req.arg_size, sizeof in);
    EXPECT_STREQ(req.name, "system.posix_acl_access");
    EXPECT_EQ(req.data_size, 5);
    EXPECT_EQ(((const struct fuse_setxattr_in *)req.arg)->setxattr_flags,
              FUSE_SETXATTR_ACL_KILL_SGID);
    /* Without the layout bit the same bytes are the 8-byte form, whose
     * name would start inside setxattr_flags. */
    ASSERT_EQ(decode(&m, &req), 0);
    EXPECT_EQ(req.arg_size, FUSE_COMPAT_SETXATTR_IN_SIZE);
}

static void getxattr_has_name_listxattr_has_none(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_valid(&m, FUSE_GETXATTR);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_STREQ(req.name, "user.test");
    EXPECT_EQ(((const struct fuse_getxattr_in *)req.arg)->size, 256);

    msg_valid(&m, FUSE_LISTXATTR);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_TRUE(req.name == NULL);
}

static void ioctl_input_must_fit_in_the_body(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_ioctl_in in = {.fh = 5, .in_size = 9};

    msg_valid(&m, FUSE_IOCTL);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_EQ(req.data_size, 8);

    msg_start(&m, FUSE_IOCTL, 2);
    msg_put(&m, &in, sizeof(in));
    msg_put(&m, "12345678", 8);
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);
}

static void notify_reply_data_must_fit_in_the_body(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_notify_retrieve_in in = {.size = 11};

    msg_valid(&m, FUSE_NOTIFY_REPLY);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_EQ(req.data_size, 10);

    msg_start(&m, FUSE_NOTIFY_REPLY, 2);
    msg_put(&m, &in, sizeof(in));
    msg_put(&m, "0123456789", 10);
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);
}

static void batch_forget_data_is_the_array_of_forget_one(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    const struct fuse_forget_one *one;

    msg_valid(&m, FUSE_BATCH_FORGET);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_EQ(req.data_size, 2 * sizeof(struct fuse_forget_one));
    one = req.data;
    EXPECT_EQ(one[0].nodeid, 5);
    EXPECT_EQ(one[1].nlookup, 2);
}

static void batch_forget_count_larger_than_body_is_rejected(void)
{
    static const uint32_t counts[] = {3, 0x10000000u, 0x80000000u,
                                      0xffffffffu};
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_forget_one one[2] = {{5, 1}, {6, 2}};

    for (size_t i = 0; i < 4; i++) {
        struct fuse_batch_forget_in in = {.count = counts[i]};

        msg_start(&m, FUSE_BATCH_FORGET, 0);
        msg_put(&m, &in, sizeof(in));
        msg_put(&m, one, sizeof(one));
        msg_end(&m);
        EXPECT_EQ(decode(&m, &req), -EPROTO);
    }
}

static void batch_forget_of_zero_nodes_is_well_formed(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_batch_forget_in in = {.count = 0};

    msg_start(&m, FUSE_BATCH_FORGET, 0);
    msg_put(&m, &in, sizeof(in));
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_EQ(req.data_size, 0);
}

/* ---- Malformed bodies ---------------------------------------------------- */

static void truncated_body_of_every_opcode_is_eproto(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    for (uint32_t op = 0; op < MSG_OPCODE_END; op++) {
        size_t full;

        if (!msg_valid(&m, op))
            continue;
        full = m.len;
        /* Every byte of these well-formed requests is required, so every
         * shorter request (with a matching len field) is malformed. INIT
         * alone may be short: pre-7.36 kernels send 16 bytes. */
        for (size_t len = sizeof(struct fuse_in_header); len < full; len++) {
            int expect = -EPROTO;
            int ret;

            if (op == FUSE_INIT &&
                len >= sizeof(struct fuse_in_header) + 16)
                expect = 0;
            MSG_HDR(&m)->len = (uint32_t)len;
            ret = fsp_op_decode(m.words, len, MINOR, &req);
            EXPECT_EQ(ret, expect);
            if (ret != expect)
                fprintf(stderr, "    opcode %u, %zu of %zu bytes\n", op,
                        len, full);
        }
    }
}

static void args_decoded_tells_a_decoded_request_from_a_failed_one(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    const size_t one_byte = sizeof(struct fuse_in_header) + 1;

    for (uint32_t op = 0; op < MSG_OPCODE_END; op++) {
        if (!msg_valid(&m, op))
            continue;
        EXPECT_EQ(decode(&m, &req), 0);
        EXPECT_TRUE(fsp_proto_args_decoded(fsp_op_shape(req.opcode), &req));
        if (m.len <= one_byte)
            continue; /* READLINK, STATFS, DESTROY: nothing to cut */
        MSG_HDR(&m)->len = (uint32_t)one_byte;
        EXPECT_EQ(fsp_op_decode(m.words, one_byte, MINOR, &req), -EPROTO);
        /* GETATTR may lack its argument (before 7.9): it cannot tell. */
        EXPECT_EQ(fsp_proto_args_decoded(fsp_op_shape(req.opcode), &req), op == FUSE_GETATTR);
    }

    msg_start(&m, 99, 1);
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -ENOSYS);
    EXPECT_TRUE(!fsp_proto_args_decoded(fsp_op_shape(req.opcode), &req));
    msg_start(&m, FUSE_SETUPMAPPING, 1);
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -ENOSYS);
    EXPECT_TRUE(!fsp_proto_args_decoded(fsp_op_shape(req.opcode), &req));
}

static void lookup_name_must_be_nul_terminated(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_start(&m, FUSE_LOOKUP, 1);
    msg_put(&m, "file.txt", 8); /* no NUL */
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);
    EXPECT_TRUE(req.name == NULL);
    EXPECT_TRUE(req.hdr != NULL); /* so the error can be replied */
}

static void names_missing_nul_are_rejected_for_every_named_opcode(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    for (uint32_t op = 0; op < MSG_OPCODE_END; op++) {
        size_t name_end;

        if (!msg_valid(&m, op) || decode(&m, &req) != 0 || !req.name)
            continue;
        /* Turn the last name's NUL into a letter and cut what follows. */
        if (req.name2)
            name_end = (size_t)(req.name2 - (const char *)m.words) +
                       strlen(req.name2);
        else
            name_end = (size_t)(req.name - (const char *)m.words) +
                       strlen(req.name);
        MSG_BYTES(&m)[name_end] = 'x';
        m.len = name_end + 1;
        msg_end(&m);
        EXPECT_EQ(decode(&m, &req), -EPROTO);
    }
}

static void empty_body_for_a_named_opcode_is_rejected(void)
{
    static const uint32_t ops[] = {FUSE_LOOKUP, FUSE_UNLINK, FUSE_RMDIR,
                                   FUSE_SYMLINK, FUSE_REMOVEXATTR};
    struct fuse_msg m;
    struct fsp_request req;

    for (size_t i = 0; i < 5; i++) {
        msg_start(&m, ops[i], 1);
        msg_end(&m);
        EXPECT_EQ(decode(&m, &req), -EPROTO);
    }
}

static void extensions_are_not_part_of_the_body(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_ext_header ext = {.size = 16, .type = FUSE_EXT_GROUPS};
    uint32_t groups[2] = {1, 100};

    /* A name whose NUL lies only in the extension area is not a name. */
    msg_start(&m, FUSE_LOOKUP, 1);
    msg_put(&m, "abcdefgh", 8);
    msg_put(&m, &ext, sizeof(ext));
    msg_put(&m, groups, sizeof(groups));
    MSG_HDR(&m)->total_extlen = 2;
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);

    /* With the name's NUL before it, the request is fine. */
    msg_start(&m, FUSE_LOOKUP, 1);
    msg_put(&m, "abcdefg", 8);
    msg_put(&m, &ext, sizeof(ext));
    msg_put(&m, groups, sizeof(groups));
    MSG_HDR(&m)->total_extlen = 2;
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_STREQ(req.name, "abcdefg");

    /* Extensions longer than the body. */
    MSG_HDR(&m)->total_extlen = 0xffff;
    EXPECT_EQ(decode(&m, &req), -EPROTO);
}

static void huge_sizes_never_pass(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_setxattr_in sx = {.size = 0xfffffff0u};
    struct fuse_ioctl_in io = {.in_size = 0x80000000u};

    msg_start(&m, FUSE_SETXATTR, 2);
    msg_put(&m, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE);
    msg_str(&m, "user.x");
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);

    msg_start(&m, FUSE_IOCTL, 2);
    msg_put(&m, &io, sizeof(io));
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);
}

/* ---- Older protocol minors ---------------------------------------------- */

static void init_accepts_the_short_pre_7_36_body(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_init_in in = {.major = 7, .minor = 31, .flags = 0x1};

    msg_start(&m, FUSE_INIT, 0);
    msg_put(&m, &in, 16);
    msg_end(&m);
    EXPECT_EQ(fsp_op_decode(m.words, m.len, 0, &req), 0);
    EXPECT_EQ(req.arg_size, 16);
}

static void init_shorter_than_16_bytes_is_rejected(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_init_in in = {.major = 7, .minor = 31};

    msg_start(&m, FUSE_INIT, 0);
    msg_put(&m, &in, 12);
    msg_end(&m);
    EXPECT_EQ(fsp_op_decode(m.words, m.len, 0, &req), -EPROTO);
}

static void init_longer_than_we_know_is_capped(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_init_in in = {.major = 7, .minor = 99};
    char more[32] = {0};

    msg_start(&m, FUSE_INIT, 0);
    msg_put(&m, &in, sizeof(in));
    msg_put(&m, more, sizeof(more));
    msg_end(&m);
    EXPECT_EQ(fsp_op_decode(m.words, m.len, 0, &req), 0);
    EXPECT_EQ(req.arg_size, sizeof(struct fuse_init_in));
}

static void getattr_before_7_9_has_no_body(void)
{
    struct fuse_msg m;
    struct fsp_request req;

    msg_start(&m, FUSE_GETATTR, 1);
    msg_end(&m);
    EXPECT_EQ(fsp_op_decode(m.words, m.len, 8, &req), 0);
    EXPECT_TRUE(req.arg == NULL);
    EXPECT_EQ(req.arg_size, 0);
    /* From 7.9 on the same request is truncated. */
    EXPECT_EQ(fsp_op_decode(m.words, m.len, 9, &req), -EPROTO);
}

static void read_and_write_before_7_9_use_24_byte_structs(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_write_in w = {.fh = 1, .offset = 0, .size = 4};

    msg_start(&m, FUSE_WRITE, 2);
    msg_put(&m, &w, FUSE_COMPAT_WRITE_IN_SIZE);
    msg_put(&m, "data", 4);
    msg_end(&m);
    EXPECT_EQ(fsp_op_decode(m.words, m.len, 8, &req), 0);
    EXPECT_EQ(req.arg_size, FUSE_COMPAT_WRITE_IN_SIZE);
    EXPECT_EQ(req.data_size, 4);
    EXPECT_TRUE(memcmp(req.data, "data", 4) == 0);

    msg_start(&m, FUSE_READ, 2);
    msg_put(&m, &w, 24);
    msg_end(&m);
    EXPECT_EQ(fsp_op_decode(m.words, m.len, 8, &req), 0);
    EXPECT_EQ(req.arg_size, 24);
}

static void mknod_and_create_before_7_12_use_8_byte_structs(void)
{
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_mknod_in mk = {.mode = 010644};

    msg_start(&m, FUSE_MKNOD, 1);
    msg_put(&m, &mk, FUSE_COMPAT_MKNOD_IN_SIZE);
    msg_str(&m, "fifo");
    msg_end(&m);
    EXPECT_EQ(fsp_op_decode(m.words, m.len, 11, &req), 0);
    EXPECT_EQ(req.arg_size, 8);
    EXPECT_STREQ(req.name, "fifo");

    msg_start(&m, FUSE_CREATE, 1);
    msg_put(&m, &mk, 8);
    msg_str(&m, "file");
    msg_end(&m);
    EXPECT_EQ(fsp_op_decode(m.words, m.len, 11, &req), 0);
    EXPECT_STREQ(req.name, "file");
}

/* ---- Replies and names --------------------------------------------------- */

static void forget_batch_forget_interrupt_and_notify_reply_get_no_reply(void)
{
    EXPECT_TRUE(!fsp_op_has_reply(FUSE_FORGET));
    EXPECT_TRUE(!fsp_op_has_reply(FUSE_BATCH_FORGET));
    EXPECT_TRUE(!fsp_op_has_reply(FUSE_INTERRUPT));
    EXPECT_TRUE(!fsp_op_has_reply(FUSE_NOTIFY_REPLY));
    for (uint32_t op = 0; op < MSG_OPCODE_END + 8; op++) {
        if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET ||
            op == FUSE_INTERRUPT || op == FUSE_NOTIFY_REPLY)
            continue;
        EXPECT_TRUE(fsp_op_has_reply(op));
    }
}

static void opcode_names_match_the_kernel_enum(void)
{
    EXPECT_STREQ(fsp_op_name(FUSE_LOOKUP), "LOOKUP");
    EXPECT_STREQ(fsp_op_name(FUSE_BATCH_FORGET), "BATCH_FORGET");
    EXPECT_STREQ(fsp_op_name(FUSE_STATX), "STATX");
    EXPECT_STREQ(fsp_op_name(FUSE_COPY_FILE_RANGE_64),
                 "COPY_FILE_RANGE_64");
    EXPECT_STREQ(fsp_op_name(CUSE_INIT), "CUSE_INIT");
    EXPECT_TRUE(fsp_op_name(0) == NULL);
    EXPECT_TRUE(fsp_op_name(7) == NULL);
    EXPECT_TRUE(fsp_op_name(19) == NULL);
    EXPECT_TRUE(fsp_op_name(54) == NULL);
    EXPECT_TRUE(fsp_op_name(0xffffffffu) == NULL);
}

/* ---- INIT negotiation ---------------------------------------------------- */

static struct fsp_init_config default_config(void)
{
    struct fsp_init_config cfg = {
        .max_write = 1 << 20,
        .max_readahead = 1 << 20,
        .max_background = 64,
        .congestion_threshold = 48,
        .time_gran = 1,
    };
    return cfg;
}

/* What a 6.18 kernel offers (bits 0..42, minus the reserved one). */
static struct fuse_init_in kernel_7_45(void)
{
    struct fuse_init_in in = {
        .major = 7,
        .minor = 45,
        .max_readahead = 131072,
        .flags = 0x7fffffffu & ~FUSE_FILE_OPS,
        .flags2 = (uint32_t)((FUSE_SECURITY_CTX | FUSE_HAS_INODE_DAX |
                              FUSE_CREATE_SUPP_GROUP | FUSE_HAS_EXPIRE_ONLY |
                              FUSE_DIRECT_IO_ALLOW_MMAP | FUSE_PASSTHROUGH |
                              FUSE_NO_EXPORT_SUPPORT | FUSE_HAS_RESEND |
                              FUSE_ALLOW_IDMAP | FUSE_OVER_IO_URING |
                              FUSE_REQUEST_TIMEOUT) >>
                             32),
    };
    return in;
}

static void init_from_7_45_kernel_negotiates_passthrough_only_when_asked(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    EXPECT_EQ(fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags),
              0);
    EXPECT_TRUE(!(flags & FUSE_PASSTHROUGH));
    EXPECT_EQ(out.max_stack_depth, 0);

    cfg.passthrough = true;
    EXPECT_EQ(fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags),
              0);
    EXPECT_TRUE(flags & FUSE_PASSTHROUGH);
    EXPECT_TRUE(out.flags & FUSE_INIT_EXT);
    EXPECT_TRUE(out.flags2 & (uint32_t)(FUSE_PASSTHROUGH >> 32));
    EXPECT_EQ(out.max_stack_depth, 1); /* 0 in cfg means the minimum */
    EXPECT_EQ(out.major, 7);
    EXPECT_EQ(out.minor, 45);
}

static void passthrough_needs_the_kernels_offer(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    cfg.passthrough = true;
    in.flags2 &= ~(uint32_t)(FUSE_PASSTHROUGH >> 32);
    EXPECT_EQ(fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags),
              0);
    EXPECT_TRUE(!(flags & FUSE_PASSTHROUGH));
    EXPECT_EQ(out.max_stack_depth, 0);
}

static void passthrough_gives_way_to_the_writeback_cache(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    cfg.passthrough = true;
    cfg.writeback_cache = true;
    EXPECT_EQ(fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags),
              0);
    EXPECT_TRUE(flags & FUSE_WRITEBACK_CACHE);
    EXPECT_TRUE(!(flags & FUSE_PASSTHROUGH));
    EXPECT_TRUE(!(out.flags2 & (uint32_t)(FUSE_PASSTHROUGH >> 32)));
}

static void passthrough_stack_depth_is_kept_within_the_kernels_limit(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    cfg.passthrough = true;
    cfg.max_stack_depth = 2;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_EQ(out.max_stack_depth, 2);
    cfg.max_stack_depth = 5;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_EQ(out.max_stack_depth, 2);
}

static void init_from_old_7_31_kernel_without_flags2(void)
{
    struct fuse_init_in in = {
        .major = 7, .minor = 31, .max_readahead = 131072,
        .flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES |
                 FUSE_WRITEBACK_CACHE | FUSE_DO_READDIRPLUS,
        .flags2 = 0xffffffffu, /* garbage beyond the 16 bytes sent */
    };
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    cfg.passthrough = true;
    cfg.over_io_uring = true;
    EXPECT_EQ(fsp_proto_negotiate_init(&in, 16, &cfg, &out, &flags), 0);
    EXPECT_EQ(out.minor, 31);
    EXPECT_EQ(flags >> 32, 0);
    EXPECT_EQ(out.flags2, 0);
    EXPECT_TRUE(!(out.flags & FUSE_INIT_EXT));
    EXPECT_TRUE(flags & FUSE_ASYNC_READ);
    EXPECT_TRUE(flags & FUSE_MAX_PAGES);
    EXPECT_TRUE(!(flags & FUSE_WRITEBACK_CACHE)); /* not asked for */
    EXPECT_TRUE(!(flags & FUSE_DO_READDIRPLUS));  /* not asked for */
}

static void init_flags2_counts_only_with_init_ext(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    cfg.over_io_uring = true;
    in.flags &= ~FUSE_INIT_EXT;
    EXPECT_EQ(fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags),
              0);
    EXPECT_EQ(flags >> 32, 0);
    EXPECT_EQ(out.flags2, 0);
    EXPECT_TRUE(!(out.flags & FUSE_INIT_EXT));
}

static void io_uring_is_negotiated_only_when_offered_and_asked(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(!(flags & FUSE_OVER_IO_URING));
    cfg.over_io_uring = true;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(flags & FUSE_OVER_IO_URING);
    /* enable_uring=N: the kernel does not offer it. */
    in.flags2 &= ~(uint32_t)(FUSE_OVER_IO_URING >> 32);
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(!(flags & FUSE_OVER_IO_URING));
}

static void request_timeout_is_sent_only_when_asked_and_offered(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(!(flags & FUSE_REQUEST_TIMEOUT));
    EXPECT_EQ(out.request_timeout, 0);
    cfg.request_timeout_s = 30;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(flags & FUSE_REQUEST_TIMEOUT);
    EXPECT_TRUE(out.flags2 & (uint32_t)(FUSE_REQUEST_TIMEOUT >> 32));
    EXPECT_EQ(out.request_timeout, 30);
    /* A kernel before 7.43 does not offer it: the field stays 0. */
    in.flags2 &= ~(uint32_t)(FUSE_REQUEST_TIMEOUT >> 32);
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(!(flags & FUSE_REQUEST_TIMEOUT));
    EXPECT_EQ(out.request_timeout, 0);
}

static void allow_idmap_is_asked_only_with_default_permissions(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(!(flags & FUSE_ALLOW_IDMAP));
    cfg.allow_idmap = true;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(flags & FUSE_ALLOW_IDMAP);
    EXPECT_TRUE(flags & FUSE_NO_EXPORT_SUPPORT);
}

/* per_file_context: without OPEN, an O_TRUNC the kernel believed done by
 * the open would be lost, so ATOMIC_O_TRUNC is left off when asked. */
static void init_leaves_atomic_o_trunc_off_when_asked(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(flags & FUSE_ATOMIC_O_TRUNC);
    cfg.no_atomic_o_trunc = true;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(!(flags & FUSE_ATOMIC_O_TRUNC));
    EXPECT_TRUE(!(out.flags & FUSE_ATOMIC_O_TRUNC));
    EXPECT_TRUE(flags & FUSE_ASYNC_READ); /* the rest is untouched */
}

static void init_asks_for_posix_acl_with_dont_mask_and_setxattr_ext(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    const uint64_t acl = FUSE_POSIX_ACL | FUSE_DONT_MASK | FUSE_SETXATTR_EXT;
    struct fuse_init_out out;
    uint64_t flags;

    cfg.posix_acl = true;
    EXPECT_EQ(fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags),
              0);
    EXPECT_EQ(flags & acl, acl);
    /* A kernel without POSIX_ACL must go on applying the umask itself. */
    in.flags &= ~(uint32_t)FUSE_POSIX_ACL;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_EQ(flags & (FUSE_POSIX_ACL | FUSE_DONT_MASK), 0);
}

static void init_asks_for_the_basics_and_never_for_unwanted_flags(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;
    const uint64_t basics = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC |
                            FUSE_BIG_WRITES | FUSE_AUTO_INVAL_DATA |
                            FUSE_MAX_PAGES | FUSE_INIT_EXT;
    /* FUSE_ASYNC_DIO: buffered reads after an asynchronous direct write
     * could see stale pages (xfstests generic/451). */
    const uint64_t never = FUSE_ASYNC_DIO | FUSE_DONT_MASK | FUSE_SPLICE_WRITE |
                           FUSE_SPLICE_MOVE | FUSE_SPLICE_READ |
                           FUSE_EXPORT_SUPPORT | FUSE_HANDLE_KILLPRIV |
                           FUSE_HANDLE_KILLPRIV_V2 | FUSE_SETXATTR_EXT |
                           FUSE_SECURITY_CTX | FUSE_CREATE_SUPP_GROUP |
                           FUSE_ABORT_ERROR | FUSE_EXPLICIT_INVAL_DATA |
                           FUSE_POSIX_ACL | FUSE_INIT_RESERVED |
                           FUSE_ALLOW_IDMAP | FUSE_REQUEST_TIMEOUT |
                           FUSE_HAS_INODE_DAX | FUSE_SUBMOUNTS;

    /* Everything the volume can ask for, asked. */
    cfg.writeback_cache = cfg.readdirplus = cfg.posix_locks = true;
    cfg.flock_locks = cfg.no_open_support = cfg.no_opendir_support = true;
    cfg.cache_symlinks = cfg.parallel_dirops = true;
    cfg.passthrough = cfg.over_io_uring = true;
    EXPECT_EQ(fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags),
              0);
    EXPECT_EQ(flags & basics, basics);
    EXPECT_EQ(flags & never, 0);
    EXPECT_TRUE(flags & FUSE_DO_READDIRPLUS && flags & FUSE_READDIRPLUS_AUTO);
    EXPECT_TRUE(flags & FUSE_POSIX_LOCKS && flags & FUSE_FLOCK_LOCKS);
    EXPECT_TRUE(flags & FUSE_PARALLEL_DIROPS && flags & FUSE_CACHE_SYMLINKS);
    EXPECT_TRUE(flags & FUSE_NO_OPEN_SUPPORT && flags & FUSE_NO_OPENDIR_SUPPORT);
    EXPECT_EQ(out.flags, (uint32_t)flags);
    EXPECT_EQ(out.flags2, (uint32_t)(flags >> 32));

    /* And nothing of what was not asked for. */
    cfg = default_config();
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_EQ(flags & (FUSE_WRITEBACK_CACHE | FUSE_DO_READDIRPLUS |
                       FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS |
                       FUSE_PARALLEL_DIROPS | FUSE_CACHE_SYMLINKS),
              0);
}

static void init_never_takes_more_than_the_kernel_offers(void)
{
    struct fsp_init_config cfg = default_config();
    uint64_t seed = 0x9e3779b97f4a7c15ull;

    cfg.writeback_cache = cfg.readdirplus = cfg.posix_locks = true;
    cfg.flock_locks = cfg.cache_symlinks = cfg.parallel_dirops = true;
    cfg.passthrough = cfg.over_io_uring = true;
    for (int i = 0; i < 1000; i++) {
        struct fuse_init_in in = {.major = 7, .minor = 45};
        struct fuse_init_out out;
        uint64_t flags, offered;

        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        in.flags = (uint32_t)seed;
        in.flags2 = (uint32_t)(seed >> 32);
        offered = in.flags;
        if (in.flags & FUSE_INIT_EXT)
            offered |= (uint64_t)in.flags2 << 32;
        fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
        EXPECT_EQ(flags & ~offered, 0);
        EXPECT_EQ(((uint64_t)out.flags2 << 32 | out.flags), flags);
    }
}

static void init_minor_is_the_smaller_of_both(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    in.minor = 99;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_EQ(out.minor, FUSE_KERNEL_MINOR_VERSION);
    in.minor = 40;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_EQ(out.minor, 40);
}

static void init_with_another_major_version_is_eproto_and_says_7(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags = 123;

    in.major = 8;
    EXPECT_EQ(fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags),
              -EPROTO);
    EXPECT_EQ(out.major, 7);
    EXPECT_EQ(out.minor, FUSE_KERNEL_MINOR_VERSION);
    EXPECT_EQ(flags, 0);
    in.major = 6;
    EXPECT_EQ(fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags),
              -EPROTO);
    EXPECT_EQ(fsp_proto_negotiate_init(&in, 8, &cfg, &out, &flags), -EPROTO);
}

static void init_max_pages_follows_max_write(void)
{
    static const struct {
        uint32_t max_write, expect_write;
        uint16_t expect_pages;
    } cases[] = {
        {1 << 20, 1 << 20, 256}, {128 << 10, 128 << 10, 32},
        {4097, 4097, 2},         {0, 1 << 20, 256}, /* 0: the maximum */
        {1, 4096, 1},            {16 << 20, 1 << 20, 256},
    };
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cfg.max_write = cases[i].max_write;
        fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
        EXPECT_EQ(out.max_write, cases[i].expect_write);
        EXPECT_EQ(out.max_pages, cases[i].expect_pages);
    }
}

static void without_max_pages_writes_stay_within_32_pages(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    in.flags &= ~FUSE_MAX_PAGES;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_TRUE(!(flags & FUSE_MAX_PAGES));
    EXPECT_EQ(out.max_write, 32 * 4096);
    EXPECT_EQ(out.max_pages, 0);
}

static void init_copies_limits_and_time_granularity(void)
{
    struct fuse_init_in in = kernel_7_45();
    struct fsp_init_config cfg = default_config();
    struct fuse_init_out out;
    uint64_t flags;

    cfg.max_readahead = 65536; /* smaller than the kernel's 131072 */
    cfg.time_gran = 0;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_EQ(out.max_readahead, 65536);
    EXPECT_EQ(out.time_gran, 1);
    EXPECT_EQ(out.max_background, 64);
    EXPECT_EQ(out.congestion_threshold, 48);

    cfg.max_readahead = 1 << 20; /* larger: the kernel's stays */
    cfg.time_gran = 1000000000;
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_EQ(out.max_readahead, 131072);
    EXPECT_EQ(out.time_gran, 1000000000);

    cfg.max_readahead = 0; /* 0: whatever the kernel says */
    fsp_proto_negotiate_init(&in, sizeof(in), &cfg, &out, &flags);
    EXPECT_EQ(out.max_readahead, 131072);
}

/* ---- Attributes and timeouts -------------------------------------------- */

static void timeouts_convert_milliseconds(void)
{
    uint64_t sec;
    uint32_t nsec;

    fsp_proto_timeout(0, &sec, &nsec);
    EXPECT_TRUE(sec == 0 && nsec == 0);
    fsp_proto_timeout(1500, &sec, &nsec);
    EXPECT_EQ(sec, 1);
    EXPECT_EQ(nsec, 500000000);
    fsp_proto_timeout(999, &sec, &nsec);
    EXPECT_EQ(sec, 0);
    EXPECT_EQ(nsec, 999000000);
    fsp_proto_timeout(INT64_MAX, &sec, &nsec);
    EXPECT_EQ(sec, INT64_MAX / 1000);
    EXPECT_TRUE(nsec < 1000000000);
}

static void infinite_timeout_is_long_but_safe_for_the_kernel(void)
{
    uint64_t sec;
    uint32_t nsec;

    fsp_proto_timeout(FSP_TIMEOUT_INFINITE, &sec, &nsec);
    EXPECT_TRUE(sec >= 100ull * 365 * 24 * 3600); /* a century at least */
    EXPECT_TRUE(sec <= INT64_MAX);                /* read as signed */
    EXPECT_EQ(nsec, 0);
    fsp_proto_timeout(-12345, &sec, &nsec);
    EXPECT_TRUE(sec >= 100ull * 365 * 24 * 3600);
}

static void attr_blocks_round_up_to_512_byte_units(void)
{
    static const uint64_t sizes[][2] = {
        {0, 0}, {1, 1}, {511, 1}, {512, 1}, {513, 2}, {4096, 8},
        {UINT64_MAX, UINT64_MAX / 512 + 1},
    };
    fsp_file_info_t info;
    struct fuse_attr attr;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        memset(&info, 0, sizeof(info));
        info.allocation_size = sizes[i][0];
        fsp_proto_fill_attr(&attr, &info, 2);
        EXPECT_EQ(attr.blocks, sizes[i][1]);
    }
}

static void attr_takes_every_field_of_file_info(void)
{
    fsp_file_info_t info;
    struct fuse_attr attr;

    memset(&info, 0, sizeof(info));
    memset(&attr, 0xaa, sizeof(attr));
    info.index_number = 77;
    info.size = 12345;
    info.mode = S_IFREG | 0640;
    info.nlink = 3;
    info.uid = 1000;
    info.gid = 100;
    info.rdev = 0x0801;
    info.atime = (struct timespec){10, 1};
    info.mtime = (struct timespec){20, 2};
    info.ctime = (struct timespec){-30, 999999999};
    fsp_proto_fill_attr(&attr, &info, 5);
    EXPECT_EQ(attr.ino, 77);
    EXPECT_EQ(attr.size, 12345);
    EXPECT_EQ(attr.mode, S_IFREG | 0640);
    EXPECT_EQ(attr.nlink, 3);
    EXPECT_EQ(attr.uid, 1000);
    EXPECT_EQ(attr.gid, 100);
    EXPECT_EQ(attr.rdev, 0x0801);
    EXPECT_EQ(attr.atime, 10);
    EXPECT_EQ(attr.atimensec, 1);
    EXPECT_EQ(attr.mtime, 20);
    EXPECT_EQ(attr.mtimensec, 2);
    EXPECT_EQ((int64_t)attr.ctime, -30); /* before 1970 */
    EXPECT_EQ(attr.ctimensec, 999999999);
    EXPECT_EQ(attr.blksize, 4096);
    EXPECT_EQ(attr.flags, 0);
}

static void attr_ino_falls_back_to_nodeid_and_nlink_0_stays_0(void)
{
    fsp_file_info_t info;
    struct fuse_attr attr;

    memset(&info, 0, sizeof(info));
    info.mode = S_IFDIR | 0755;
    fsp_proto_fill_attr(&attr, &info, 42);
    EXPECT_EQ(attr.ino, 42);
    EXPECT_EQ(attr.nlink, 0); /* an unlinked open file */
}

static void attr_nanoseconds_stay_below_one_second(void)
{
    fsp_file_info_t info;
    struct fuse_attr attr;

    memset(&info, 0, sizeof(info));
    info.mtime.tv_nsec = 1500000000;
    info.atime.tv_nsec = -1;
    fsp_proto_fill_attr(&attr, &info, 2);
    EXPECT_EQ(attr.mtimensec, 999999999);
    EXPECT_EQ(attr.atimensec, 0);
}

/* ---- Directory entries --------------------------------------------------- */

static void dirents_are_8_byte_aligned_with_zeroed_padding(void)
{
    static const char *const names[] = {"a", "abcdefg", "abcdefgh",
                                        "abcdefghi", "x.txt", ""};
    static const uint32_t modes[] = {S_IFREG, S_IFDIR, S_IFLNK,
                                     S_IFIFO, S_IFSOCK, S_IFCHR};
    static const uint32_t types[] = {DT_REG, DT_DIR, DT_LNK,
                                     DT_FIFO, DT_SOCK, DT_CHR};
    unsigned char buf[1024];
    size_t used = 0, at = 0;

    memset(buf, 0xaa, sizeof(buf));
    for (size_t i = 0; i < 6; i++) {
        size_t next = fsp_proto_add_dirent(buf, sizeof(buf), used, names[i],
                                           100 + i, modes[i] | 0644, i + 1);
        EXPECT_TRUE(next > used);
        EXPECT_EQ(next % 8, 0);
        EXPECT_EQ(next - used, FUSE_DIRENT_SIZE_FOR(strlen(names[i])));
        used = next;
    }
    /* Read them back the way the kernel does. */
    for (size_t i = 0; i < 6; i++) {
        struct fuse_dirent d;
        size_t namelen, rec;

        memcpy(&d, buf + at, sizeof(d));
        namelen = strlen(names[i]);
        EXPECT_EQ(d.ino, 100 + i);
        EXPECT_EQ(d.off, i + 1);
        EXPECT_EQ(d.namelen, namelen);
        EXPECT_EQ(d.type, types[i]);
        EXPECT_TRUE(memcmp(buf + at + FUSE_NAME_OFFSET, names[i], namelen) == 0);
        rec = FUSE_DIRENT_SIZE(&d);
        for (size_t j = FUSE_NAME_OFFSET + namelen; j < rec; j++)
            EXPECT_EQ(buf[at + j], 0);
        at += rec;
    }
    EXPECT_EQ(at, used);
    EXPECT_EQ(buf[used], 0xaa); /* nothing written past the end */
}

static void dirent_that_does_not_fit_returns_0(void)
{
    unsigned char buf[64];
    size_t exact = FUSE_DIRENT_SIZE_FOR(5);

    memset(buf, 0xaa, sizeof(buf));
    EXPECT_EQ(fsp_proto_add_dirent(buf, exact - 1, 0, "hello", 1, S_IFREG, 1),
              0);
    EXPECT_EQ(buf[0], 0xaa); /* untouched */
    EXPECT_EQ(fsp_proto_add_dirent(buf, exact, 0, "hello", 1, S_IFREG, 1),
              exact);
    EXPECT_EQ(fsp_proto_add_dirent(buf, exact, exact, "a", 1, S_IFREG, 2), 0);
    EXPECT_EQ(fsp_proto_add_dirent(buf, 8, 16, "a", 1, S_IFREG, 2), 0);
    EXPECT_EQ(fsp_proto_add_dirent(buf, 0, 0, "a", 1, S_IFREG, 2), 0);
}

static void direntplus_carries_the_entry_and_its_attributes(void)
{
    unsigned char buf[512];
    struct fuse_entry_out e;
    struct fuse_direntplus d;
    size_t used;

    memset(buf, 0xaa, sizeof(buf));
    memset(&e, 0, sizeof(e));
    e.nodeid = 9;
    e.generation = 1;
    e.entry_valid = 1;
    e.attr.ino = 1234;
    e.attr.mode = S_IFDIR | 0755;
    used = fsp_proto_add_direntplus(buf, sizeof(buf), 0, "subdir", &e, 7);
    EXPECT_EQ(used, FUSE_DIRENTPLUS_SIZE_FOR(6));
    EXPECT_EQ(used % 8, 0);
    memcpy(&d, buf, sizeof(d));
    EXPECT_EQ(d.entry_out.nodeid, 9);
    EXPECT_EQ(d.entry_out.attr.ino, 1234);
    EXPECT_EQ(d.dirent.ino, 1234);
    EXPECT_EQ(d.dirent.off, 7);
    EXPECT_EQ(d.dirent.namelen, 6);
    EXPECT_EQ(d.dirent.type, DT_DIR);
    EXPECT_TRUE(memcmp(buf + FUSE_NAME_OFFSET_DIRENTPLUS, "subdir", 6) == 0);
    for (size_t j = FUSE_NAME_OFFSET_DIRENTPLUS + 6; j < used; j++)
        EXPECT_EQ(buf[j], 0);
    EXPECT_EQ(fsp_proto_add_direntplus(buf, used - 1, 0, "subdir", &e, 7), 0);
    EXPECT_EQ(fsp_proto_add_direntplus(buf, sizeof(buf), 500, "subdir", &e, 8),
              0);
}

static void dirents_may_start_at_unaligned_buffers(void)
{
    unsigned char buf[256];
    struct fuse_entry_out e;

    memset(&e, 0, sizeof(e));
    EXPECT_EQ(fsp_proto_add_dirent(buf + 1, 200, 0, "x", 1, S_IFREG, 1), 32);
    EXPECT_EQ(fsp_proto_add_direntplus(buf + 3, 200, 0, "x", &e, 1), 160);
}

/* ---- The debug log's arguments ------------------------------------------ */

static const char *args_of(uint32_t op, char *buf, size_t size)
{
    static struct fuse_msg m;
    struct fsp_request req;

    msg_valid(&m, op);
    fsp_op_decode(m.words, m.len, MINOR, &req);
    return fsp_op_describe(&req, buf, size);
}

static void format_args_shows_open_flags_symbolically(void)
{
    char buf[256];
    struct fuse_msg m;
    struct fsp_request req;
    struct fuse_open_in in = {.flags = O_RDWR | O_APPEND | O_NOFOLLOW};

    EXPECT_STREQ(args_of(FUSE_OPEN, buf, sizeof(buf)), "flags=O_RDWR");
    EXPECT_STREQ(args_of(FUSE_CREATE, buf, sizeof(buf)),
                 "name=\"new.txt\" flags=O_WRONLY|O_CREAT mode=0100644 "
                 "umask=022");

    msg_start(&m, FUSE_OPEN, 2);
    msg_put(&m, &in, sizeof(in));
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_STREQ(fsp_op_describe(&req, buf, sizeof(buf)),
                 "flags=O_RDWR|O_APPEND|O_NOFOLLOW");

    ((struct fuse_open_in *)(MSG_BYTES(&m) + 40))->flags =
        O_RDONLY | O_SYNC | 0x40000000;
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_STREQ(fsp_op_describe(&req, buf, sizeof(buf)),
                 "flags=O_RDONLY|O_SYNC|0x40000000");
}

static void format_args_lists_setattr_valid_bits_by_name(void)
{
    char buf[256];

    EXPECT_STREQ(args_of(FUSE_SETATTR, buf, sizeof(buf)),
                 "valid=MODE|SIZE mode=0100644 size=4096");
}

static void format_args_of_common_requests(void)
{
    char buf[512];

    EXPECT_STREQ(args_of(FUSE_LOOKUP, buf, sizeof(buf)), "name=\"file.txt\"");
    EXPECT_STREQ(args_of(FUSE_SYMLINK, buf, sizeof(buf)),
                 "name=\"link\" target=\"../target\"");
    EXPECT_STREQ(args_of(FUSE_RENAME2, buf, sizeof(buf)),
                 "name=\"old\" newdir=9 newname=\"new\" flags=NOREPLACE");
    EXPECT_STREQ(args_of(FUSE_READ, buf, sizeof(buf)),
                 "fh=5 off=4096 size=65536");
    EXPECT_STREQ(args_of(FUSE_WRITE, buf, sizeof(buf)),
                 "fh=5 off=100 size=16 flags=O_RDONLY");
    EXPECT_STREQ(args_of(FUSE_MKDIR, buf, sizeof(buf)),
                 "name=\"dir\" mode=0755 umask=022");
    EXPECT_STREQ(args_of(FUSE_SETXATTR, buf, sizeof(buf)),
                 "name=\"user.test\" size=5 flags=XATTR_CREATE");
    EXPECT_STREQ(args_of(FUSE_RELEASE, buf, sizeof(buf)),
                 "fh=5 flags=O_RDONLY release_flags=FLUSH");
    EXPECT_STREQ(args_of(FUSE_ACCESS, buf, sizeof(buf)), "mask=R_OK");
    EXPECT_STREQ(args_of(FUSE_LSEEK, buf, sizeof(buf)),
                 "fh=5 off=0 whence=SEEK_DATA");
    EXPECT_STREQ(args_of(FUSE_BATCH_FORGET, buf, sizeof(buf)), "count=2");
    EXPECT_STREQ(args_of(FUSE_STATFS, buf, sizeof(buf)), "");
    EXPECT_STREQ(args_of(FUSE_INIT, buf, sizeof(buf)),
                 "version=7.45 max_readahead=131072 "
                 "flags=ASYNC_READ|MAX_PAGES|INIT_EXT|PASSTHROUGH");
}

static void format_args_escapes_unprintable_names(void)
{
    char buf[256];
    struct fuse_msg m;
    struct fsp_request req;

    msg_start(&m, FUSE_LOOKUP, 1);
    msg_str(&m, "a\"b\\c\n\xff");
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), 0);
    EXPECT_STREQ(fsp_op_describe(&req, buf, sizeof(buf)),
                 "name=\"a\\\"b\\\\c\\x0a\\xff\"");
}

static void format_args_of_failed_and_unknown_requests(void)
{
    char buf[128];
    struct fuse_msg m;
    struct fsp_request req;

    msg_start(&m, FUSE_LOOKUP, 1);
    msg_put(&m, "abc", 3);
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);
    EXPECT_STREQ(fsp_op_describe(&req, buf, sizeof(buf)), "(undecoded)");

    msg_start(&m, 99, 1);
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -ENOSYS);
    EXPECT_STREQ(fsp_op_describe(&req, buf, sizeof(buf)), "len=40");

    memset(&req, 0, sizeof(req));
    EXPECT_STREQ(fsp_op_describe(&req, buf, sizeof(buf)), "");
    EXPECT_STREQ(fsp_op_describe(NULL, buf, sizeof(buf)), "");
}

/* Every opcode as msg_valid() builds it: the whole text of each. */
static void format_args_of_every_opcode_as_the_kernel_sends_it(void)
{
    static const struct {
        uint32_t opcode;
        const char *text;
    } rows[] = {
        {FUSE_LOOKUP, "name=\"file.txt\""},
        {FUSE_FORGET, "nlookup=3"},
        {FUSE_GETATTR, "flags=FH fh=7"},
        {FUSE_SETATTR, "valid=MODE|SIZE mode=0100644 size=4096"},
        {FUSE_READLINK, ""},
        {FUSE_SYMLINK, "name=\"link\" target=\"../target\""},
        {FUSE_MKNOD, "name=\"fifo\" mode=010644 rdev=0 umask=022"},
        {FUSE_MKDIR, "name=\"dir\" mode=0755 umask=022"},
        {FUSE_UNLINK, "name=\"file.txt\""},
        {FUSE_RMDIR, "name=\"file.txt\""},
        {FUSE_RENAME, "name=\"old\" newdir=9 newname=\"new\""},
        {FUSE_LINK, "oldnodeid=11 newname=\"hardlink\""},
        {FUSE_OPEN, "flags=O_RDWR"},
        {FUSE_READ, "fh=5 off=4096 size=65536"},
        {FUSE_WRITE, "fh=5 off=100 size=16 flags=O_RDONLY"},
        {FUSE_STATFS, ""},
        {FUSE_RELEASE, "fh=5 flags=O_RDONLY release_flags=FLUSH"},
        {FUSE_FSYNC, "fh=5 fsync_flags=FDATASYNC"},
        {FUSE_SETXATTR, "name=\"user.test\" size=5 flags=XATTR_CREATE"},
        {FUSE_GETXATTR, "name=\"user.test\" size=256"},
        {FUSE_LISTXATTR, "size=0"},
        {FUSE_REMOVEXATTR, "name=\"file.txt\""},
        {FUSE_FLUSH, "fh=5 lock_owner=0xabc"},
        {FUSE_INIT, "version=7.45 max_readahead=131072 "
                    "flags=ASYNC_READ|MAX_PAGES|INIT_EXT|PASSTHROUGH"},
        {FUSE_OPENDIR, "flags=O_RDWR"},
        {FUSE_READDIR, "fh=5 off=4096 size=65536"},
        {FUSE_RELEASEDIR, "fh=5 flags=O_RDONLY release_flags=FLUSH"},
        {FUSE_FSYNCDIR, "fh=5 fsync_flags=FDATASYNC"},
        {FUSE_GETLK, "fh=5 owner=0x99 type=F_WRLCK start=0 end=99 pid=4242"},
        {FUSE_SETLK, "fh=5 owner=0x99 type=F_WRLCK start=0 end=99 pid=4242"},
        {FUSE_SETLKW,
         "fh=5 owner=0x99 type=F_WRLCK start=0 end=99 pid=4242"},
        {FUSE_ACCESS, "mask=R_OK"},
        {FUSE_CREATE,
         "name=\"new.txt\" flags=O_WRONLY|O_CREAT mode=0100644 umask=022"},
        {FUSE_INTERRUPT, "unique=4096"},
        {FUSE_BMAP, "block=10 blocksize=4096"},
        {FUSE_DESTROY, ""},
        {FUSE_IOCTL, "fh=5 cmd=0x5401 arg=0 in_size=8 out_size=8"},
        {FUSE_POLL, "fh=5 kh=6 events=0x1"},
        {FUSE_NOTIFY_REPLY, "off=0 size=10"},
        {FUSE_BATCH_FORGET, "count=2"},
        {FUSE_FALLOCATE, "fh=5 off=0 len=8192 mode=0x1"},
        {FUSE_READDIRPLUS, "fh=5 off=4096 size=65536"},
        {FUSE_RENAME2, "name=\"old\" newdir=9 newname=\"new\" flags=NOREPLACE"},
        {FUSE_LSEEK, "fh=5 off=0 whence=SEEK_DATA"},
        {FUSE_COPY_FILE_RANGE, "fh_in=5 off_in=0 nodeid_out=3 fh_out=6 "
                               "off_out=0 len=1048576 flags=0"},
        {FUSE_SYNCFS, ""},
        {FUSE_TMPFILE,
         "name=\"new.txt\" flags=O_WRONLY|O_CREAT mode=0100644 umask=022"},
        {FUSE_STATX, "flags=0 sx_flags=0 sx_mask=0xfff"},
        {FUSE_COPY_FILE_RANGE_64, "fh_in=5 off_in=0 nodeid_out=3 fh_out=6 "
                                  "off_out=0 len=1048576 flags=0"},
    };
    char buf[512];
    struct fuse_msg m;
    size_t built = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        EXPECT_STREQ(args_of(rows[i].opcode, buf, sizeof(buf)), rows[i].text);
    /* The table misses none of the opcodes msg_valid() builds. */
    for (uint32_t op = 0; op < MSG_OPCODE_END; op++)
        built += msg_valid(&m, op);
    EXPECT_EQ(sizeof(rows) / sizeof(rows[0]), built);
}

/*
 * Arguments msg_valid() leaves at zero: every flag table, optional field
 * and odd value, old protocol minors, truncated and undecoded requests.
 */
static void format_args_of_less_common_arguments(void)
{
    const struct {
        uint32_t opcode;
        uint32_t minor;   /* 0: MINOR */
        const void *arg;  /* the fixed argument, arg_size bytes of it */
        size_t arg_size;
        const char *name; /* then these, each with its NUL, if not NULL */
        const char *name2;
        const char *text;
    } rows[] = {
        {FUSE_GETATTR, 0, &(struct fuse_getattr_in){.fh = 7},
         sizeof(struct fuse_getattr_in), NULL, NULL, "flags=0"},
        {FUSE_GETATTR, 8, NULL, 0, NULL, NULL, "flags=0"},
        {FUSE_SETATTR, 0,
         &(struct fuse_setattr_in){
             .valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE |
                      FATTR_ATIME | FATTR_MTIME | FATTR_CTIME | FATTR_FH |
                      FATTR_LOCKOWNER | FATTR_ATIME_NOW | FATTR_KILL_SUIDGID |
                      (1u << 20),
             .mode = 04755, .uid = 1000, .gid = 100, .size = 12345,
             .atime = 1, .atimensec = 2, .mtime = (uint64_t)-3,
             .mtimensec = 999999999, .ctime = 5, .ctimensec = 0, .fh = 8,
             .lock_owner = 0xfeed},
         sizeof(struct fuse_setattr_in), NULL, NULL,
         "valid=MODE|UID|GID|SIZE|ATIME|MTIME|FH|ATIME_NOW|LOCKOWNER|CTIME|"
         "KILL_SUIDGID|0x100000 mode=04755 uid=1000 gid=100 size=12345 "
         "atime=1.000000002 mtime=-3.999999999 ctime=5.000000000 fh=8 "
         "lock_owner=0xfeed"},
        {FUSE_MKNOD, 0,
         &(struct fuse_mknod_in){.mode = 020600, .rdev = 0x103, .umask = 0},
         sizeof(struct fuse_mknod_in), "tty", NULL,
         "name=\"tty\" mode=020600 rdev=0x103 umask=0"},
        {FUSE_RENAME2, 0,
         &(struct fuse_rename2_in){
             .newdir = 1,
             .flags = RENAME_EXCHANGE | RENAME_WHITEOUT | 0x80},
         sizeof(struct fuse_rename2_in), "a", "b",
         "name=\"a\" newdir=1 newname=\"b\" flags=EXCHANGE|WHITEOUT|0x80"},
        {FUSE_OPEN, 0,
         &(struct fuse_open_in){.flags = O_WRONLY | O_TRUNC | 040,
                                .open_flags = FUSE_OPEN_KILL_SUIDGID | 2},
         sizeof(struct fuse_open_in), NULL, NULL,
         "flags=O_WRONLY|O_TRUNC|FMODE_EXEC open_flags=KILL_SUIDGID|0x2"},
        {FUSE_OPENDIR, 0,
         &(struct fuse_open_in){.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC},
         sizeof(struct fuse_open_in), NULL, NULL,
         "flags=O_RDONLY|O_DIRECTORY|O_CLOEXEC"},
        {FUSE_CREATE, 0,
         &(struct fuse_create_in){.flags = O_RDWR | O_CREAT | O_EXCL,
                                  .mode = 0100600, .umask = 077,
                                  .open_flags = FUSE_OPEN_KILL_SUIDGID},
         sizeof(struct fuse_create_in), "x", NULL,
         "name=\"x\" flags=O_RDWR|O_CREAT|O_EXCL mode=0100600 umask=077 "
         "open_flags=KILL_SUIDGID"},
        {FUSE_CREATE, 11, &(struct fuse_open_in){.flags = O_WRONLY},
         sizeof(struct fuse_open_in), "old", NULL,
         "name=\"old\" flags=O_WRONLY mode=0 umask=0"},
        {FUSE_READDIRPLUS, 0,
         &(struct fuse_read_in){.fh = 3, .offset = 7, .size = 4096,
                                .read_flags = FUSE_READ_LOCKOWNER | 4,
                                .lock_owner = 0x77},
         sizeof(struct fuse_read_in), NULL, NULL,
         "fh=3 off=7 size=4096 read_flags=LOCKOWNER|0x4 lock_owner=0x77"},
        {FUSE_WRITE, 0,
         &(struct fuse_write_in){.fh = 3, .offset = 1,
                                 .write_flags = FUSE_WRITE_CACHE |
                                                FUSE_WRITE_LOCKOWNER |
                                                FUSE_WRITE_KILL_SUIDGID,
                                 .lock_owner = 0x55,
                                 .flags = O_WRONLY | O_APPEND},
         sizeof(struct fuse_write_in), NULL, NULL,
         "fh=3 off=1 size=0 write_flags=CACHE|LOCKOWNER|KILL_SUIDGID "
         "lock_owner=0x55 flags=O_WRONLY|O_APPEND"},
        {FUSE_WRITE, 8, &(struct fuse_write_in){.fh = 3, .offset = 2},
         FUSE_COMPAT_WRITE_IN_SIZE, NULL, NULL, "fh=3 off=2 size=0"},
        {FUSE_RELEASEDIR, 0,
         &(struct fuse_release_in){
             .fh = 4, .flags = O_RDONLY | O_NONBLOCK,
             .release_flags = FUSE_RELEASE_FLUSH | FUSE_RELEASE_FLOCK_UNLOCK,
             .lock_owner = 0x66},
         sizeof(struct fuse_release_in), NULL, NULL,
         "fh=4 flags=O_RDONLY|O_NONBLOCK release_flags=FLUSH|FLOCK_UNLOCK "
         "lock_owner=0x66"},
        {FUSE_FSYNC, 0, &(struct fuse_fsync_in){.fh = 4},
         sizeof(struct fuse_fsync_in), NULL, NULL, "fh=4 fsync_flags=0"},
        {FUSE_SETXATTR, 0,
         &(struct fuse_setxattr_in){.flags = XATTR_REPLACE | 0x10},
         FUSE_COMPAT_SETXATTR_IN_SIZE, "user.x", NULL,
         "name=\"user.x\" size=0 flags=XATTR_REPLACE|0x10"},
        {FUSE_SETXATTR, 0, &(struct fuse_setxattr_in){0},
         FUSE_COMPAT_SETXATTR_IN_SIZE, "", NULL, "name=\"\" size=0 flags=0"},
        {FUSE_INIT, 0,
         &(struct fuse_init_in){.major = 7, .minor = 31,
                                .max_readahead = 65536,
                                .flags = FUSE_POSIX_LOCKS | FUSE_DONT_MASK |
                                         (1u << 31),
                                .flags2 = 1},
         sizeof(struct fuse_init_in), NULL, NULL,
         "version=7.31 max_readahead=65536 "
         "flags=POSIX_LOCKS|DONT_MASK|INIT_RESERVED"},
        {FUSE_INIT, 0,
         &(struct fuse_init_in){.major = 7, .minor = 27, .flags = 0},
         offsetof(struct fuse_init_in, flags2), NULL, NULL,
         "version=7.27 max_readahead=0 flags=0"},
        {FUSE_SETLK, 0,
         &(struct fuse_lk_in){.fh = 2, .owner = 1,
                              .lk = {.start = 5, .end = UINT64_MAX,
                                     .type = F_UNLCK, .pid = 9},
                              .lk_flags = FUSE_LK_FLOCK | 2},
         sizeof(struct fuse_lk_in), NULL, NULL,
         "fh=2 owner=0x1 type=F_UNLCK start=5 end=18446744073709551615 "
         "pid=9 lk_flags=FLOCK|0x2"},
        {FUSE_GETLK, 0,
         &(struct fuse_lk_in){.lk = {.type = F_RDLCK}},
         sizeof(struct fuse_lk_in), NULL, NULL,
         "fh=0 owner=0 type=F_RDLCK start=0 end=0 pid=0"},
        {FUSE_SETLKW, 0, &(struct fuse_lk_in){.lk = {.type = 7}},
         sizeof(struct fuse_lk_in), NULL, NULL,
         "fh=0 owner=0 type=? start=0 end=0 pid=0"},
        {FUSE_ACCESS, 0, &(struct fuse_access_in){.mask = F_OK},
         sizeof(struct fuse_access_in), NULL, NULL, "mask=F_OK"},
        {FUSE_ACCESS, 0,
         &(struct fuse_access_in){.mask = W_OK | X_OK | 0x100},
         sizeof(struct fuse_access_in), NULL, NULL,
         "mask=W_OK|X_OK|0x100"},
        {FUSE_IOCTL, 0,
         &(struct fuse_ioctl_in){.fh = 1, .flags = FUSE_IOCTL_UNRESTRICTED |
                                                   FUSE_IOCTL_DIR,
                                 .cmd = 0x80045401, .arg = 0x7ffd1000,
                                 .out_size = 4},
         sizeof(struct fuse_ioctl_in), NULL, NULL,
         "fh=1 cmd=0x80045401 arg=0x7ffd1000 in_size=0 out_size=4 "
         "flags=UNRESTRICTED|DIR"},
        {FUSE_POLL, 0,
         &(struct fuse_poll_in){.fh = 1, .kh = 2,
                                .flags = FUSE_POLL_SCHEDULE_NOTIFY,
                                .events = 0x19},
         sizeof(struct fuse_poll_in), NULL, NULL,
         "fh=1 kh=2 events=0x19 flags=SCHEDULE_NOTIFY"},
        {FUSE_LSEEK, 0,
         &(struct fuse_lseek_in){.fh = 1, .offset = 10, .whence = SEEK_END},
         sizeof(struct fuse_lseek_in), NULL, NULL,
         "fh=1 off=10 whence=SEEK_END"},
        {FUSE_LSEEK, 0, &(struct fuse_lseek_in){.whence = 9},
         sizeof(struct fuse_lseek_in), NULL, NULL, "fh=0 off=0 whence=?"},
        {FUSE_STATX, 0,
         &(struct fuse_statx_in){.getattr_flags = FUSE_GETATTR_FH | 2,
                                 .fh = 6, .sx_flags = 0x800,
                                 .sx_mask = 0x7ff},
         sizeof(struct fuse_statx_in), NULL, NULL,
         "flags=FH|0x2 fh=6 sx_flags=0x800 sx_mask=0x7ff"},
        {FUSE_COPY_FILE_RANGE, 0,
         &(struct fuse_copy_file_range_in){.fh_in = 1, .off_in = 2,
                                           .nodeid_out = 3, .fh_out = 4,
                                           .off_out = 5, .len = 6,
                                           .flags = 7},
         sizeof(struct fuse_copy_file_range_in), NULL, NULL,
         "fh_in=1 off_in=2 nodeid_out=3 fh_out=4 off_out=5 len=6 flags=0x7"},
        /* Truncated or missing arguments: decode fails, nothing to show. */
        {FUSE_SYNCFS, 0, &(struct fuse_syncfs_in){0}, 4, NULL, NULL,
         "(undecoded)"},
        {FUSE_FORGET, 0, NULL, 0, NULL, NULL, "(undecoded)"},
        {FUSE_MKDIR, 0, &(struct fuse_mkdir_in){0},
         sizeof(struct fuse_mkdir_in), NULL, NULL, "(undecoded)"},
        {FUSE_SYMLINK, 0, NULL, 0, "only-one", NULL, "(undecoded)"},
        {FUSE_GETATTR, 0, NULL, 0, NULL, NULL, "flags=0"},
        {FUSE_READLINK, 0, NULL, 0, NULL, NULL, ""},
        /* Opcodes fsp does not decode: the length only. */
        {FUSE_SETUPMAPPING, 0, &(struct fuse_setupmapping_in){0},
         sizeof(struct fuse_setupmapping_in), NULL, NULL, "len=80"},
        {FUSE_REMOVEMAPPING, 0, NULL, 0, NULL, NULL, "len=40"},
        {CUSE_INIT, 0, NULL, 0, NULL, NULL, "len=40"},
    };
    char buf[512];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct fuse_msg m;
        struct fsp_request req;

        msg_start(&m, rows[i].opcode, 2);
        if (rows[i].arg != NULL)
            msg_put(&m, rows[i].arg, rows[i].arg_size);
        if (rows[i].name != NULL)
            msg_str(&m, rows[i].name);
        if (rows[i].name2 != NULL)
            msg_str(&m, rows[i].name2);
        msg_end(&m);
        fsp_op_decode(m.words, m.len, rows[i].minor ? rows[i].minor : MINOR,
                      &req);
        EXPECT_STREQ(fsp_op_describe(&req, buf, sizeof(buf)),
                     rows[i].text);
    }
}

/* fsp_describe_<opcode>() writes what fsp_op_describe() does. */
static void describe_functions_are_the_formatter_of_their_opcode(void)
{
    static const struct {
        uint32_t opcode;
        void (*describe)(const struct fsp_request *, char *, size_t);
    } rows[] = {
        {FUSE_LOOKUP, fsp_describe_lookup},
        {FUSE_READLINK, fsp_describe_readlink},
        {FUSE_SETATTR, fsp_describe_setattr},
        {FUSE_WRITE, fsp_describe_write},
        {FUSE_RELEASEDIR, fsp_describe_releasedir},
        {FUSE_INIT, fsp_describe_init},
        {FUSE_SETLKW, fsp_describe_setlkw},
        {FUSE_NOTIFY_REPLY, fsp_describe_notify_reply},
        {FUSE_BATCH_FORGET, fsp_describe_batch_forget},
        {FUSE_RENAME2, fsp_describe_rename2},
        {FUSE_TMPFILE, fsp_describe_tmpfile},
        {FUSE_COPY_FILE_RANGE_64, fsp_describe_copy_file_range_64},
    };
    char want[512], got[512];
    struct fuse_msg m;
    struct fsp_request req;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        msg_valid(&m, rows[i].opcode);
        EXPECT_EQ(decode(&m, &req), 0);
        fsp_op_describe(&req, want, sizeof(want));
        memset(got, 0x5a, sizeof(got));
        rows[i].describe(&req, got, sizeof(got));
        EXPECT_TRUE(want[0] != '\0' || rows[i].opcode == FUSE_READLINK);
        EXPECT_STREQ(got, want);
    }

    msg_start(&m, FUSE_SETUPMAPPING, 1);
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -ENOSYS);
    fsp_describe_setupmapping(&req, got, sizeof(got));
    EXPECT_STREQ(got, "len=40");

    msg_start(&m, FUSE_MKDIR, 1);
    msg_str(&m, "dir");
    msg_end(&m);
    EXPECT_EQ(decode(&m, &req), -EPROTO);
    /* A failed decode is the table's to tell: the describe function of
     * the opcode is not called. */
    EXPECT_STREQ(fsp_op_describe(&req, got, sizeof(got)), "(undecoded)");
    fsp_describe_mkdir(NULL, got, sizeof(got));
    EXPECT_STREQ(got, "");
    memset(got, 0x5a, sizeof(got));
    fsp_op_describe(&req, got, 0);
    EXPECT_EQ(got[0], 0x5a);
    fsp_op_describe(&req, got, 4);
    EXPECT_STREQ(got, "(un");
}

static void format_args_never_overflows_tiny_buffers(void)
{
       char buf[64 + 16];

       for (uint32_t op = 0; op < MSG_OPCODE_END; op++) {
           char full[512];
           struct fuse_msg m;

           if (!msg_valid(&m, op))
               continue;
           args_of(op, full, sizeof(full));
           for (size_t size = 0; size <= 64; size++) {
               memset(buf, 0x5a, sizeof(buf));
               args_of(op, buf, size);
               if (size > 0) {
                   EXPECT_TRUE(memchr(buf, '\0', size) != NULL);
                   /* A prefix of the full text. */
                   EXPECT_TRUE(strncmp(buf, full, strlen(buf)) == 0);
               }
               for (size_t i = size; i < sizeof(buf); i++)
                   EXPECT_EQ(buf[i], 0x5a);
           }
       }
}

static const struct expect_case cases[] = {
       EXPECT_CASE(header_shorter_than_40_bytes_is_einval),
       EXPECT_CASE(len_field_must_match_bytes_read),
       EXPECT_CASE(null_or_misaligned_buffer_is_einval),
       EXPECT_CASE(unknown_opcode_gets_enosys),
       EXPECT_CASE(dax_mapping_opcodes_are_named_but_get_enosys),

       EXPECT_CASE(every_opcode_decodes_when_well_formed),
       EXPECT_CASE(fixed_arguments_point_right_after_the_header),
       EXPECT_CASE(lookup_decodes_its_name),
       EXPECT_CASE(symlink_carries_link_name_then_target),
       EXPECT_CASE(rename_and_rename2_decode_both_names),
       EXPECT_CASE(rename_with_one_name_is_rejected),
       EXPECT_CASE(create_mknod_mkdir_link_tmpfile_decode_struct_and_name),
       EXPECT_CASE(write_data_follows_write_in),
       EXPECT_CASE(write_data_longer_than_request_is_rejected),
       EXPECT_CASE(write_with_huge_size_is_rejected),
       EXPECT_CASE(write_of_zero_bytes_is_well_formed),
       EXPECT_CASE(setxattr_uses_the_8_byte_header_then_name_then_value),
       EXPECT_CASE(setxattr_value_larger_than_body_is_rejected),
       EXPECT_CASE(setxattr_uses_the_16_byte_header_once_setxattr_ext_is_on),
       EXPECT_CASE(getxattr_has_name_listxattr_has_none),
       EXPECT_CASE(ioctl_input_must_fit_in_the_body),
       EXPECT_CASE(notify_reply_data_must_fit_in_the_body),
       EXPECT_CASE(batch_forget_data_is_the_array_of_forget_one),
       EXPECT_CASE(batch_forget_count_larger_than_body_is_rejected),
       EXPECT_CASE(batch_forget_of_zero_nodes_is_well_formed),

       EXPECT_CASE(truncated_body_of_every_opcode_is_eproto),
       EXPECT_CASE(args_decoded_tells_a_decoded_request_from_a_failed_one),
       EXPECT_CASE(lookup_name_must_be_nul_terminated),
       EXPECT_CASE(names_missing_nul_are_rejected_for_every_named_opcode),
       EXPECT_CASE(empty_body_for_a_named_opcode_is_rejected),
       EXPECT_CASE(extensions_are_not_part_of_the_body),
       EXPECT_CASE(huge_sizes_never_pass),

       EXPECT_CASE(init_accepts_the_short_pre_7_36_body),
       EXPECT_CASE(init_shorter_than_16_bytes_is_rejected),
       EXPECT_CASE(init_longer_than_we_know_is_capped),
       EXPECT_CASE(getattr_before_7_9_has_no_body),
       EXPECT_CASE(read_and_write_before_7_9_use_24_byte_structs),
       EXPECT_CASE(mknod_and_create_before_7_12_use_8_byte_structs),

       EXPECT_CASE(forget_batch_forget_interrupt_and_notify_reply_get_no_reply),
       EXPECT_CASE(opcode_names_match_the_kernel_enum),

       EXPECT_CASE(init_from_7_45_kernel_negotiates_passthrough_only_when_asked),
       EXPECT_CASE(request_timeout_is_sent_only_when_asked_and_offered),
       EXPECT_CASE(allow_idmap_is_asked_only_with_default_permissions),
       EXPECT_CASE(passthrough_needs_the_kernels_offer),
       EXPECT_CASE(passthrough_gives_way_to_the_writeback_cache),
       EXPECT_CASE(passthrough_stack_depth_is_kept_within_the_kernels_limit),
       EXPECT_CASE(init_from_old_7_31_kernel_without_flags2),
       EXPECT_CASE(init_flags2_counts_only_with_init_ext),
       EXPECT_CASE(io_uring_is_negotiated_only_when_offered_and_asked),
       EXPECT_CASE(init_leaves_atomic_o_trunc_off_when_asked),
       EXPECT_CASE(init_asks_for_the_basics_and_never_for_unwanted_flags),
       EXPECT_CASE(init_asks_for_posix_acl_with_dont_mask_and_setxattr_ext),
       EXPECT_CASE(init_never_takes_more_than_the_kernel_offers),
       EXPECT_CASE(init_minor_is_the_smaller_of_both),
       EXPECT_CASE(init_with_another_major_version_is_eproto_and_says_7),
       EXPECT_CASE(init_max_pages_follows_max_write),
       EXPECT_CASE(without_max_pages_writes_stay_within_32_pages),
       EXPECT_CASE(init_copies_limits_and_time_granularity),

       EXPECT_CASE(timeouts_convert_milliseconds),
       EXPECT_CASE(infinite_timeout_is_long_but_safe_for_the_kernel),
       EXPECT_CASE(attr_blocks_round_up_to_512_byte_units),
       EXPECT_CASE(attr_takes_every_field_of_file_info),
       EXPECT_CASE(attr_ino_falls_back_to_nodeid_and_nlink_0_stays_0),
       EXPECT_CASE(attr_nanoseconds_stay_below_one_second),

       EXPECT_CASE(dirents_are_8_byte_aligned_with_zeroed_padding),
       EXPECT_CASE(dirent_that_does_not_fit_returns_0),
       EXPECT_CASE(direntplus_carries_the_entry_and_its_attributes),
       EXPECT_CASE(dirents_may_start_at_unaligned_buffers),

       EXPECT_CASE(format_args_shows_open_flags_symbolically),
       EXPECT_CASE(format_args_lists_setattr_valid_bits_by_name),
       EXPECT_CASE(format_args_of_common_requests),
       EXPECT_CASE(format_args_of_every_opcode_as_the_kernel_sends_it),
       EXPECT_CASE(format_args_of_less_common_arguments),
       EXPECT_CASE(format_args_escapes_unprintable_names),
       EXPECT_CASE(format_args_of_failed_and_unknown_requests),
       EXPECT_CASE(format_args_never_overflows_tiny_buffers),
       EXPECT_CASE(describe_functions_are_the_formatter_of_their_opcode),

};

int main(void)
{
       return expect_run("test_protocol", cases, sizeof cases / sizeof *cases);
}
