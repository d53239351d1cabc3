/*
 * test_acl.c - the POSIX ACL xattr format and the rules between an access
 * ACL and a mode (src/volume/acl_format.c), as the kernel's fs/posix_acl.c
 * has them for local file systems.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "acl.h"
#include "expect.h"

/* An ACL of @n entries {tag, perm, id}, as the xattr bytes. */
static size_t acl_bytes(unsigned char *buf, const struct fsp_acl_entry *e,
                        size_t n)
{
    struct fsp_acl acl;

    acl.count = (uint32_t)n;
    memcpy(acl.e, e, n * sizeof *e);
    return fsp_acl_format(&acl, buf);
}

/* @acl parsed from the bytes of @n entries @e, which must be valid. */
static void parse_valid(const struct fsp_acl_entry *e, size_t n,
                        struct fsp_acl *acl)
{
    unsigned char buf[FSP_ACL_MAX_SIZE];

    ASSERT_EQ(fsp_acl_parse(buf, acl_bytes(buf, e, n), acl), 0);
}

#define U FSP_ACL_UNDEFINED_ID

static const struct fsp_acl_entry minimal_0640[] = {
    {FSP_ACL_USER_OBJ, 6, U},
    {FSP_ACL_GROUP_OBJ, 4, U},
    {FSP_ACL_OTHER, 0, U},
};

static const struct fsp_acl_entry extended[] = {
    {FSP_ACL_USER_OBJ, 7, U},
    {FSP_ACL_USER, 7, 1000},
    {FSP_ACL_GROUP_OBJ, 5, U},
    {FSP_ACL_GROUP, 6, 100},
    {FSP_ACL_MASK, 5, U},
    {FSP_ACL_OTHER, 1, U},
};

static void format_is_version_2_then_little_endian_entries(void)
{
    unsigned char buf[FSP_ACL_MAX_SIZE];
    static const unsigned char want[] = {
        2, 0, 0, 0,                          /* version */
        0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff, /* user::rw- */
        0x04, 0, 4, 0, 0xff, 0xff, 0xff, 0xff, /* group::r-- */
        0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, /* other::--- */
    };

    ASSERT_EQ(acl_bytes(buf, minimal_0640, 3), sizeof want);
    EXPECT_EQ(expect_memdiff(buf, want, sizeof want), (size_t)-1);
}

static void parse_gives_back_what_format_wrote(void)
{
    unsigned char buf[FSP_ACL_MAX_SIZE];
    struct fsp_acl acl;
    size_t n = acl_bytes(buf, extended, 6);

    ASSERT_EQ(fsp_acl_parse(buf, n, &acl), 0);
    ASSERT_EQ(acl.count, 6);
    for (size_t i = 0; i < 6; i++) {
        EXPECT_EQ(acl.e[i].tag, extended[i].tag);
        EXPECT_EQ(acl.e[i].perm, extended[i].perm);
        EXPECT_EQ(acl.e[i].id, extended[i].id);
    }
    EXPECT_EQ(fsp_acl_size(&acl), n);
}

static void parse_sorts_entries_by_tag_then_id(void)
{
    static const struct fsp_acl_entry shuffled[] = {
        {FSP_ACL_OTHER, 0, U},     {FSP_ACL_USER, 7, 2000},
        {FSP_ACL_MASK, 7, U},      {FSP_ACL_USER, 5, 1000},
        {FSP_ACL_GROUP_OBJ, 4, U}, {FSP_ACL_USER_OBJ, 6, U},
    };
    struct fsp_acl acl;

    parse_valid(shuffled, 6, &acl);
    EXPECT_EQ(acl.e[0].tag, FSP_ACL_USER_OBJ);
    EXPECT_EQ(acl.e[1].id, 1000);
    EXPECT_EQ(acl.e[2].id, 2000);
    EXPECT_EQ(acl.e[3].tag, FSP_ACL_GROUP_OBJ);
    EXPECT_EQ(acl.e[4].tag, FSP_ACL_MASK);
    EXPECT_EQ(acl.e[5].tag, FSP_ACL_OTHER);
}

static void invalid_acls_are_einval(void)
{
    static const struct fsp_acl_entry no_other[] = {
        {FSP_ACL_USER_OBJ, 6, U}, {FSP_ACL_GROUP_OBJ, 4, U}};
    static const struct fsp_acl_entry named_without_mask[] = {
        {FSP_ACL_USER_OBJ, 6, U}, {FSP_ACL_USER, 6, 5},
        {FSP_ACL_GROUP_OBJ, 4, U}, {FSP_ACL_OTHER, 0, U}};
    static const struct fsp_acl_entry same_user_twice[] = {
        {FSP_ACL_USER_OBJ, 6, U}, {FSP_ACL_USER, 6, 5},
        {FSP_ACL_USER, 4, 5},     {FSP_ACL_GROUP_OBJ, 4, U},
        {FSP_ACL_MASK, 6, U},     {FSP_ACL_OTHER, 0, U}};
    static const struct fsp_acl_entry bad_perm[] = {
        {FSP_ACL_USER_OBJ, 8, U}, {FSP_ACL_GROUP_OBJ, 4, U},
        {FSP_ACL_OTHER, 0, U}};
    static const struct fsp_acl_entry bad_tag[] = {
        {FSP_ACL_USER_OBJ, 6, U}, {FSP_ACL_GROUP_OBJ, 4, U},
        {0x40, 4, U},             {FSP_ACL_OTHER, 0, U}};
    unsigned char buf[FSP_ACL_MAX_SIZE];
    struct fsp_acl acl;
    size_t n;

    EXPECT_EQ(fsp_acl_parse(buf, acl_bytes(buf, no_other, 2), &acl),
              -EINVAL);
    EXPECT_EQ(fsp_acl_parse(buf, acl_bytes(buf, named_without_mask, 4),
                            &acl),
              -EINVAL);
    EXPECT_EQ(fsp_acl_parse(buf, acl_bytes(buf, same_user_twice, 6), &acl),
              -EINVAL);
    EXPECT_EQ(fsp_acl_parse(buf, acl_bytes(buf, bad_perm, 3), &acl),
              -EINVAL);
    EXPECT_EQ(fsp_acl_parse(buf, acl_bytes(buf, bad_tag, 4), &acl), -EINVAL);
    /* The wrong version, a size between entries, no header at all. */
    n = acl_bytes(buf, minimal_0640, 3);
    EXPECT_EQ(fsp_acl_parse(buf, n - 1, &acl), -EINVAL);
    EXPECT_EQ(fsp_acl_parse(buf, 3, &acl), -EINVAL);
    EXPECT_EQ(fsp_acl_parse(NULL, 0, &acl), -EINVAL);
    buf[0] = 1;
    EXPECT_EQ(fsp_acl_parse(buf, n, &acl), -EINVAL);
}

static void a_header_alone_is_an_empty_acl(void)
{
    unsigned char buf[FSP_ACL_HEADER_SIZE] = {2, 0, 0, 0};
    struct fsp_acl acl;

    EXPECT_EQ(fsp_acl_parse(buf, sizeof buf, &acl), 0);
    EXPECT_EQ(acl.count, 0);
}

static void a_minimal_acl_is_equivalent_to_its_mode(void)
{
    struct fsp_acl acl;
    uint32_t perm = 0;

    parse_valid(minimal_0640, 3, &acl);
    EXPECT_TRUE(fsp_acl_equiv_mode(&acl, &perm));
    EXPECT_EQ(perm, 0640);
}

static void an_extended_acl_gives_the_mask_as_group_bits(void)
{
    struct fsp_acl acl;
    uint32_t perm = 0;

    parse_valid(extended, 6, &acl);
    EXPECT_FALSE(fsp_acl_equiv_mode(&acl, &perm));
    EXPECT_EQ(perm, 0751);      /* user rwx, mask r-x, other --x */
}

static void chmod_sets_owner_mask_and_other_but_not_group_obj(void)
{
    struct fsp_acl acl;
    uint32_t perm = 0;

    parse_valid(extended, 6, &acl);
    fsp_acl_chmod(&acl, 0640);
    EXPECT_EQ(acl.e[0].perm, 6); /* user:: */
    EXPECT_EQ(acl.e[1].perm, 7); /* user:1000: unchanged */
    EXPECT_EQ(acl.e[2].perm, 5); /* group:: unchanged under a mask */
    EXPECT_EQ(acl.e[4].perm, 4); /* mask:: */
    EXPECT_EQ(acl.e[5].perm, 0); /* other:: */
    fsp_acl_equiv_mode(&acl, &perm);
    EXPECT_EQ(perm, 0640);
}

static void chmod_without_mask_sets_group_obj(void)
{
    struct fsp_acl acl;

    parse_valid(minimal_0640, 3, &acl);
    fsp_acl_chmod(&acl, 0755);
    EXPECT_EQ(acl.e[1].perm, 5);
}

static void inheritance_masks_the_default_acl_with_the_create_mode(void)
{
    struct fsp_acl acl;
    uint32_t mode = 0100666;    /* open(O_CREAT, 0666) */

    parse_valid(extended, 6, &acl);
    EXPECT_FALSE(fsp_acl_create_masq(&acl, &mode));
    /* user rwx & rw-, mask r-x & rw-, other --x & rw- */
    EXPECT_EQ(mode, 0100640);
    EXPECT_EQ(acl.e[0].perm, 6);
    EXPECT_EQ(acl.e[1].perm, 7); /* named entries stay; the mask limits */
    EXPECT_EQ(acl.e[4].perm, 4);
    EXPECT_EQ(acl.e[5].perm, 0);
}

static void inheriting_a_minimal_default_acl_is_just_a_mode(void)
{
    static const struct fsp_acl_entry def[] = {
        {FSP_ACL_USER_OBJ, 7, U},
        {FSP_ACL_GROUP_OBJ, 7, U},
        {FSP_ACL_OTHER, 5, U},
    };
    struct fsp_acl acl;
    uint32_t mode = 040755;     /* mkdir(0755): the umask does not apply */

    parse_valid(def, 3, &acl);
    EXPECT_TRUE(fsp_acl_create_masq(&acl, &mode));
    EXPECT_EQ(mode, 040755);
}

static void only_the_two_acl_names_are_acls(void)
{
    EXPECT_TRUE(fsp_acl_is_acl_name("system.posix_acl_access"));
    EXPECT_TRUE(fsp_acl_is_acl_name("system.posix_acl_default"));
    EXPECT_FALSE(fsp_acl_is_acl_name("system.posix_acl"));
    EXPECT_FALSE(fsp_acl_is_acl_name("user.posix_acl_access"));
}

static const struct expect_case cases[] = {
    EXPECT_CASE(format_is_version_2_then_little_endian_entries),
    EXPECT_CASE(parse_gives_back_what_format_wrote),
    EXPECT_CASE(parse_sorts_entries_by_tag_then_id),
    EXPECT_CASE(invalid_acls_are_einval),
    EXPECT_CASE(a_header_alone_is_an_empty_acl),
    EXPECT_CASE(a_minimal_acl_is_equivalent_to_its_mode),
    EXPECT_CASE(an_extended_acl_gives_the_mask_as_group_bits),
    EXPECT_CASE(chmod_sets_owner_mask_and_other_but_not_group_obj),
    EXPECT_CASE(chmod_without_mask_sets_group_obj),
    EXPECT_CASE(inheritance_masks_the_default_acl_with_the_create_mode),
    EXPECT_CASE(inheriting_a_minimal_default_acl_is_just_a_mode),
    EXPECT_CASE(only_the_two_acl_names_are_acls),
};

int main(void)
{
    return expect_run("test_acl", cases, sizeof cases / sizeof *cases);
}
