/*
 * check.h - the assertion helper of fsp's unit tests, also used by
 * samples/memfs/memfs_selftest.c and tests/launcher/test_class_file.c.
 *
 * A test is a function named after the behaviour it checks, run from
 * main() with RUN(name). CHECK(cond) records a failed condition with its
 * file, line and expression and carries on, so one run shows every failure;
 * CHECK_EQ also prints both values. A test passes if none of its checks
 * failed. check_report() prints the final line, "NAME: P passed, F failed",
 * and returns the exit status for main().
 *
 *   static void lookup_name_must_be_nul_terminated(void) { CHECK(...); }
 *   int main(void) { RUN(lookup_name_must_be_nul_terminated);
 *                    return check_report("test_protocol"); }
 */
#ifndef FSP_TEST_CHECK_H
#define FSP_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct check_counts {
    long failed_checks; /* all CHECKs that failed so far */
    int passed_tests;
    int failed_tests;
};

/* One per test program: the tests run one after another. */
static struct check_counts check_counts;

static inline void check_failed(const char *file, int line, const char *expr)
{
    check_counts.failed_checks++;
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
}

#define CHECK(cond)                                    \
    do {                                               \
        if (!(cond))                                   \
            check_failed(__FILE__, __LINE__, #cond);   \
    } while (0)

/* Integers of any type; both sides are shown as signed and as hex. */
#define CHECK_EQ(a, b)                                                      \
    do {                                                                    \
        intmax_t check_a_ = (intmax_t)(a), check_b_ = (intmax_t)(b);        \
        if (check_a_ != check_b_) {                                         \
            check_failed(__FILE__, __LINE__, #a " == " #b);                 \
            fprintf(stderr, "    %jd (%#jx) != %jd (%#jx)\n", check_a_,     \
                    (uintmax_t)check_a_, check_b_, (uintmax_t)check_b_);    \
        }                                                                   \
    } while (0)

/* Strings; NULL is shown as (null). */
#define CHECK_STR(a, b)                                                     \
    do {                                                                    \
        const char *check_a_ = (a), *check_b_ = (b);                        \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {   \
            check_failed(__FILE__, __LINE__, #a " == " #b);                 \
            fprintf(stderr, "    \"%s\" != \"%s\"\n",                       \
                    check_a_ ? check_a_ : "(null)",                         \
                    check_b_ ? check_b_ : "(null)");                        \
        }                                                                   \
    } while (0)

static inline void check_run(const char *name, void (*test)(void))
{
    long before = check_counts.failed_checks;

    test();
    if (check_counts.failed_checks == before) {
        check_counts.passed_tests++;
    } else {
        check_counts.failed_tests++;
        fprintf(stderr, "FAIL: %s\n", name);
    }
}

#define RUN(test) check_run(#test, test)

static inline int check_report(const char *program)
{
    printf("%s: %d passed, %d failed\n", program, check_counts.passed_tests,
           check_counts.failed_tests);
    return check_counts.failed_tests == 0 ? 0 : 1;
}

#endif /* FSP_TEST_CHECK_H */
