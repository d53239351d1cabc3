/*
 * abi_ref_linux.c - the facts of abi_facts.h as the system's <linux/fuse.h>
 * states them. Part of test_fuse_abi; it must not see fuse_abi.h, which
 * defines the same names.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h> /* _IOR, used by <linux/fuse.h> */

#include <linux/fuse.h>

#include "abi_fact.h"

#define SIZE(type) {#type, sizeof(type)},
#define OFFSET(type, field) {#type "." #field, offsetof(type, field)},
#define VALUE(name) {#name, (uint64_t)(name)},
#define VALUE32(name) {#name, (uint32_t)(name)},

const struct abi_fact abi_facts_linux[] = {
#include "abi_facts.h"
    {NULL, 0},
};
