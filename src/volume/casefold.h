/*
 * casefold.h - names compared the way a volume compares them: byte for
 * byte, or case-insensitively over UTF-8 (case_insensitive volumes).
 */
#ifndef FSP_CASEFOLD_H
#define FSP_CASEFOLD_H

#include <stdbool.h>
#include <stdint.h>

/* Like fsp_name_compare(): <0, 0, >0. */
int fsp_casefold_compare(const char *a, const char *b, bool case_insensitive);

/* A hash of @name that is equal for names that compare equal. */
uint64_t fsp_casefold_hash(const char *name, bool case_insensitive);

#endif /* FSP_CASEFOLD_H */
