/*
 * test_protocol_fuzz.c - whatever the kernel (or a bug) sends, the decoder
 * neither crashes nor reads outside the request.
 *
 * Each request is placed so that it ends right before an inaccessible page:
 * a read past its end faults instead of passing unnoticed. The mutations
 * start from well-formed requests of every opcode (fuse_msg.h), so that
 * they reach deep into each opcode's decoding. The seed is fixed: a failure
 * reproduces, and its iteration number is printed.
 *
 * The file requests of 7.45 (LSEEK, COPY_FILE_RANGE(_64), TMPFILE, STATX,
 * FALLOCATE, BMAP) also go, mutated, through the dispatcher and the
 * volume, to callbacks that answer garbage: each gets exactly one reply,
 * an errno or a body of its opcode's size, never a crash.
 * The lock, ioctl and poll requests go further, through the dispatcher
 * to a file system whose callbacks answer at random, garbage included:
 * every reply the fake channel receives must be one the kernel takes (an
 * error in -4095..0 with no body, or the opcode's body), and every
 * garbage answer becomes EIO and a log line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "describe.h"
#include "dispatch.h"
#include "expect.h"
#include "fake_channel.h"
#include "fuse_msg.h"
#include "op_table.h"
#include "pending.h"
#include "protocol.h"

#define ITERATIONS 200000
#define MAX_FAILURES 10 /* stop printing after this many */

/* xorshift64*: small, fast, and the same everywhere. */
struct rng {
    uint64_t state;
};

static uint64_t rng_next(struct rng *r)
{
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * 0x2545f4914f6cdd1dull;
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(rng_next(r) % n);
}

/* Values that sit on the edges of size checks. */
static uint32_t interesting_u32(struct rng *r, size_t len)
{
    static const uint32_t values[] = {0,          1,          7,
                                      8,          15,         16,
                                      24,         40,         0x7f,
                                      0xff,       0x7fff,     0xffff,
                                      0x10000,    0x7fffffff, 0x80000000u,
                                      0xfffffff0u, 0xfffffffeu, 0xffffffffu};
    uint32_t pick = rng_below(r, sizeof(values) / sizeof(values[0]) + 3);

    if (pick < sizeof(values) / sizeof(values[0]))
        return values[pick];
    /* Near the request's own length. */
    return (uint32_t)len + rng_below(r, 16) - 8;
}

/* A page-sized area followed by a PROT_NONE guard page. */
struct guarded {
    unsigned char *area;
    size_t size;
};

static bool guarded_init(struct guarded *g)
{
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *p;

    g->size = (size_t)page * 2;
    p = mmap(NULL, g->size + (size_t)page, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    if (mprotect(p + g->size, (size_t)page, PROT_NONE) != 0)
        return false;
    g->area = p;
    return true;
}

/* Copy @len bytes so that they end as close to the guard page as the
 * 8-byte alignment of the start allows (at most 7 bytes before it). */
static const void *guarded_place(struct guarded *g, const void *msg,
                                 size_t len)
{
    size_t off = (g->size - len) & ~(size_t)7;

    memcpy(g->area + off, msg, len);
    return g->area + off;
}

/* How the decodes ended, to show that the mutations reach every outcome. */
struct outcomes {
    long ok, einval, eproto, enosys;
};

static void count(struct outcomes *o, int ret)
{
    if (ret == 0)
        o->ok++;
    else if (ret == -EINVAL)
        o->einval++;
    else if (ret == -EPROTO)
        o->eproto++;
    else if (ret == -ENOSYS)
        o->enosys++;
}

static void print_outcomes(const char *what, const struct outcomes *o)
{
    printf("# %s: %ld decoded, %ld EINVAL, %ld EPROTO, %ld ENOSYS\n", what,
           o->ok, o->einval, o->eproto, o->enosys);
}

static bool within(const void *buf, size_t len, const void *p, size_t n)
{
    const unsigned char *b = buf, *q = p;

    return q >= b && q <= b + len && n <= (size_t)(b + len - q);
}

/*
 * Decode @len bytes of @msg; check the result code, every pointer of the
 * result, and that the debug formatter and (for INIT) the negotiation
 * survive it too.
 */
static bool decode_survives(struct guarded *g, const void *msg, size_t len,
                            uint32_t minor, size_t fmt_size,
                            struct outcomes *o)
{
    const void *buf = guarded_place(g, msg, len);
    struct fsp_request req;
    char text[300];
    int ret;

    ret = fsp_op_decode(buf, len, minor, &req);
    count(o, ret);
    if (ret != 0 && ret != -EINVAL && ret != -EPROTO && ret != -ENOSYS)
        return false;
    if (ret == -EINVAL)
        return req.hdr == NULL;
    if (req.hdr != buf)
        return false;
    if (ret == 0) {
        if (req.arg && !within(buf, len, req.arg, req.arg_size))
            return false;
        if (!req.arg && req.arg_size != 0)
            return false;
        if (req.name && !within(buf, len, req.name, strlen(req.name) + 1))
            return false;
        if (req.name2 && !within(buf, len, req.name2, strlen(req.name2) + 1))
            return false;
        if (req.data && !within(buf, len, req.data, req.data_size))
            return false;
        if (req.opcode == FUSE_INIT) {
            struct fsp_init_config cfg = {.passthrough = true,
                                          .over_io_uring = true};
            struct fuse_init_out out;
            uint64_t flags;

            fsp_proto_negotiate_init(req.arg, req.arg_size, &cfg, &out,
                                     &flags);
        }
    } else if (req.arg || req.name || req.name2 || req.data) {
        return false; /* a failed decode leaves only the header */
    }

    memset(text, 0x5a, sizeof(text));
    fsp_op_describe(&req, text, fmt_size);
    if (fmt_size > 0 && memchr(text, '\0', fmt_size) == NULL)
        return false;
    for (size_t i = fmt_size; i < sizeof(text); i++)
        if (text[i] != 0x5a)
            return false;
    return true;
}

static uint32_t random_minor(struct rng *r)
{
    static const uint32_t minors[] = {0, 8, 9, 11, 12, 23, 35, 36, 38, 45};

    if (rng_below(r, 10) == 0)
        return (uint32_t)rng_next(r);
    return minors[rng_below(r, sizeof(minors) / sizeof(minors[0]))];
}

/* One random change to @m; the header's len is set by the caller. */
static void mutate(struct rng *r, struct fuse_msg *m)
{
    unsigned char *b = MSG_BYTES(m);
    uint32_t v;

    switch (rng_below(r, 8)) {
    case 0: /* flip a bit anywhere after len */
        if (m->len > 4) {
            size_t at = 4 + rng_below(r, (uint32_t)m->len - 4);
            b[at] ^= (unsigned char)(1u << rng_below(r, 8));
        }
        break;
    case 1: /* an edge value into a 4-byte field of the body */
        if (m->len >= sizeof(struct fuse_in_header) + 4) {
            size_t words = (m->len - sizeof(struct fuse_in_header)) / 4;
            size_t at = sizeof(struct fuse_in_header) +
                        4 * rng_below(r, (uint32_t)words);
            v = interesting_u32(r, m->len);
            memcpy(b + at, &v, 4);
        }
        break;
    case 2: /* cut the end */
        m->len = rng_below(r, (uint32_t)m->len + 1);
        break;
    case 3: /* random bytes at the end */
        for (uint32_t n = rng_below(r, 64); n > 0 && m->len < 1024; n--)
            b[m->len++] = (unsigned char)rng_next(r);
        break;
    case 4: /* another opcode, known or not */
        v = rng_below(r, 4) ? rng_below(r, MSG_OPCODE_END + 4)
                            : (uint32_t)rng_next(r);
        if (m->len >= 8)
            memcpy(b + 4, &v, 4);
        break;
    case 5: /* extensions */
        if (m->len >= sizeof(struct fuse_in_header))
            MSG_HDR(m)->total_extlen = (uint16_t)(rng_below(r, 3) ?
                                                  rng_below(r, 8) :
                                                  rng_next(r));
        break;
    case 6: /* strip every NUL from the body */
        for (size_t i = sizeof(struct fuse_in_header); i < m->len; i++)
            if (b[i] == 0)
                b[i] = 'x';
        break;
    default: /* a NUL somewhere */
        if (m->len > sizeof(struct fuse_in_header))
            b[sizeof(struct fuse_in_header) +
              rng_below(r, (uint32_t)(m->len -
                                      sizeof(struct fuse_in_header)))] = 0;
        break;
    }
}

static void mutated_requests_never_crash_or_read_outside(void)
{
    struct rng r = {0x5eed5eed12345678ull};
    struct outcomes o = {0};
    struct guarded g;
    int failures = 0;

    EXPECT_TRUE(guarded_init(&g));
    if (!g.area)
        return;
    for (long i = 0; i < ITERATIONS && failures < MAX_FAILURES; i++) {
        static struct fuse_msg m;
        uint32_t op = rng_below(&r, MSG_OPCODE_END);

        if (!msg_valid(&m, op))
            continue;
        for (uint32_t n = 1 + rng_below(&r, 4); n > 0; n--)
            mutate(&r, &m);
        /* Mostly a consistent len field, so that the body is reached. */
        if (m.len >= 4) {
            uint32_t len = rng_below(&r, 10) ? (uint32_t)m.len
                                             : interesting_u32(&r, m.len);
            memcpy(MSG_BYTES(&m), &len, 4);
        }
        if (!decode_survives(&g, m.words, m.len, random_minor(&r),
                             rng_below(&r, 300), &o)) {
            EXPECT_TRUE(!"decode of a mutated request misbehaved");
            fprintf(stderr, "    iteration %ld, opcode %u\n", i, op);
            failures++;
        }
    }
    print_outcomes("mutated requests", &o);
    EXPECT_TRUE(o.ok > 0 && o.einval > 0 && o.eproto > 0 && o.enosys > 0);
}

static void random_bytes_never_crash_or_read_outside(void)
{
    struct rng r = {0xfeedfacecafebeefull};
    struct outcomes o = {0};
    struct guarded g;
    int failures = 0;

    EXPECT_TRUE(guarded_init(&g));
    if (!g.area)
        return;
    for (long i = 0; i < ITERATIONS / 4 && failures < MAX_FAILURES; i++) {
        static uint64_t words[128];
        size_t len = rng_below(&r, sizeof(words) + 1);
        uint32_t len32 = (uint32_t)len;

        for (size_t w = 0; w < 128; w++)
            words[w] = rng_next(&r);
        memcpy(words, &len32, 4);
        /* Mostly a known opcode and no extensions, to get past them. */
        if (rng_below(&r, 4) != 0) {
            struct fuse_in_header *h = (struct fuse_in_header *)words;

            h->opcode = rng_below(&r, MSG_OPCODE_END);
            h->total_extlen = 0;
        }
        if (!decode_survives(&g, words, len, random_minor(&r),
                             rng_below(&r, 300), &o)) {
            EXPECT_TRUE(!"decode of random bytes misbehaved");
            fprintf(stderr, "    iteration %ld\n", i);
            failures++;
        }
    }
    print_outcomes("random bytes", &o);
}

static void every_length_of_every_request_is_handled(void)
{
    struct outcomes o = {0};
    struct guarded g;

    EXPECT_TRUE(guarded_init(&g));
    if (!g.area)
        return;
    for (uint32_t op = 0; op < MSG_OPCODE_END; op++) {
        static struct fuse_msg m;

        if (!msg_valid(&m, op))
            continue;
        for (size_t len = 0; len <= m.len; len++) {
            struct fuse_msg cut = m;
            uint32_t len32 = (uint32_t)len;

            if (len >= 4)
                memcpy(MSG_BYTES(&cut), &len32, 4);
            EXPECT_TRUE(decode_survives(&g, cut.words, len, 45, 64, &o));
        }
    }
    print_outcomes("every length", &o);
}

/* ---- the file requests of 7.45, served by a volume ---- */

/* A channel that keeps the last reply: its header, body size and the
 * body's first bytes. */
struct seen_channel {
    struct fsp_channel base;
    long replies;
    struct fuse_out_header last;
    size_t last_body;
    unsigned char body[512];
};

static int seen_send(struct fsp_channel *ch, const struct iovec *iov,
                     int iovcnt)
{
    struct seen_channel *sc = (struct seen_channel *)ch;

    sc->replies++;
    memcpy(&sc->last, iov[0].iov_base, sizeof sc->last);
    sc->last_body = 0;
    for (int i = 1; i < iovcnt; i++) {
        size_t n = iov[i].iov_len;

        if (sc->last_body < sizeof sc->body)
            memcpy(sc->body + sc->last_body, iov[i].iov_base,
                   n < sizeof sc->body - sc->last_body
                       ? n
                       : sizeof sc->body - sc->last_body);
        sc->last_body += n;
    }
    return 0;
}

static const struct fsp_channel_ops seen_ops = {
    .kind = "fuzz",
    .send = seen_send,
    .detach = fake_channel_detach,
    .free_detached = fake_channel_free_detached,
    .destroy = fake_channel_destroy,
};

/* The callbacks' randomness: one generator, as the dispatch is serial. */
static struct rng garbage_rng = {0x0b5e55edc0ffee11ull};

/* 0, an errno, or a value no callback may return. */
static int garbage_return(void)
{
    static const int values[] = {0, 0, 0, -ENXIO, -EIO, -EOPNOTSUPP, 1, 77,
                                 FSP_PENDING + 1, FSP_PENDING + 2, -4096,
                                 INT_MIN};

    return values[rng_below(&garbage_rng, sizeof values / sizeof *values)];
}

static uint64_t garbage_u64(void)
{
    switch (rng_below(&garbage_rng, 4)) {
    case 0:
        return rng_next(&garbage_rng);
    case 1:
        return rng_below(&garbage_rng, 1u << 20);
    case 2:
        return (uint64_t)INT64_MAX + rng_below(&garbage_rng, 3);
    default:
        return 0;
    }
}

static void garbage_info(fsp_file_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->mode = rng_below(&garbage_rng, 8) ? S_IFREG | 0644
                                            : (uint32_t)rng_next(&garbage_rng);
    info->index_number = rng_below(&garbage_rng, 4) + 10;
    info->size = garbage_u64();
    info->btime.tv_sec = (time_t)garbage_u64();
    info->btime.tv_nsec = (long)rng_next(&garbage_rng);
}

static int g_by_name(fsp_fs_t *fs, const char *path, fsp_file_info_t *info)
{
    (void)fs;
    (void)path;
    garbage_info(info);
    info->mode = S_IFREG | 0644;
    return 0;
}

static int g_open(fsp_fs_t *fs, const char *path, int flags, void **ctx,
                  fsp_file_info_t *info)
{
    static int file;

    (void)fs;
    (void)path;
    (void)flags;
    *ctx = &file;
    info->mode = S_IFREG | 0644;
    return 0;
}

static int g_info(fsp_fs_t *fs, void *ctx, fsp_file_info_t *info)
{
    (void)fs;
    (void)ctx;
    garbage_info(info);
    return garbage_return();
}

static int g_seek(fsp_fs_t *fs, void *ctx, uint64_t offset, int whence,
                  uint64_t *result)
{
    (void)fs;
    (void)ctx;
    (void)whence;
    *result = rng_below(&garbage_rng, 2) ? offset + rng_below(&garbage_rng, 9)
                                         : garbage_u64();
    return garbage_return();
}

static int g_copy(fsp_fs_t *fs, void *src, uint64_t src_offset, void *dst,
                  uint64_t dst_offset, size_t length, uint32_t flags,
                  size_t *copied)
{
    (void)fs;
    (void)src;
    (void)src_offset;
    (void)dst;
    (void)dst_offset;
    (void)flags;
    *copied = rng_below(&garbage_rng, 2) ? length : (size_t)garbage_u64();
    return garbage_return();
}

static int g_tmpfile(fsp_fs_t *fs, const char *dir, const fsp_create_info_t *ci,
                     void **ctx, fsp_file_info_t *info)
{
    static int file;

    (void)fs;
    (void)dir;
    (void)ci;
    *ctx = &file;
    garbage_info(info);
    return garbage_return();
}

static int g_allocate(fsp_fs_t *fs, void *ctx, int mode, uint64_t offset,
                      uint64_t length)
{
    (void)fs;
    (void)ctx;
    (void)mode;
    (void)offset;
    (void)length;
    return garbage_return();
}

static const fsp_fs_interface_t garbage_iface = {
    .get_file_info_by_name = g_by_name,
    .open = g_open,
    .get_file_info = g_info,
    .seek = g_seek,
    .copy_file_range = g_copy,
    .create_tmpfile = g_tmpfile,
    .allocate = g_allocate,
};

static void quiet(fsp_fs_t *fs, int level, const char *message, void *user)
{
    (void)fs;
    (void)level;
    (void)message;
    (*(long *)user)++;
}

/* The body a successful reply to @opcode has. */
static size_t body_size_of(uint32_t opcode)
{
    switch (opcode) {
    case FUSE_LSEEK:
        return sizeof(struct fuse_lseek_out);
    case FUSE_COPY_FILE_RANGE:
        return sizeof(struct fuse_write_out);
    case FUSE_COPY_FILE_RANGE_64:
        return sizeof(struct fuse_copy_file_range_out);
    case FUSE_TMPFILE:
        return sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out);
    case FUSE_STATX:
        return sizeof(struct fuse_statx_out);
    default:
        return 0;
    }
}

/* Point the request's node and handle at the open file (@node, @fh). */
static void aim(struct fuse_msg *m, uint64_t node, uint64_t fh)
{
    unsigned char *body = MSG_BYTES(m) + sizeof(struct fuse_in_header);

    MSG_HDR(m)->nodeid = node;
    switch (MSG_HDR(m)->opcode) {
    case FUSE_LSEEK:
    case FUSE_FALLOCATE:
        memcpy(body, &fh, 8);
        break;
    case FUSE_COPY_FILE_RANGE:
    case FUSE_COPY_FILE_RANGE_64:
        memcpy(body, &fh, 8);                       /* fh_in */
        memcpy(body + 16, &node, 8);                /* nodeid_out */
        memcpy(body + 24, &fh, 8);                  /* fh_out */
        break;
    case FUSE_STATX: {
        uint32_t flags = FUSE_GETATTR_FH;

        memcpy(body, &flags, 4);
        memcpy(body + 8, &fh, 8);
        break;
    }
    case FUSE_TMPFILE:
        MSG_HDR(m)->nodeid = FUSE_ROOT_ID;
        break;
    }
}

static void mutated_file_requests_get_one_sane_reply(void)
{
    static const uint32_t ops[] = {FUSE_LSEEK, FUSE_COPY_FILE_RANGE,
                                   FUSE_COPY_FILE_RANGE_64, FUSE_TMPFILE,
                                   FUSE_STATX, FUSE_FALLOCATE, FUSE_BMAP};
    struct rng r = {0x0f51f11e5eed1234ull};
    struct seen_channel ch = {.base = {.ops = &seen_ops}};
    struct fsp_worker w = {0};
    fsp_volume_params_t params;
    static struct fuse_msg m;
    long errors = 0, ok = 0, logged = 0;
    struct fuse_entry_out e;
    struct fuse_open_out o;
    struct fuse_open_in oi = {.flags = O_RDWR};
    fsp_fs_t *fs;

    fsp_volume_params_init(&params);
    params.fs_name = "fuzzfs";
    ASSERT_EQ(fsp_fs_create(&params, &garbage_iface, NULL, &fs), 0);
    fsp_fs_set_log_handler(fs, quiet, &logged);
    w.fs = fs;
    w.ch = &ch.base;
    w.reply_buf_size = 64 * 1024;
    w.reply_buf = malloc(w.reply_buf_size);
    /* A file the requests can name: looked up and open. */
    msg_start(&m, FUSE_LOOKUP, FUSE_ROOT_ID);
    msg_str(&m, "f");
    fsp_dispatch_request(&w, m.words, msg_end(&m));
    ASSERT_EQ(ch.last.error, 0);
    ASSERT_EQ(ch.last_body, sizeof e);
    memcpy(&e, ch.body, sizeof e);
    msg_start(&m, FUSE_OPEN, e.nodeid);
    msg_put(&m, &oi, sizeof oi);
    fsp_dispatch_request(&w, m.words, msg_end(&m));
    ASSERT_EQ(ch.last.error, 0);
    ASSERT_EQ(ch.last_body, sizeof o);
    memcpy(&o, ch.body, sizeof o);

    for (long i = 0; i < ITERATIONS / 10; i++) {
        uint32_t op = ops[rng_below(&r, sizeof ops / sizeof *ops)];
        long before = ch.replies;

        ASSERT_TRUE(msg_valid(&m, op));
        if (rng_below(&r, 4))
            aim(&m, e.nodeid, o.fh);
        for (uint32_t n = rng_below(&r, 3); n > 0; n--)
            mutate(&r, &m);
        if (m.len < sizeof(struct fuse_in_header))
            continue;           /* no header: nothing to answer */
        MSG_HDR(&m)->opcode = op;   /* these opcodes only */
        MSG_HDR(&m)->total_extlen = 0;
        MSG_HDR(&m)->unique = (uint64_t)i * 2 + 2;
        fsp_dispatch_request(&w, m.words, msg_end(&m));
        if (ch.replies != before + 1) {
            ADD_FAILURE("iteration %ld, opcode %u: %ld replies", i, op,
                        ch.replies - before);
            break;
        }
        if (ch.last.error > 0 || ch.last.error < -4095) {
            ADD_FAILURE("iteration %ld, opcode %u: error %d", i, op,
                        ch.last.error);
            break;
        }
        if (ch.last.error == 0 && ch.last_body != body_size_of(op)) {
            ADD_FAILURE("iteration %ld, opcode %u: a body of %zu bytes", i,
                        op, ch.last_body);
            break;
        }
        if (ch.last.error)
            errors++;
        else
            ok++;
    }
    printf("# file requests: %ld answered, %ld errors, %ld log lines\n", ok,
           errors, logged);
    EXPECT_TRUE(ok > 0 && errors > 0 && logged > 0);
    fsp_pending_free_spare(&w);
    free(w.reply_buf);
    fsp_fs_delete(fs);
}

/* ------------------------------- lock, ioctl and poll, dispatched */

/* What the dispatched requests saw. */
struct served {
    struct rng rng;
    long replies, bad_replies, garbage, eio, logged;
};

static struct served served;

/* An answer at random: success, an errno, or garbage (counted). */
static int any_answer(void)
{
    static const int garbage[] = {5, -5000, FSP_PENDING + 7, INT_MIN};
    uint32_t pick = rng_below(&served.rng, 8);

    if (pick < 4)
        return 0;
    if (pick < 6)
        return pick == 4 ? -EAGAIN : -EINVAL;
    served.garbage++;
    return garbage[rng_below(&served.rng, 4)];
}

static int f_get_lock(fsp_fs_t *fs, void *ctx, const fsp_lock_t *lock,
                      fsp_lock_t *conflict)
{
    (void)fs;
    (void)ctx;
    (void)lock;
    if (rng_below(&served.rng, 4) == 0) {
        /* a conflict that is no lock: EIO and a log line too */
        conflict->type = rng_below(&served.rng, 2) ? 9 : F_WRLCK;
        conflict->start = 10;
        conflict->end = 5;
        served.garbage++;
        return 0;
    }
    conflict->type = F_RDLCK;
    conflict->end = 9;
    return any_answer();
}

static int f_set_lock(fsp_fs_t *fs, void *ctx, const fsp_lock_t *lock,
                      unsigned flags)
{
    (void)fs;
    (void)ctx;
    (void)lock;
    (void)flags;
    return any_answer();
}

static int f_flock(fsp_fs_t *fs, void *ctx, uint64_t owner, int op)
{
    (void)fs;
    (void)ctx;
    (void)owner;
    (void)op;
    return any_answer();
}

static int f_ioctl(fsp_fs_t *fs, void *ctx, uint32_t cmd, const void *in,
                   size_t in_size, void *out, size_t out_size, size_t *done)
{
    (void)fs;
    (void)ctx;
    (void)cmd;
    (void)in;
    (void)in_size;
    if (out)
        memset(out, 0xa5, out_size);
    *done = out_size;
    if (rng_below(&served.rng, 5) == 0) {
        *done = out_size + 1;   /* more than there is room for */
        served.garbage++;
        return 0;
    }
    return any_answer();
}

static int f_poll(fsp_fs_t *fs, void *ctx, uint64_t kh, uint32_t events,
                  uint32_t *revents)
{
    (void)fs;
    (void)ctx;
    (void)kh;
    *revents = events;
    return any_answer();
}

/* The fake kernel: checks each reply as fuse_dev_do_write() would. */
static int check_reply(struct fsp_channel *ch, const struct iovec *iov,
                       int iovcnt)
{
    const struct fuse_out_header *hdr = iov[0].iov_base;
    size_t len = 0, body;

    (void)ch;
    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    body = len - sizeof *hdr;
    served.replies++;
    if (hdr->error == -EIO)
        served.eio++;
    if (hdr->len != len || hdr->error > 0 || hdr->error < -4095 ||
        (hdr->error && body))
        served.bad_replies++;
    return 0;
}

static void destroy_nothing(struct fsp_channel *ch)
{
    (void)ch;
}

static const struct fsp_channel_ops checking_ops = {
    .kind = "fake", .send = check_reply, .destroy = destroy_nothing,
};

static void count_log(fsp_fs_t *fs, int level, const char *message,
                      void *user)
{
    (void)fs;
    (void)message;
    (void)user;
    if (level == FSP_LOG_ERROR)
        served.logged++;
}

static void mutated_lock_ioctl_poll_requests_get_replies_the_kernel_takes(void)
{
    static const uint32_t ops[] = {FUSE_GETLK, FUSE_SETLK, FUSE_SETLKW,
                                   FUSE_IOCTL, FUSE_POLL, FUSE_FLUSH};
    fsp_fs_interface_t iface = {
        .get_lock = f_get_lock, .set_lock = f_set_lock, .flock = f_flock,
        .ioctl = f_ioctl, .poll = f_poll,
    };
    fsp_volume_params_t params;
    struct fsp_channel ch = {.ops = &checking_ops};
    struct fsp_worker w;
    struct fsp_node *root;
    fsp_fs_t *fs;
    uint64_t fh;

    memset(&served, 0, sizeof served);
    served.rng.state = 0x10c4ed10c4edull;
    fsp_volume_params_init(&params);
    params.fs_name = "fuzzfs";
    ASSERT_EQ(fsp_fs_create(&params, &iface, NULL, &fs), 0);
    fsp_fs_set_log_handler(fs, count_log, NULL);
    fs->init_flags |= FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS;
    root = fsp_node_get(fs, FUSE_ROOT_ID);
    fh = fsp_handle_open(fs, NULL, root, O_RDWR, false);
    fsp_node_put(fs, root);
    ASSERT_TRUE(fh != 0);
    memset(&w, 0, sizeof w);
    w.fs = fs;
    w.ch = &ch;
    w.reply_buf_size = 64 * 1024;
    w.reply_buf = malloc(w.reply_buf_size);
    ASSERT_TRUE(w.reply_buf != NULL);

    for (long i = 0; i < ITERATIONS / 10; i++) {
        static struct fuse_msg m;
        uint32_t op = ops[rng_below(&served.rng, 6)];

        if (!msg_valid(&m, op))
            continue;
        MSG_HDR(&m)->nodeid = FUSE_ROOT_ID;
        MSG_HDR(&m)->unique = 2 * (uint64_t)i + 2;
        /* the open file's fh: the first field of each of these */
        memcpy(MSG_BYTES(&m) + sizeof(struct fuse_in_header), &fh,
               sizeof fh);
        for (uint32_t n = rng_below(&served.rng, 3); n > 0; n--)
            mutate(&served.rng, &m);
        if (m.len >= 4) {
            uint32_t len = (uint32_t)m.len;

            memcpy(MSG_BYTES(&m), &len, 4);
        }
        fsp_dispatch_request(&w, m.words, m.len);
    }
    printf("# dispatched: %ld replies, %ld garbage answers, %ld EIO, "
           "%ld logged\n", served.replies, served.garbage, served.eio,
           served.logged);
    EXPECT_EQ(served.bad_replies, 0);
    EXPECT_TRUE(served.garbage > 0);
    EXPECT_TRUE(served.eio >= served.garbage);
    EXPECT_TRUE(served.logged >= served.garbage);
    fsp_pending_free_spare(&w);
    free(w.reply_buf);
    fsp_fs_delete(fs);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(mutated_requests_never_crash_or_read_outside),
    EXPECT_CASE(random_bytes_never_crash_or_read_outside),
    EXPECT_CASE(every_length_of_every_request_is_handled),
    EXPECT_CASE(mutated_file_requests_get_one_sane_reply),
    EXPECT_CASE(mutated_lock_ioctl_poll_requests_get_replies_the_kernel_takes),
};

int main(void)
{
    return expect_run("test_protocol_fuzz", cases, sizeof cases / sizeof *cases);
}
