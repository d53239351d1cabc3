/*
 * expect.c - see expect.h: how a failure is recorded and reported, and the
 * runner of in-process cases.
 */
#define _GNU_SOURCE
#include "expect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static void (*reporter)(const char *message);
static long failures; /* every failure so far, in any thread */

/* The runner's place to go back to when an ASSERT ends its case. */
static jmp_buf case_end;
static bool in_case;

void expect_set_reporter(void (*report)(const char *message))
{
    reporter = report;
}

void expect_fail(const char *file, int line, const char *fmt, ...)
{
    char buf[1024];
    const char *base = strrchr(file, '/');
    int n = snprintf(buf, sizeof buf, "%s:%d: ", base ? base + 1 : file, line);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
    __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
    if (reporter)
        reporter(buf);
    else
        fprintf(stderr, "%s\n", buf);
}

void expect_abort_case(void)
{
    if (in_case)
        longjmp(case_end, 1);
    _exit(1);
}

const char *expect_errname(int e)
{
    static __thread char buf[32];
    const char *name;

    if (e == 0)
        return "0";
    name = strerrorname_np(e);
    if (name)
        return name;
    snprintf(buf, sizeof buf, "%d", e);
    return buf;
}

size_t expect_memdiff(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    if (memcmp(x, y, n) == 0)
        return (size_t)-1;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return i;
    return (size_t)-1;
}

/* Run one case; true if it recorded no failure. */
static bool run_case(void (*fn)(void))
{
    long before = __atomic_load_n(&failures, __ATOMIC_SEQ_CST);

    if (setjmp(case_end) == 0) {
        in_case = true;
        fn();
    }
    in_case = false;
    return __atomic_load_n(&failures, __ATOMIC_SEQ_CST) == before;
}

int expect_run(const char *program, const struct expect_case *cases,
               size_t ncases)
{
    int passed = 0, failed = 0;

    for (size_t i = 0; i < ncases; i++) {
        if (run_case(cases[i].fn)) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL: %s\n", cases[i].name);
        }
    }
    printf("%s: %d passed, %d failed\n", program, passed, failed);
    return failed == 0 ? 0 : 1;
}
