/*
 * shell_quote.c - a path quoted for a shell, for the commands that
 * messages suggest (see shell_quote.h).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "shell_quote.h"

void fsp_shell_quote(const char *s, char *out, size_t size)
{
    const char *p;
    size_t n = 0;
    bool plain = *s != '\0';

    for (p = s; *p && plain; p++)
        plain = isalnum((unsigned char)*p) || strchr("/._-+,:@%=", *p);
    if (plain) {
        snprintf(out, size, "%s", s);
        return;
    }
#define PUT(c) do { if (n + 1 < size) out[n++] = (c); } while (0)
    PUT('\'');
    for (p = s; *p; p++) {
        if (*p == '\'') {
            PUT('\''); PUT('\\'); PUT('\''); PUT('\'');
        } else {
            PUT(*p);
        }
    }
    PUT('\'');
#undef PUT
    if (size > 0)
        out[n] = '\0';
}
