/*
 * fuse_msg.h - building FUSE requests the way the kernel writes them, for
 * the protocol tests.
 *
 *   struct fuse_msg m;
 *   msg_start(&m, FUSE_LOOKUP, 5);           // header for node 5
 *   msg_str(&m, "name");                     // with its NUL
 *   fsp_op_decode(m.buf, msg_end(&m), 45, &req);
 */
#ifndef FSP_TEST_FUSE_MSG_H
#define FSP_TEST_FUSE_MSG_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuse_abi.h"

#define MSG_MAX 8192

struct fuse_msg {
    uint64_t words[MSG_MAX / 8]; /* 8-byte aligned, as a read buffer is */
    size_t len;
};

#define MSG_BYTES(m) ((unsigned char *)(m)->words)
#define MSG_HDR(m) ((struct fuse_in_header *)(m)->words)

static inline void msg_start(struct fuse_msg *m, uint32_t opcode,
                             uint64_t nodeid)
{
    struct fuse_in_header *h = MSG_HDR(m);

    memset(m, 0, sizeof(*m));
    h->opcode = opcode;
    h->unique = 0x1234;
    h->nodeid = nodeid;
    h->uid = 1000;
    h->gid = 1000;
    h->pid = 4242;
    m->len = sizeof(*h);
}

static inline void msg_put(struct fuse_msg *m, const void *p, size_t n)
{
    if (m->len + n > MSG_MAX)
        n = MSG_MAX - m->len;
    memcpy(MSG_BYTES(m) + m->len, p, n);
    m->len += n;
}

/* A name with its terminating NUL. */
static inline void msg_str(struct fuse_msg *m, const char *s)
{
    msg_put(m, s, strlen(s) + 1);
}

/* Set the header's len; returns the length to hand to decode. */
static inline size_t msg_end(struct fuse_msg *m)
{
    MSG_HDR(m)->len = (uint32_t)m->len;
    return m->len;
}

/* The first opcode number past the last one fsp knows. */
#define MSG_OPCODE_END (FUSE_COPY_FILE_RANGE_64 + 1)

/*
 * A well-formed request for @opcode, as a 7.45 kernel sends it. Returns
 * false for opcode numbers that do not exist or that fsp does not decode
 * (SETUPMAPPING, REMOVEMAPPING: virtiofs only).
 */
static inline bool msg_valid(struct fuse_msg *m, uint32_t opcode)
{
    static const char data[] = "0123456789abcdef";

    msg_start(m, opcode, 2);
    switch (opcode) {
    case FUSE_LOOKUP:
    case FUSE_UNLINK:
    case FUSE_RMDIR:
    case FUSE_REMOVEXATTR:
        msg_str(m, "file.txt");
        break;
    case FUSE_FORGET: {
        struct fuse_forget_in in = {.nlookup = 3};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_GETATTR: {
        struct fuse_getattr_in in = {.getattr_flags = FUSE_GETATTR_FH,
                                     .fh = 7};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_SETATTR: {
        struct fuse_setattr_in in = {.valid = FATTR_MODE | FATTR_SIZE,
                                     .mode = 0100644, .size = 4096};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_READLINK:
    case FUSE_STATFS:
    case FUSE_DESTROY:
        break;
    case FUSE_SYMLINK:
        msg_str(m, "link");
        msg_str(m, "../target");
        break;
    case FUSE_MKNOD: {
        struct fuse_mknod_in in = {.mode = 010644, .rdev = 0, .umask = 022};
        msg_put(m, &in, sizeof(in));
        msg_str(m, "fifo");
        break;
    }
    case FUSE_MKDIR: {
        struct fuse_mkdir_in in = {.mode = 0755, .umask = 022};
        msg_put(m, &in, sizeof(in));
        msg_str(m, "dir");
        break;
    }
    case FUSE_RENAME: {
        struct fuse_rename_in in = {.newdir = 9};
        msg_put(m, &in, sizeof(in));
        msg_str(m, "old");
        msg_str(m, "new");
        break;
    }
    case FUSE_RENAME2: {
        struct fuse_rename2_in in = {.newdir = 9,
                                     .flags = RENAME_NOREPLACE};
        msg_put(m, &in, sizeof(in));
        msg_str(m, "old");
        msg_str(m, "new");
        break;
    }
    case FUSE_LINK: {
        struct fuse_link_in in = {.oldnodeid = 11};
        msg_put(m, &in, sizeof(in));
        msg_str(m, "hardlink");
        break;
    }
    case FUSE_OPEN:
    case FUSE_OPENDIR: {
        struct fuse_open_in in = {.flags = 02}; /* O_RDWR */
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_READ:
    case FUSE_READDIR:
    case FUSE_READDIRPLUS: {
        struct fuse_read_in in = {.fh = 5, .offset = 4096, .size = 65536};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_WRITE: {
        struct fuse_write_in in = {.fh = 5, .offset = 100, .size = 16};
        msg_put(m, &in, sizeof(in));
        msg_put(m, data, 16);
        break;
    }
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR: {
        struct fuse_release_in in = {.fh = 5,
                                     .release_flags = FUSE_RELEASE_FLUSH};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR: {
        struct fuse_fsync_in in = {.fh = 5,
                                   .fsync_flags = FUSE_FSYNC_FDATASYNC};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_SETXATTR: {
        /* The 8-byte form: FUSE_SETXATTR_EXT is never negotiated. */
        struct fuse_setxattr_in in = {.size = 5, .flags = 1};
        msg_put(m, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
        msg_str(m, "user.test");
        msg_put(m, "value", 5);
        break;
    }
    case FUSE_GETXATTR: {
        struct fuse_getxattr_in in = {.size = 256};
        msg_put(m, &in, sizeof(in));
        msg_str(m, "user.test");
        break;
    }
    case FUSE_LISTXATTR: {
        struct fuse_getxattr_in in = {.size = 0};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_FLUSH: {
        struct fuse_flush_in in = {.fh = 5, .lock_owner = 0xabc};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_INIT: {
        struct fuse_init_in in = {
            .major = 7, .minor = 45, .max_readahead = 131072,
            .flags = FUSE_ASYNC_READ | FUSE_INIT_EXT | FUSE_MAX_PAGES,
            .flags2 = (uint32_t)(FUSE_PASSTHROUGH >> 32)};
        msg_start(m, opcode, 0);
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_GETLK:
    case FUSE_SETLK:
    case FUSE_SETLKW: {
        struct fuse_lk_in in = {.fh = 5, .owner = 0x99,
                                .lk = {.start = 0, .end = 99, .type = 1,
                                       .pid = 4242}};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_ACCESS: {
        struct fuse_access_in in = {.mask = 4}; /* R_OK */
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_CREATE:
    case FUSE_TMPFILE: {
        struct fuse_create_in in = {.flags = 0101, .mode = 0100644,
                                    .umask = 022}; /* O_WRONLY|O_CREAT */
        msg_put(m, &in, sizeof(in));
        msg_str(m, "new.txt");
        break;
    }
    case FUSE_INTERRUPT: {
        struct fuse_interrupt_in in = {.unique = 0x1000};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_BMAP: {
        struct fuse_bmap_in in = {.block = 10, .blocksize = 4096};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_IOCTL: {
        struct fuse_ioctl_in in = {.fh = 5, .cmd = 0x5401, .in_size = 8,
                                   .out_size = 8};
        msg_put(m, &in, sizeof(in));
        msg_put(m, data, 8);
        break;
    }
    case FUSE_POLL: {
        struct fuse_poll_in in = {.fh = 5, .kh = 6, .events = 1};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_NOTIFY_REPLY: {
        struct fuse_notify_retrieve_in in = {.offset = 0, .size = 10};
        msg_put(m, &in, sizeof(in));
        msg_put(m, data, 10);
        break;
    }
    case FUSE_BATCH_FORGET: {
        struct fuse_batch_forget_in in = {.count = 2};
        struct fuse_forget_one one[2] = {{5, 1}, {6, 2}};
        msg_start(m, opcode, 0);
        msg_put(m, &in, sizeof(in));
        msg_put(m, one, sizeof(one));
        break;
    }
    case FUSE_FALLOCATE: {
        struct fuse_fallocate_in in = {.fh = 5, .offset = 0, .length = 8192,
                                       .mode = 1};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_LSEEK: {
        struct fuse_lseek_in in = {.fh = 5, .offset = 0, .whence = 3};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_COPY_FILE_RANGE:
    case FUSE_COPY_FILE_RANGE_64: {
        struct fuse_copy_file_range_in in = {.fh_in = 5, .nodeid_out = 3,
                                             .fh_out = 6, .len = 1 << 20};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_SYNCFS: {
        struct fuse_syncfs_in in = {0};
        msg_put(m, &in, sizeof(in));
        break;
    }
    case FUSE_STATX: {
        struct fuse_statx_in in = {.fh = 5, .sx_mask = 0xfff};
        msg_put(m, &in, sizeof(in));
        break;
    }
    default:
        return false;
    }
    msg_end(m);
    return true;
}

#endif /* FSP_TEST_FUSE_MSG_H */
