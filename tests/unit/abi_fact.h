/*
 * abi_fact.h - one fact of the FUSE ABI: a name ("struct fuse_attr",
 * "struct fuse_in_header.unique", "FUSE_LOOKUP") and its size, offset or
 * value. See abi_facts.h.
 */
#ifndef FSP_TEST_ABI_FACT_H
#define FSP_TEST_ABI_FACT_H

#include <stdint.h>

struct abi_fact {
    const char *name;
    uint64_t value;
};

/* Ended by a NULL name; defined in abi_ref_linux.c. */
extern const struct abi_fact abi_facts_linux[];

#endif /* FSP_TEST_ABI_FACT_H */
