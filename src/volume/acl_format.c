/*
 * acl_format.c - the POSIX ACL xattr value and the rules that tie an
 * access ACL to a file's mode (acl.h). Pure functions: no volume, no
 * kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

#define PERM_MASK 7u

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

/* The order of the kernel's posix_acl_valid(): by tag, then by id. */
static int entry_order(const void *a, const void *b)
{
    const struct fsp_acl_entry *x = a, *y = b;

    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return 0;
}

/* The checks of posix_acl_valid() on a sorted ACL. */
static int check_entries(const struct fsp_acl *acl)
{
    unsigned user_obj = 0, group_obj = 0, other = 0, mask = 0, named = 0;

    for (uint32_t i = 0; i < acl->count; i++) {
        const struct fsp_acl_entry *e = &acl->e[i];

        if (e->perm & ~PERM_MASK)
            return -EINVAL;
        switch (e->tag) {
        case FSP_ACL_USER_OBJ:
            user_obj++;
            break;
        case FSP_ACL_GROUP_OBJ:
            group_obj++;
            break;
        case FSP_ACL_OTHER:
            other++;
            break;
        case FSP_ACL_MASK:
            mask++;
            break;
        case FSP_ACL_USER:
        case FSP_ACL_GROUP:
            /* Sorted: a duplicate id sits right after its twin. */
            if (i > 0 && acl->e[i - 1].tag == e->tag &&
                acl->e[i - 1].id == e->id)
                return -EINVAL;
            named++;
            break;
        default:
            return -EINVAL;
        }
    }
    if (user_obj != 1 || group_obj != 1 || other != 1 || mask > 1)
        return -EINVAL;
    if (named && !mask)
        return -EINVAL;
    return 0;
}

int fsp_acl_parse(const void *buf, size_t size, struct fsp_acl *acl)
{
    const unsigned char *p = buf;
    size_t n;

    acl->count = 0;
    if (!buf || size < FSP_ACL_HEADER_SIZE ||
        (size - FSP_ACL_HEADER_SIZE) % FSP_ACL_ENTRY_SIZE != 0)
        return -EINVAL;
    if (get32(p) != FSP_ACL_VERSION)
        return -EINVAL;
    n = (size - FSP_ACL_HEADER_SIZE) / FSP_ACL_ENTRY_SIZE;
    if (n > FSP_ACL_MAX_ENTRIES)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *q =
            p + FSP_ACL_HEADER_SIZE + i * FSP_ACL_ENTRY_SIZE;
        struct fsp_acl_entry *e = &acl->e[i];

        e->tag = get16(q);
        e->perm = get16(q + 2);
        e->id = get32(q + 4);
        /* Only named entries name someone. */
        if (e->tag != FSP_ACL_USER && e->tag != FSP_ACL_GROUP)
            e->id = FSP_ACL_UNDEFINED_ID;
    }
    acl->count = (uint32_t)n;
    if (n == 0)
        return 0;
    qsort(acl->e, n, sizeof acl->e[0], entry_order);
    if (check_entries(acl)) {
        acl->count = 0;
        return -EINVAL;
    }
    return 0;
}

size_t fsp_acl_size(const struct fsp_acl *acl)
{
    return FSP_ACL_HEADER_SIZE + (size_t)acl->count * FSP_ACL_ENTRY_SIZE;
}

size_t fsp_acl_format(const struct fsp_acl *acl, void *buf)
{
    unsigned char *p = buf;

    put32(p, FSP_ACL_VERSION);
    for (uint32_t i = 0; i < acl->count; i++) {
        unsigned char *q = p + FSP_ACL_HEADER_SIZE + i * FSP_ACL_ENTRY_SIZE;

        put16(q, acl->e[i].tag);
        put16(q + 2, acl->e[i].perm);
        put32(q + 4, acl->e[i].id);
    }
    return fsp_acl_size(acl);
}

/* The entry of @tag (the first one), or NULL. */
static struct fsp_acl_entry *find_tag(struct fsp_acl *acl, uint16_t tag)
{
    for (uint32_t i = 0; i < acl->count; i++)
        if (acl->e[i].tag == tag)
            return &acl->e[i];
    return NULL;
}

bool fsp_acl_equiv_mode(const struct fsp_acl *acl, uint32_t *perm)
{
    uint32_t user = 0, group = 0, mask = 0, other = 0;
    bool has_mask = false, equiv = true;

    for (uint32_t i = 0; i < acl->count; i++) {
        const struct fsp_acl_entry *e = &acl->e[i];

        switch (e->tag) {
        case FSP_ACL_USER_OBJ:
            user = e->perm & PERM_MASK;
            break;
        case FSP_ACL_GROUP_OBJ:
            group = e->perm & PERM_MASK;
            break;
        case FSP_ACL_OTHER:
            other = e->perm & PERM_MASK;
            break;
        case FSP_ACL_MASK:
            mask = e->perm & PERM_MASK;
            has_mask = true;
            equiv = false;
            break;
        default:
            equiv = false;
            break;
        }
    }
    *perm = user << 6 | (has_mask ? mask : group) << 3 | other;
    return equiv;
}

void fsp_acl_chmod(struct fsp_acl *acl, uint32_t mode)
{
    struct fsp_acl_entry *user = find_tag(acl, FSP_ACL_USER_OBJ);
    struct fsp_acl_entry *group = find_tag(acl, FSP_ACL_MASK);
    struct fsp_acl_entry *other = find_tag(acl, FSP_ACL_OTHER);

    if (!group)
        group = find_tag(acl, FSP_ACL_GROUP_OBJ);
    if (user)
        user->perm = (uint16_t)((mode >> 6) & PERM_MASK);
    if (group)
        group->perm = (uint16_t)((mode >> 3) & PERM_MASK);
    if (other)
        other->perm = (uint16_t)(mode & PERM_MASK);
}

bool fsp_acl_create_masq(struct fsp_acl *acl, uint32_t *mode)
{
    struct fsp_acl_entry *user = find_tag(acl, FSP_ACL_USER_OBJ);
    struct fsp_acl_entry *group = find_tag(acl, FSP_ACL_GROUP_OBJ);
    struct fsp_acl_entry *mask = find_tag(acl, FSP_ACL_MASK);
    struct fsp_acl_entry *other = find_tag(acl, FSP_ACL_OTHER);
    struct fsp_acl_entry *group_class = mask ? mask : group;
    uint32_t m = *mode, perm;

    if (!user || !group_class || !other)
        return true; /* not a valid ACL: the caller parsed it first */
    user->perm &= (uint16_t)((m >> 6) & PERM_MASK);
    group_class->perm &= (uint16_t)((m >> 3) & PERM_MASK);
    other->perm &= (uint16_t)(m & PERM_MASK);
    m &= ~0777u;
    m |= (uint32_t)user->perm << 6 | (uint32_t)group_class->perm << 3 |
         other->perm;
    *mode = m;
    return fsp_acl_equiv_mode(acl, &perm);
}

bool fsp_acl_is_acl_name(const char *name)
{
    return strcmp(name, FSP_ACL_ACCESS) == 0 ||
           strcmp(name, FSP_ACL_DEFAULT) == 0;
}
