/*
 * casefold.c - case-insensitive name comparison for UTF-8.
 *
 * Each name is decoded into code points and each code point folded with
 * the C library's Unicode case mappings in the C.UTF-8 locale: lower of
 * upper, which maps the variants that lower-casing alone keeps apart
 * (final sigma, long s, Kelvin sign) to one letter, as Unicode's simple
 * case folding does. Bytes that are not valid UTF-8 stand for themselves,
 * in a range no code point uses, so a broken name never equals a valid one.
 *
 * ASCII, by far the common case, never reaches the locale.
 */
#define _GNU_SOURCE
#include <locale.h>
#include <pthread.h>
#include <string.h>
#include <wctype.h>

#include "fsp/fsp.h"
#include "casefold.h"

#define INVALID_BYTE_BASE 0x80000000u

static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;

static void open_utf8_locale(void)
{
    /* glibc builds C.UTF-8 in; without it only ASCII folds. */
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* The next code point of *p (advancing it); 0 at the end. */
static uint32_t next_code_point(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t cp;
    int extra;

    if (s[0] < 0x80) {
        *p = s + (s[0] != 0);
        return s[0];
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        cp = s[0] & 0x1f;
        extra = 1;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        cp = s[0] & 0x0f;
        extra = 2;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        cp = s[0] & 0x07;
        extra = 3;
    } else {
        goto invalid;
    }
    for (int i = 1; i <= extra; i++) {
        if ((s[i] & 0xc0) != 0x80)
            goto invalid;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        goto invalid;
    *p = s + 1 + extra;
    return cp;
invalid:
    *p = s + 1;
    return INVALID_BYTE_BASE | s[0];
}

static uint32_t fold(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
    if (cp & INVALID_BYTE_BASE)
        return cp;
    pthread_once(&utf8_locale_once, open_utf8_locale);
    if (!utf8_locale)
        return cp;
    return (uint32_t)towlower_l(towupper_l((wint_t)cp, utf8_locale),
                                utf8_locale);
}

int fsp_casefold_compare(const char *a, const char *b, bool case_insensitive)
{
    const unsigned char *pa = (const unsigned char *)a;
    const unsigned char *pb = (const unsigned char *)b;

    if (!case_insensitive)
        return strcmp(a, b);
    for (;;) {
        uint32_t ca = fold(next_code_point(&pa));
        uint32_t cb = fold(next_code_point(&pb));

        if (ca != cb)
            return ca < cb ? -1 : 1;
        if (ca == 0)
            return 0;
    }
}

uint64_t fsp_casefold_hash(const char *name, bool case_insensitive)
{
    const unsigned char *p = (const unsigned char *)name;
    uint64_t h = 14695981039346656037u; /* FNV-1a */

    if (!case_insensitive) {
        for (; *p; p++)
            h = (h ^ *p) * 1099511628211u;
        return h;
    }
    for (;;) {
        uint32_t c = fold(next_code_point(&p));

        if (c == 0)
            return h;
        h = (h ^ c) * 1099511628211u;
    }
}

FSP_API int fsp_name_compare(const char *a, const char *b,
                             bool case_insensitive)
{
    return fsp_casefold_compare(a, b, case_insensitive);
}
