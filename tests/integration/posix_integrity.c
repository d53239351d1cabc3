/*
 * posix_integrity.c - data integrity: random operations checked against an
 * in-memory model, and several processes at once (private files, a shared
 * directory, directories renamed under lookups, files renamed between
 * directories, direct writes under buffered reads). Lookups that race a
 * rename may fail with ENOENT; wrong contents, other errors, or a daemon
 * crash are failures.
 *
 * FSP_SEED=N overrides the random seed of random_ops_match_model;
 * FSP_OPS=N the number of operations (20,000).
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/aio_abi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* one file against a model                                            */

#define MODEL_MAX (4u << 20)
#define BIG_IO (256u << 10)

struct op_log {
    char text[8][96];
    unsigned n;
};

static void log_op(struct op_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_op(struct op_log *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->text[l->n++ % 8], sizeof l->text[0], fmt, ap);
    va_end(ap);
}

static void dump_ops(struct op_log *l)
{
    unsigned first = l->n > 8 ? l->n - 8 : 0;
    for (unsigned i = first; i < l->n; i++)
        h_note("op %u: %s", i, l->text[i % 8]);
}

static size_t rand_len(uint64_t *s)
{
    if (h_rand_below(s, 8) == 0)
        return 1 + h_rand_below(s, BIG_IO);
    return 1 + h_rand_below(s, 8192);
}

static void fill_random(uint64_t *s, unsigned char *b, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t r = h_rand(s);
        memcpy(b + i, &r, 8);
    }
    for (; i < n; i++)
        b[i] = (unsigned char)h_rand(s);
}

static bool verify_whole(int fd, const unsigned char *model, size_t size, struct op_log *log,
                         const char *when)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size != size) {
        ADD_FAILURE("%s: file size %lld, model %zu", when, (long long)st.st_size, size);
        dump_ops(log);
        return false;
    }
    unsigned char *b = malloc(size + 1);
    ssize_t got = 0;
    while ((size_t)got < size) {
        ssize_t r = pread(fd, b + got, size - got, got);
        if (r <= 0)
            break;
        got += r;
    }
    bool ok = (size_t)got == size && memcmp(b, model, size) == 0;
    if (!ok) {
        ADD_FAILURE("%s: read %zd of %zu bytes; first difference at %zu", when, got, size,
                    expect_memdiff(b, model, (size_t)got < size ? (size_t)got : size));
        dump_ops(log);
    }
    free(b);
    return ok;
}

static void random_ops_match_model(void)
{
    uint64_t seed = 20240601;
    const char *es = getenv("FSP_SEED");
    if (es && *es)
        seed = strtoull(es, NULL, 0);
    long nops = 20000;
    const char *eo = getenv("FSP_OPS");
    if (eo && atol(eo) > 0)
        nops = atol(eo);
    h_note("seed %llu (FSP_SEED=%llu to repeat), %ld operations", (unsigned long long)seed,
           (unsigned long long)seed, nops);
    uint64_t rs = seed;

    const char *p = h_path("model.dat");
    unsigned char *model = calloc(1, MODEL_MAX);
    unsigned char *buf = malloc(BIG_IO + 16), *rb = malloc(BIG_IO + 16);
    size_t size = 0;
    struct op_log log = { 0 };
    int fd = ASSERT_OK(open(p, O_CREAT | O_RDWR | O_TRUNC, 0644));
    long counts[6] = { 0 };
    for (long i = 0; i < nops; i++) {
        unsigned r = (unsigned)h_rand_below(&rs, 100);
        if (r < 40) { /* pwrite, also past EOF */
            size_t len = rand_len(&rs);
            size_t off = (size_t)h_rand_below(&rs, size + 65536);
            if (off + len > MODEL_MAX)
                off = MODEL_MAX - len;
            fill_random(&rs, buf, len);
            log_op(&log, "pwrite off=%zu len=%zu (size %zu)", off, len, size);
            ssize_t w = pwrite(fd, buf, len, (off_t)off);
            if (w != (ssize_t)len) {
                ADD_FAILURE("op %ld: pwrite(off=%zu, len=%zu) -> %zd; errno=%s", i, off, len, w,
                            expect_errname(errno));
                dump_ops(&log);
                break;
            }
            memcpy(model + off, buf, len);
            if (off + len > size)
                size = off + len;
            counts[0]++;
        } else if (r < 75) { /* pread and compare */
            size_t len = rand_len(&rs);
            size_t off = (size_t)h_rand_below(&rs, size + 4096);
            log_op(&log, "pread off=%zu len=%zu (size %zu)", off, len, size);
            ssize_t got = pread(fd, rb, len, (off_t)off);
            size_t want = off >= size ? 0 : (size - off < len ? size - off : len);
            if (got != (ssize_t)want) {
                ADD_FAILURE("op %ld: pread(off=%zu, len=%zu) -> %zd, model says %zu; errno=%s", i,
                            off, len, got, want, expect_errname(errno));
                dump_ops(&log);
                break;
            }
            if (memcmp(rb, model + off, want) != 0) {
                ADD_FAILURE("op %ld: pread(off=%zu, len=%zu): data differs from the model at file "
                            "offset %zu", i, off, len, off + expect_memdiff(rb, model + off, want));
                dump_ops(&log);
                break;
            }
            counts[1]++;
        } else if (r < 83) { /* ftruncate: grow or shrink */
            size_t ns = (size_t)h_rand_below(&rs, size * 2 + 65536);
            if (ns > MODEL_MAX)
                ns = MODEL_MAX;
            log_op(&log, "ftruncate %zu (size %zu)", ns, size);
            if (ftruncate(fd, (off_t)ns) != 0) {
                ADD_FAILURE("op %ld: ftruncate(%zu): errno=%s", i, ns, expect_errname(errno));
                dump_ops(&log);
                break;
            }
            if (ns > size)
                memset(model + size, 0, ns - size);
            else
                memset(model + ns, 0, size - ns); /* so later growth is zeros */
            size = ns;
            counts[2]++;
        } else if (r < 93) { /* fstat */
            struct stat st;
            log_op(&log, "fstat (size %zu)", size);
            if (fstat(fd, &st) != 0 || (size_t)st.st_size != size) {
                ADD_FAILURE("op %ld: fstat size %lld, model %zu; errno=%s", i,
                            (long long)st.st_size, size, expect_errname(errno));
                dump_ops(&log);
                break;
            }
            counts[3]++;
        } else if (r < 95) { /* close and reopen */
            log_op(&log, "close+reopen (size %zu)", size);
            if (close(fd) != 0)
                ADD_FAILURE("op %ld: close: errno=%s", i, expect_errname(errno));
            fd = open(p, O_RDWR);
            if (fd < 0) {
                ADD_FAILURE("op %ld: reopen: errno=%s", i, expect_errname(errno));
                break;
            }
            counts[4]++;
        } else if (r < 97) { /* fsync */
            log_op(&log, "fsync");
            if (fsync(fd) != 0)
                ADD_FAILURE("op %ld: fsync: errno=%s", i, expect_errname(errno));
        } else { /* write() at a position set by lseek */
            size_t len = 1 + h_rand_below(&rs, 4096);
            size_t off = (size_t)h_rand_below(&rs, size + 1);
            if (off + len > MODEL_MAX)
                off = MODEL_MAX - len;
            fill_random(&rs, buf, len);
            log_op(&log, "lseek %zu + write len=%zu (size %zu)", off, len, size);
            if (lseek(fd, (off_t)off, SEEK_SET) != (off_t)off ||
                write(fd, buf, len) != (ssize_t)len) {
                ADD_FAILURE("op %ld: lseek+write(off=%zu, len=%zu): errno=%s", i, off, len,
                            expect_errname(errno));
                dump_ops(&log);
                break;
            }
            memcpy(model + off, buf, len);
            if (off + len > size)
                size = off + len;
            counts[5]++;
        }
        if (i % 2000 == 1999 && !verify_whole(fd, model, size, &log, "periodic check"))
            break;
    }
    if (fd >= 0 && h_failures() == 0) {
        verify_whole(fd, model, size, &log, "final check");
        close(fd);
        fd = ASSERT_OK(open(p, O_RDONLY));
        verify_whole(fd, model, size, &log, "after reopen");
    }
    if (fd >= 0)
        close(fd);
    h_note("pwrite %ld, pread %ld, ftruncate %ld, fstat %ld, reopen %ld, write %ld; final size %zu",
           counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], size);
    free(model);
    free(buf);
    free(rb);
}

/* ------------------------------------------------------------------ */
/* many processes                                                      */

static void pattern(unsigned char *b, size_t n, unsigned a, unsigned c)
{
    uint64_t s = ((uint64_t)a << 32) ^ c ^ 0x5eed;
    fill_random(&s, b, n);
}

static bool read_exact(const char *path, unsigned char *b, size_t cap, ssize_t *got)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    ssize_t n = 0, r;
    while ((size_t)n < cap && (r = read(fd, b + n, cap - n)) > 0)
        n += r;
    int e = errno;
    close(fd);
    errno = e;
    *got = n;
    return true;
}

struct procs_arg {
    int iters;
};

static void private_and_shared_worker(int w, void *arg)
{
    struct procs_arg *a = arg;
    unsigned char *b = malloc(65536), *rb = malloc(65536 + 16);
    uint64_t rs = 1000 + (uint64_t)w;
    for (int it = 0; it < a->iters && h_failures() == 0; it++) {
        size_t len = (size_t)h_rand_below(&rs, 65537);
        pattern(b, len, (unsigned)w, (unsigned)it);
        const char *f = h_path("w%d/f%d", w, it);
        int fd = open(f, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) {
            ADD_FAILURE("worker %d: create %s: errno=%s", w, f, expect_errname(errno));
            break;
        }
        if (write(fd, b, len) != (ssize_t)len)
            ADD_FAILURE("worker %d: write %s: errno=%s", w, f, expect_errname(errno));
        close(fd);
        ssize_t got;
        if (!read_exact(f, rb, 65536 + 16, &got) || got != (ssize_t)len || memcmp(rb, b, len))
            ADD_FAILURE("worker %d: %s: read back %zd of %zu bytes, or wrong data (errno=%s)", w,
                        f, got, len, expect_errname(errno));
        const char *g = h_path("w%d/r%d", w, it);
        if (rename(f, g) != 0)
            ADD_FAILURE("worker %d: rename %s: errno=%s", w, f, expect_errname(errno));
        struct stat st;
        if (stat(g, &st) != 0 || st.st_size != (off_t)len)
            ADD_FAILURE("worker %d: stat %s: size %lld, expected %zu (errno=%s)", w, g,
                        (long long)st.st_size, len, expect_errname(errno));
        if (!read_exact(g, rb, 65536 + 16, &got) || got != (ssize_t)len || memcmp(rb, b, len))
            ADD_FAILURE("worker %d: %s after rename: wrong data", w, g);
        if (it % 2 == 0 && unlink(g) != 0)
            ADD_FAILURE("worker %d: unlink %s: errno=%s", w, g, expect_errname(errno));
        if (it % 2 == 1 && it > 1 && unlink(h_path("w%d/r%d", w, it - 2)) != 0)
            ADD_FAILURE("worker %d: unlink r%d: errno=%s", w, it - 2, expect_errname(errno));

        /* shared directory: own entries, other workers' entries */
        /* written under a hidden name, then renamed into place, so that a
           reader never sees a half-written entry */
        const char *tmp = h_path("shared/.tmp_s%d_%d", w, it);
        const char *s = h_path("shared/s%d_%d", w, it);
        char content[64];
        int cl = snprintf(content, sizeof content, "s%d_%d", w, it);
        if (!h_write_file(tmp, content, (size_t)cl, 0644))
            ADD_FAILURE("worker %d: create %s: errno=%s", w, tmp, expect_errname(errno));
        else if (rename(tmp, s) != 0)
            ADD_FAILURE("worker %d: rename %s: errno=%s", w, tmp, expect_errname(errno));
        int ow = (int)h_rand_below(&rs, 8), oi = it > 0 ? (int)h_rand_below(&rs, (uint64_t)it) : 0;
        if (unlink(h_path("shared/s%d_%d", ow, oi)) != 0 && errno != ENOENT)
            ADD_FAILURE("worker %d: unlink shared/s%d_%d: errno=%s", w, ow, oi, expect_errname(errno));
        if (it % 25 == 0) {
            DIR *d = opendir(h_path("shared"));
            if (!d) {
                ADD_FAILURE("worker %d: opendir shared: errno=%s", w, expect_errname(errno));
                continue;
            }
            struct dirent *e;
            errno = 0;
            while ((e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                    continue;
                /* an entry may vanish between readdir and open */
                ssize_t n;
                char c2[64];
                if (read_exact(h_path("shared/%s", e->d_name), (unsigned char *)c2, sizeof c2 - 1, &n)) {
                    c2[n] = 0;
                    if (strcmp(c2, e->d_name) != 0)
                        ADD_FAILURE("worker %d: shared/%s holds \"%s\"", w, e->d_name, c2);
                } else if (errno != ENOENT) {
                    ADD_FAILURE("worker %d: open shared/%s: errno=%s", w, e->d_name, expect_errname(errno));
                }
                errno = 0;
            }
            if (errno)
                ADD_FAILURE("worker %d: readdir shared: errno=%s", w, expect_errname(errno));
            closedir(d);
        }
    }
    free(b);
    free(rb);
}

static void concurrent_processes_on_private_files_and_a_shared_dir(void)
{
    enum { W = 6 };
    ASSERT_OK(mkdir(h_path("shared"), 0755));
    for (int w = 0; w < W; w++)
        ASSERT_OK(mkdir(h_path("w%d", w), 0755));
    struct procs_arg a = { .iters = 250 };
    EXPECT_EQ(h_fork_workers(W, private_and_shared_worker, &a, 150), 0);
    /* what is left is consistent */
    for (int w = 0; w < W; w++) {
        DIR *d = opendir(h_path("w%d", w));
        ASSERT_TRUE(d != NULL);
        struct dirent *e;
        int n = 0;
        while ((e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        EXPECT_LE(n, 2); /* the last odd r%d and its predecessor */
    }
    DIR *d = opendir(h_path("shared"));
    ASSERT_TRUE(d != NULL);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        char c[64];
        ssize_t got;
        if (!read_exact(h_path("shared/%s", e->d_name), (unsigned char *)c, sizeof c - 1, &got))
            ADD_FAILURE("shared/%s listed but cannot be opened: errno=%s", e->d_name, expect_errname(errno));
        else {
            c[got] = 0;
            EXPECT_STREQ(c, e->d_name);
        }
    }
    closedir(d);
    h_note("%d shared entries left", n);
}

/* ------------------------------------------------------------------ */
/* a directory renamed back and forth under lookups                    */

#define NF 10
#define FSIZE 1000

static void file_content(int k, char *b)
{
    for (int i = 0; i < FSIZE; i++)
        b[i] = (char)('A' + (k * 7 + i) % 26);
    memcpy(b, "file", 4);
    b[4] = (char)('0' + k);
}

struct race_arg {
    double until;
};

static void renamer(void *arg)
{
    struct race_arg *a = arg;
    long n = 0;
    while (h_now() < a->until) {
        if (rename(h_path("A"), h_path("B")) != 0) {
            ADD_FAILURE("rename A->B: errno=%s", expect_errname(errno));
            break;
        }
        if (rename(h_path("B"), h_path("A")) != 0) {
            ADD_FAILURE("rename B->A: errno=%s", expect_errname(errno));
            break;
        }
        n += 2;
    }
    h_note("renamer: %ld renames", n);
}

static void looker(int w, void *arg)
{
    struct race_arg *a = arg;
    if (w == 0) {
        renamer(arg);
        return;
    }
    uint64_t rs = (uint64_t)w * 77;
    char want[FSIZE], got[FSIZE + 8];
    long opens = 0, enoent = 0, tmps = 0;
    while (h_now() < a->until && h_failures() == 0) {
        int k = (int)h_rand_below(&rs, NF);
        const char *dir = h_rand_below(&rs, 2) ? "A" : "B";
        file_content(k, want);
        unsigned what = (unsigned)h_rand_below(&rs, 4);
        if (what == 0) {
            struct stat st;
            if (stat(h_path("%s/f%d", dir, k), &st) == 0) {
                if (st.st_size != FSIZE || !S_ISREG(st.st_mode))
                    ADD_FAILURE("stat %s/f%d: size %lld mode %o", dir, k, (long long)st.st_size,
                                st.st_mode);
            } else if (errno != ENOENT) {
                ADD_FAILURE("stat %s/f%d: errno=%s", dir, k, expect_errname(errno));
            }
            continue;
        }
        if (what == 1 && tmps < 2000) { /* a file created inside, checked through its fd */
            int fd = open(h_path("%s/tmp%d_%ld", dir, w, tmps), O_CREAT | O_EXCL | O_RDWR, 0644);
            if (fd < 0) {
                if (errno != ENOENT)
                    ADD_FAILURE("create in %s: errno=%s", dir, expect_errname(errno));
                continue;
            }
            char t[64], r[64];
            int tl = snprintf(t, sizeof t, "tmp%d_%ld", w, tmps++);
            if (pwrite(fd, t, (size_t)tl, 0) != tl || pread(fd, r, sizeof r, 0) != tl ||
                memcmp(t, r, (size_t)tl) != 0)
                ADD_FAILURE("temp file %s: wrong data through its descriptor", t);
            close(fd);
            continue;
        }
        const char *path = what == 2 ? h_path("%s/f%d", dir, k) : h_path("%s/sub/f%d", dir, k);
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            if (errno == ENOENT)
                enoent++;
            else
                ADD_FAILURE("open %s: errno=%s", path, expect_errname(errno));
            continue;
        }
        opens++;
        ssize_t n = pread(fd, got, sizeof got, 0);
        if (n != FSIZE || memcmp(got, want, FSIZE) != 0)
            ADD_FAILURE("%s: read %zd bytes, wrong contents (first diff at %zu)", path, n,
                        expect_memdiff(got, want, n > 0 ? (size_t)n : 0));
        close(fd);
    }
    h_note("looker %d: %ld opens, %ld ENOENT, %ld temp files", w, opens, enoent, tmps);
}

static void directory_renamed_back_and_forth_under_lookups(void)
{
    ASSERT_OK(mkdir(h_path("A"), 0755));
    ASSERT_OK(mkdir(h_path("A/sub"), 0755));
    char b[FSIZE];
    for (int k = 0; k < NF; k++) {
        file_content(k, b);
        ASSERT_TRUE(h_write_file(h_path("A/f%d", k), b, FSIZE, 0644));
        ASSERT_TRUE(h_write_file(h_path("A/sub/f%d", k), b, FSIZE, 0644));
    }
    struct race_arg a = { .until = h_now() + 5 };
    EXPECT_EQ(h_fork_workers(5, looker, &a, 60), 0);
    struct stat st;
    EXPECT_OK(stat(h_path("A"), &st));
    EXPECT_ERRNO(stat(h_path("B"), &st), ENOENT);
    char got[FSIZE + 8];
    for (int k = 0; k < NF; k++) {
        file_content(k, b);
        ssize_t n;
        EXPECT_TRUE(read_exact(h_path("A/f%d", k), (unsigned char *)got, sizeof got, &n) &&
                    n == FSIZE && memcmp(got, b, FSIZE) == 0);
        EXPECT_TRUE(read_exact(h_path("A/sub/f%d", k), (unsigned char *)got, sizeof got, &n) &&
                    n == FSIZE && memcmp(got, b, FSIZE) == 0);
    }
    /* the temp files all landed in A with their own names as contents */
    DIR *d = opendir(h_path("A"));
    ASSERT_TRUE(d != NULL);
    struct dirent *e;
    int tmps = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "tmp", 3) != 0)
            continue;
        tmps++;
        ssize_t n;
        if (read_exact(h_path("A/%s", e->d_name), (unsigned char *)got, sizeof got - 1, &n)) {
            got[n] = 0;
            EXPECT_STREQ(got, e->d_name);
        } else {
            ADD_FAILURE("A/%s: errno=%s", e->d_name, expect_errname(errno));
        }
    }
    closedir(d);
    h_note("%d temp files checked", tmps);
}

/* ------------------------------------------------------------------ */
/* files renamed between directories by several processes              */

#define XF 40
#define XD 4

static void xdir_content(int k, char *b, size_t n)
{
    memset(b, 'a' + k % 26, n);
    snprintf(b, n, "file%02d", k);
}

static void xdir_worker(int w, void *arg)
{
    struct race_arg *a = arg;
    uint64_t rs = (uint64_t)w * 1313 + 1;
    char want[4096], got[4096 + 8];
    long moved = 0, missed = 0;
    while (h_now() < a->until && h_failures() == 0) {
        int k = (int)h_rand_below(&rs, XF);
        int from = (int)h_rand_below(&rs, XD), to = (int)h_rand_below(&rs, XD);
        const char *src = h_path("d%d/file%02d", from, k);
        const char *dst = h_path("d%d/file%02d", to, k);
        /* NOREPLACE is not needed: file k has one name at any time, and a
           rename onto its own name is a no-op */
        if (rename(src, dst) != 0) {
            if (errno != ENOENT)
                ADD_FAILURE("rename %s -> %s: errno=%s", src, dst, expect_errname(errno));
            missed++;
            continue;
        }
        moved++;
        xdir_content(k, want, sizeof want);
        int fd = open(dst, O_RDONLY);
        if (fd < 0) {
            if (errno != ENOENT)
                ADD_FAILURE("open %s: errno=%s", dst, expect_errname(errno));
            continue;
        }
        ssize_t n = pread(fd, got, sizeof got, 0);
        if (n != (ssize_t)sizeof want || memcmp(got, want, sizeof want) != 0)
            ADD_FAILURE("%s: wrong contents after rename (%zd bytes)", dst, n);
        close(fd);
    }
    h_note("worker %d: %ld renames, %ld ENOENT", w, moved, missed);
}

static void files_renamed_between_dirs_by_many_processes_stay_unique(void)
{
    for (int d = 0; d < XD; d++)
        ASSERT_OK(mkdir(h_path("d%d", d), 0755));
    char b[4096];
    for (int k = 0; k < XF; k++) {
        xdir_content(k, b, sizeof b);
        ASSERT_TRUE(h_write_file(h_path("d0/file%02d", k), b, sizeof b, 0644));
    }
    struct race_arg a = { .until = h_now() + 5 };
    EXPECT_EQ(h_fork_workers(6, xdir_worker, &a, 60), 0);
    int where[XF];
    for (int k = 0; k < XF; k++)
        where[k] = -1;
    int total = 0;
    for (int d = 0; d < XD; d++) {
        DIR *dir = opendir(h_path("d%d", d));
        ASSERT_TRUE(dir != NULL);
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            int k;
            if (sscanf(e->d_name, "file%2d", &k) != 1 || k < 0 || k >= XF) {
                if (e->d_name[0] != '.')
                    ADD_FAILURE("unexpected d%d/%s", d, e->d_name);
                continue;
            }
            total++;
            if (where[k] >= 0)
                ADD_FAILURE("file%02d is in d%d and d%d", k, where[k], d);
            where[k] = d;
        }
        closedir(dir);
    }
    EXPECT_EQ(total, XF);
    char got[4096 + 8];
    for (int k = 0; k < XF; k++) {
        if (where[k] < 0) {
            ADD_FAILURE("file%02d is lost", k);
            continue;
        }
        xdir_content(k, b, sizeof b);
        ssize_t n;
        EXPECT_TRUE(read_exact(h_path("d%d/file%02d", where[k], k), (unsigned char *)got,
                               sizeof got, &n) && n == (ssize_t)sizeof b &&
                    memcmp(got, b, sizeof b) == 0);
        struct stat st;
        EXPECT_OK(stat(h_path("d%d/file%02d", where[k], k), &st));
        EXPECT_EQ(st.st_nlink, 1);
    }
}

/* ------------------------------------------------------------------ */
/* asynchronous direct writes under buffered reads                     */

/*
 * xfstests generic/451: readers read a file through the page cache over
 * and over while a writer rewrites it with asynchronous (io_submit)
 * O_DIRECT writes, each followed by a buffered read on a new descriptor.
 * That read must see what the write wrote: the pages the readers cached
 * while the write was in flight are stale and must have been dropped.
 */
#define DIO_SIZE (640u << 10)
#define DIO_CYCLES 400
#define DIO_SECONDS 8.0
#define DIO_READERS 3

struct dio_arg {
    char file[PATH_MAX];
    char running[PATH_MAX];   /* exists while the writer writes */
};

/* The first byte of @b[0..n) that is not @fill, or -1. */
static long first_other_byte(const unsigned char *b, size_t n, unsigned char fill)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != fill)
            return (long)i;
    return -1;
}

/* Reads @a->file whole into @buf, through the page cache or directly. */
static bool read_whole(const struct dio_arg *a, unsigned char *buf, int flags)
{
    int fd = open(a->file, O_RDONLY | flags);
    if (fd < 0)
        return false;
    ssize_t n = pread(fd, buf, DIO_SIZE, 0);
    int e = n < 0 ? errno : EIO;    /* EIO: a short read */
    close(fd);
    errno = e;
    return n == (ssize_t)DIO_SIZE;
}

/* One asynchronous O_DIRECT write of @buf at offset 0, waited for. */
static bool async_direct_write(aio_context_t ctx, int fd, const void *buf)
{
    struct iocb cb = {
        .aio_fildes = (uint32_t)fd,
        .aio_lio_opcode = IOCB_CMD_PWRITE,
        .aio_buf = (uint64_t)(uintptr_t)buf,
        .aio_nbytes = DIO_SIZE,
    };
    struct iocb *cbs[1] = { &cb };
    struct io_event ev;
    struct timespec limit = { .tv_sec = 20 };

    if (syscall(SYS_io_submit, ctx, 1L, cbs) != 1) {
        ADD_FAILURE("io_submit: %s", expect_errname(errno));
        return false;
    }
    if (syscall(SYS_io_getevents, ctx, 1L, 1L, &ev, &limit) != 1) {
        ADD_FAILURE("io_getevents: %s", expect_errname(errno));
        return false;
    }
    if (ev.res != (int64_t)DIO_SIZE) {
        ADD_FAILURE("asynchronous direct write: result %lld", (long long)ev.res);
        return false;
    }
    return true;
}

/* After the write of @fill in @cycle, a read (buffered or, with @flags
 * O_DIRECT, direct) must return @fill in every byte. */
static bool read_back(const struct dio_arg *a, unsigned char *buf, int flags,
                      unsigned char fill, int cycle)
{
    const char *how = flags ? "direct" : "buffered";
    long at;

    if (!read_whole(a, buf, flags)) {
        ADD_FAILURE("cycle %d: %s read: %s", cycle, how, expect_errname(errno));
        return false;
    }
    at = first_other_byte(buf, DIO_SIZE, fill);
    if (at >= 0) {
        ADD_FAILURE("cycle %d: a %s read after the direct write of 0x%02x sees "
                    "other data (0x%02x at byte %ld)", cycle, how, fill, buf[at], at);
        return false;
    }
    return true;
}

/* Buffered reads of the whole file until the writer is done. */
static void buffered_reader(const struct dio_arg *a)
{
    unsigned char *buf = malloc(DIO_SIZE);
    while (buf && access(a->running, F_OK) == 0)
        if (!read_whole(a, buf, 0)) {
            ADD_FAILURE("buffered read of %s: %s", a->file, expect_errname(errno));
            break;
        }
    free(buf);
}

/* Rewrites the file with 0x55 and 0xaa in turn; after each write, a
 * buffered and a direct read must see it. */
static void direct_writer(const struct dio_arg *a)
{
    aio_context_t ctx = 0;
    void *wbuf = NULL, *rbuf = NULL;
    int fd = -1, cycle = 0;
    double end = h_now() + DIO_SECONDS;

    if (posix_memalign(&wbuf, 4096, DIO_SIZE) || posix_memalign(&rbuf, 4096, DIO_SIZE)) {
        ADD_FAILURE("posix_memalign");
        goto out;
    }
    if (syscall(SYS_io_setup, 1L, &ctx) != 0) {
        ADD_FAILURE("io_setup: %s", expect_errname(errno));
        goto out;
    }
    fd = open(a->file, O_RDWR | O_DIRECT);
    if (fd < 0) {
        ADD_FAILURE("open %s O_DIRECT: %s", a->file, expect_errname(errno));
        goto out;
    }
    for (; cycle < DIO_CYCLES && h_now() < end; cycle++) {
        unsigned char fill = cycle % 2 ? 0xaa : 0x55;
        memset(wbuf, fill, DIO_SIZE);
        if (!async_direct_write(ctx, fd, wbuf) || !read_back(a, rbuf, 0, fill, cycle) ||
            !read_back(a, rbuf, O_DIRECT, fill, cycle))
            break;
    }
    h_note("%d direct writes, each read back buffered and direct", cycle);
out:
    unlink(a->running);
    if (fd >= 0)
        close(fd);
    if (ctx)
        syscall(SYS_io_destroy, ctx);
    free(wbuf);
    free(rbuf);
}

/* Worker 0 writes, the others read. */
static void dio_worker(int w, void *arg)
{
    if (w == 0)
        direct_writer(arg);
    else
        buffered_reader(arg);
}

static void buffered_read_after_async_direct_write_sees_new_data(void)
{
    struct dio_arg a;
    snprintf(a.file, sizeof a.file, "%s", h_path("dio"));
    snprintf(a.running, sizeof a.running, "%s", h_path("dio.running"));
    unsigned char *b = malloc(DIO_SIZE);
    ASSERT_TRUE(b != NULL);
    memset(b, 0x55, DIO_SIZE);
    ASSERT_TRUE(h_write_file(a.file, b, DIO_SIZE, 0644));
    free(b);
    int probe = open(a.file, O_RDONLY | O_DIRECT);
    if (probe < 0 && errno == EINVAL)
        h_skip("this file system refuses O_DIRECT");
    ASSERT_OK(probe);
    close(probe);
    ASSERT_TRUE(h_write_file(a.running, "", 0, 0644));
    EXPECT_EQ(h_fork_workers(1 + DIO_READERS, dio_worker, &a, 60), 0);
}

static const struct h_case cases[] = {
    H_CASE_T(random_ops_match_model, NULL, 0, 300),
    H_CASE_T(concurrent_processes_on_private_files_and_a_shared_dir, NULL, 0, 180),
    H_CASE_T(directory_renamed_back_and_forth_under_lookups, NULL, 0, 90),
    H_CASE_T(files_renamed_between_dirs_by_many_processes_stay_unique, NULL, 0, 90),
    H_CASE_T(buffered_read_after_async_direct_write_sees_new_data, NULL, 0, 90),
};

int main(int argc, char **argv)
{
    return h_main("posix_integrity", argc, argv, cases, sizeof cases / sizeof *cases);
}
