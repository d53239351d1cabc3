/*
 * expect.h - the assertions of every fsp test, and the runner of the tests
 * whose cases run one after another in one process (tests/unit,
 * tests/launcher/test_class_file.c, samples/memfs/memfs_selftest.c,
 * tools/fsptool/test_stats.c). The integration harness
 * (tests/integration/harness.h) runs its cases itself, with these
 * assertions.
 *
 * EXPECT_* check and go on, so that one run shows every failure; ASSERT_*
 * also end the case, where the rest of it could only fail on. A failure is
 * one line: "file.c:123: " then the expression as written and the values
 * it had, e.g. "file.c:123: n == 4 (3 vs 4, 0x3 vs 0x4; errno=0)".
 * The runner below prints it on stderr; the harness sends it to the case's
 * result line (expect_set_reporter).
 *
 * errno is set to 0 before an expression is evaluated, so that the errno a
 * failure shows is the expression's own: check errno within the expression
 * (EXPECT_TRUE(f() == -1 && errno == ENOENT)) or with EXPECT_ERRNO.
 *
 * A case is a function named after the behaviour it checks:
 *
 *   static void lookup_name_must_be_nul_terminated(void) { EXPECT_EQ(...); }
 *   static const struct expect_case cases[] = {
 *       EXPECT_CASE(lookup_name_must_be_nul_terminated),
 *   };
 *   int main(void)
 *   {
 *       return expect_run("test_protocol", cases, sizeof cases / sizeof *cases);
 *   }
 */
#ifndef FSP_TEST_EXPECT_H
#define FSP_TEST_EXPECT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* ---- failures ---- */

/* Record a failure at file:line; the case goes on. */
void expect_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define ADD_FAILURE(...) expect_fail(__FILE__, __LINE__, __VA_ARGS__)

/* End the current case (after a failed ASSERT_*): in the runner below, go
 * on with the next case; elsewhere (the harness runs every case in a
 * process of its own) end the process with _exit(1). Call it from the
 * case's own thread or process only. */
void expect_abort_case(void) __attribute__((noreturn));

/* Where failures go: report(message) gets each failure's line, without a
 * newline. NULL: stderr (the default). */
void expect_set_reporter(void (*report)(const char *message));

/* "ENOENT" for ENOENT, "0" for 0, the number if it has no name. */
const char *expect_errname(int e);
/* The offset of the first byte where a and b differ; (size_t)-1 if none. */
size_t expect_memdiff(const void *a, const void *b, size_t n);

/* ---- assertions (EXPECT_* go on, ASSERT_* end the case) ---- */

#define EXPECT_OR_END_(ok) do { if (!(ok)) expect_abort_case(); } while (0)

/* call must not return a negative value; yields the value. */
#define EXPECT_OK(call) ({                                                   \
    errno = 0;                                                               \
    long long _r = (long long)(call);                                        \
    int _e = errno;                                                          \
    if (_r < 0)                                                              \
        ADD_FAILURE("%s -> %lld; errno=%s", #call, _r, expect_errname(_e));  \
    errno = _e;                                                              \
    _r; })
#define ASSERT_OK(call) ({                                                   \
    long long _ar = EXPECT_OK(call);                                         \
    if (_ar < 0) expect_abort_case();                                        \
    _ar; })

/* call must return -1 with errno == err; yields true if it did. */
#define EXPECT_ERRNO(call, err) ({                                           \
    errno = 0;                                                               \
    long long _r = (long long)(call);                                        \
    int _e = errno;                                                          \
    bool _ok = _r == -1 && _e == (err);                                      \
    if (!_ok)                                                                \
        ADD_FAILURE("%s -> %lld; errno=%s; expected -1 with %s", #call, _r,  \
                    _r == -1 ? expect_errname(_e) : "(none)",                \
                    expect_errname(err));                                    \
    _ok; })
#define ASSERT_ERRNO(call, err) EXPECT_OR_END_(EXPECT_ERRNO(call, err))

/* either of two errnos is right. */
#define EXPECT_ERRNO2(call, err1, err2) ({                                   \
    errno = 0;                                                               \
    long long _r = (long long)(call);                                        \
    int _e = errno;                                                          \
    bool _ok = _r == -1 && (_e == (err1) || _e == (err2));                   \
    if (!_ok)                                                                \
        ADD_FAILURE("%s -> %lld; errno=%s; expected -1 with %s or %s",       \
                    #call, _r, _r == -1 ? expect_errname(_e) : "(none)",     \
                    expect_errname(err1), expect_errname(err2));             \
    _ok; })

/* Integers (and pointers) of any type, compared as long long; both values
 * are shown in decimal and in hex. Yields true if the comparison held. */
#define EXPECT_CMP_(a, op, b) ({                                             \
    errno = 0;                                                               \
    long long _a = (long long)(a), _b = (long long)(b);                      \
    bool _ok = _a op _b;                                                     \
    if (!_ok)                                                                \
        ADD_FAILURE("%s %s %s (%lld vs %lld, %#llx vs %#llx; errno=%s)",     \
                    #a, #op, #b, _a, _b, (unsigned long long)_a,             \
                    (unsigned long long)_b, expect_errname(errno));          \
    _ok; })
#define EXPECT_EQ(a, b) EXPECT_CMP_(a, ==, b)
#define EXPECT_NE(a, b) EXPECT_CMP_(a, !=, b)
#define EXPECT_LT(a, b) EXPECT_CMP_(a, <, b)
#define EXPECT_LE(a, b) EXPECT_CMP_(a, <=, b)
#define EXPECT_GT(a, b) EXPECT_CMP_(a, >, b)
#define EXPECT_GE(a, b) EXPECT_CMP_(a, >=, b)
#define ASSERT_EQ(a, b) EXPECT_OR_END_(EXPECT_EQ(a, b))
#define ASSERT_NE(a, b) EXPECT_OR_END_(EXPECT_NE(a, b))
#define ASSERT_LT(a, b) EXPECT_OR_END_(EXPECT_LT(a, b))
#define ASSERT_LE(a, b) EXPECT_OR_END_(EXPECT_LE(a, b))
#define ASSERT_GT(a, b) EXPECT_OR_END_(EXPECT_GT(a, b))
#define ASSERT_GE(a, b) EXPECT_OR_END_(EXPECT_GE(a, b))

#define EXPECT_TRUE(c) ({                                                    \
    errno = 0;                                                               \
    bool _ok = (c);                                                          \
    if (!_ok) ADD_FAILURE("expected %s (errno=%s)", #c, expect_errname(errno)); \
    _ok; })
#define EXPECT_FALSE(c) EXPECT_TRUE(!(c))
#define ASSERT_TRUE(c) EXPECT_OR_END_(EXPECT_TRUE(c))
#define ASSERT_FALSE(c) EXPECT_OR_END_(EXPECT_FALSE(c))

/* Strings; NULL is never equal, and is shown as (null). */
#define EXPECT_STREQ(a, b) ({                                                \
    const char *_sa = (a), *_sb = (b);                                       \
    bool _ok = _sa && _sb && strcmp(_sa, _sb) == 0;                          \
    if (!_ok) ADD_FAILURE("%s == %s (\"%s\" vs \"%s\")", #a, #b,             \
                          _sa ? _sa : "(null)", _sb ? _sb : "(null)");       \
    _ok; })
#define ASSERT_STREQ(a, b) EXPECT_OR_END_(EXPECT_STREQ(a, b))

/* Compare n bytes; on a difference shows the first differing offset. */
#define EXPECT_MEMEQ(a, b, n) ({                                             \
    size_t _off = expect_memdiff((a), (b), (n));                             \
    if (_off != (size_t)-1)                                                  \
        ADD_FAILURE("%s == %s over %zu bytes: first difference at offset %zu", \
                    #a, #b, (size_t)(n), _off);                              \
    _off == (size_t)-1; })
#define ASSERT_MEMEQ(a, b, n) EXPECT_OR_END_(EXPECT_MEMEQ(a, b, n))

/* ---- the runner ---- */

struct expect_case {
    const char *name;
    void (*fn)(void);
};
#define EXPECT_CASE(fn) { #fn, fn }

/* Run the cases one after another; a case passes if it records no failure.
 * Prints "FAIL: NAME" on stderr for each failed case and, last,
 * "PROGRAM: P passed, F failed" on stdout. Returns main()'s exit status:
 * 0 if every case passed, 1 if not. */
int expect_run(const char *program, const struct expect_case *cases,
               size_t ncases);

#endif /* FSP_TEST_EXPECT_H */
