/*
 * acl.h - POSIX ACLs as the kernel hands them to a FUSE daemon: the
 * system.posix_acl_access / system.posix_acl_default xattr value
 * (version 2: a 4-byte header, then 8-byte entries {u16 tag, u16 perm,
 * u32 id}, little-endian, sorted by tag and then id), and the rules that
 * tie an access ACL to a file's mode (what the kernel's fs/posix_acl.c
 * does for local file systems).
 *
 * The functions without a transaction (parse, format, the mode rules)
 * are pure: tests/unit/test_acl.c checks them without a kernel.
 */
#ifndef FSP_ACL_H
#define FSP_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fsp/fsp.h"

struct fsp_fs;
struct fsp_txn;

#define FSP_ACL_ACCESS "system.posix_acl_access"
#define FSP_ACL_DEFAULT "system.posix_acl_default"

/* The xattr format's version, and the sizes of its parts. */
#define FSP_ACL_VERSION 2u
#define FSP_ACL_HEADER_SIZE 4u
#define FSP_ACL_ENTRY_SIZE 8u
/* The most entries fsp handles: what fits the kernel's one page, in which
 * it reads an ACL from the daemon (fs/fuse/acl.c). */
#define FSP_ACL_MAX_ENTRIES ((4096u - FSP_ACL_HEADER_SIZE) / FSP_ACL_ENTRY_SIZE)
#define FSP_ACL_MAX_SIZE                                                     \
    (FSP_ACL_HEADER_SIZE + FSP_ACL_MAX_ENTRIES * FSP_ACL_ENTRY_SIZE)

/* Entry tags (the kernel's ACL_USER_OBJ...). */
enum fsp_acl_tag {
    FSP_ACL_USER_OBJ = 0x01,
    FSP_ACL_USER = 0x02,
    FSP_ACL_GROUP_OBJ = 0x04,
    FSP_ACL_GROUP = 0x08,
    FSP_ACL_MASK = 0x10,
    FSP_ACL_OTHER = 0x20,
};

/* The id of the entries that name no one (USER_OBJ, GROUP_OBJ, MASK,
 * OTHER). */
#define FSP_ACL_UNDEFINED_ID 0xffffffffu

struct fsp_acl_entry {
    uint16_t tag;
    uint16_t perm;              /* rwx: 4, 2, 1 */
    uint32_t id;
};

struct fsp_acl {
    uint32_t count;
    struct fsp_acl_entry e[FSP_ACL_MAX_ENTRIES];
};

/* Parse the xattr value @buf of @size bytes into @acl, which must then be
 * valid: one USER_OBJ, GROUP_OBJ and OTHER each, at most one MASK, which
 * named USER and GROUP entries require, ids unique within their tag, no
 * perm beyond rwx. Entries may come in any order (a file system may have
 * stored them so); @acl gets them sorted. Returns 0 or -EINVAL. An empty
 * value (header only) parses to count 0, which only a default ACL may
 * be: the caller decides. */
int fsp_acl_parse(const void *buf, size_t size, struct fsp_acl *acl);

/* The xattr value of @acl into @buf (at least fsp_acl_size() bytes).
 * Returns the size written. */
size_t fsp_acl_format(const struct fsp_acl *acl, void *buf);

/* The size of @acl's xattr value. */
size_t fsp_acl_size(const struct fsp_acl *acl);

/* Whether @acl says no more than a mode: only USER_OBJ, GROUP_OBJ and
 * OTHER. Either way *@perm gets the 0777 bits it gives (group: the
 * mask's if there is one, as the kernel's posix_acl_equiv_mode). */
bool fsp_acl_equiv_mode(const struct fsp_acl *acl, uint32_t *perm);

/* chmod of a file with the extended ACL @acl to @mode: USER_OBJ, OTHER
 * and the group class (the mask, or GROUP_OBJ without one) take @mode's
 * bits (posix_acl_chmod). */
void fsp_acl_chmod(struct fsp_acl *acl, uint32_t mode);

/* A new file's access ACL from its directory's default ACL @acl (changed
 * in place) and the create mode *@mode (its permission bits changed in
 * place): each class is the intersection of the two
 * (posix_acl_create_masq). Returns whether the result is equivalent to
 * the mode, so that no access ACL needs storing. */
bool fsp_acl_create_masq(struct fsp_acl *acl, uint32_t *mode);

/* Whether @name is one of the two ACL xattrs. */
bool fsp_acl_is_acl_name(const char *name);

/* ---- the steps of requests on a volume with posix_acl (acl.c) ----
 *
 * Each request that has ACL steps keeps what they need in t->acl
 * (malloc'd, freed by fsp_txn_release()). Step numbers start high so
 * that they never meet an opcode's own. */

/* FUSE_POSIX_ACL is on: the umask is the volume's (either posix_acl). */
bool fsp_acl_on(struct fsp_fs *fs);
/* And fsp keeps ACLs and modes in step (FSP_POSIX_ACL_FSP). */
bool fsp_acl_by_fsp(struct fsp_fs *fs);

/* What ACL steps keep between them. */
struct fsp_acl_state {
    fsp_file_info_t info;       /* create: the new file's attributes;
                                   SETATTR: after set_basic_info();
                                   SETXATTR: before */
    uint32_t dir_mode, dir_gid; /* create: the directory's */
    bool dir_known;
    bool has_default;           /* create: the directory has a default ACL */
    bool store_access;          /* create: the new file needs an access
                                   ACL; SETXATTR: the ACL is more than a
                                   mode */
    uint32_t mode;              /* create: the mode create() gets;
                                   SETXATTR: the ACL's 0777 bits */
    size_t default_size;        /* create: the directory's default ACL */
    unsigned char default_buf[FSP_ACL_MAX_SIZE];
    size_t access_size;         /* the access ACL to store */
    unsigned char access_buf[FSP_ACL_MAX_SIZE];
    struct fsp_acl acl;         /* parsed */
};

/*
 * MKNOD, MKDIR, SYMLINK, CREATE (fsp_volume_create()): the steps around
 * create(). fsp_acl_create_begin() sets the first step (with no ACLs:
 * FSP_ACL_CREATE_CALL). fsp_acl_create_step() runs every step but the
 * call itself into txn.rsp; fsp_acl_create_info() makes @ci what the
 * directory says (group, set-group-ID, inherited mode, umask) just before
 * it. fsp_acl_create_next() takes any step's answer @rsp (after the call:
 * t->ctx holds the new file's context, the attributes are in
 * t->acl->info) and returns FSP_TXN_CONTINUE, an error, or 0 once the
 * file is made.
 */
enum {
    FSP_ACL_CREATE_BEGIN = 0,
    FSP_ACL_CREATE_DIR_INFO = 200, /* get_file_info() of the directory */
    FSP_ACL_CREATE_DIR_DEFAULT,    /* get_xattr() of its default ACL */
    FSP_ACL_CREATE_CALL,           /* create() */
    FSP_ACL_CREATE_SET_ACCESS,     /* set_xattr() of the new access ACL */
    FSP_ACL_CREATE_SET_DEFAULT,    /* and, for a directory, the default */
};
int fsp_acl_create_begin(struct fsp_txn *t);
int fsp_acl_create_step(struct fsp_txn *t);
void fsp_acl_create_info(struct fsp_txn *t, fsp_create_info_t *ci);
int fsp_acl_create_next(struct fsp_txn *t, const fsp_response_t *rsp);

/*
 * SETATTR that changed the mode (FSP_POSIX_ACL_FSP): keep a stored access
 * ACL in step. fsp_acl_chmod_begin() keeps set_basic_info()'s answer
 * @info and sets the first step; fsp_acl_chmod_step() runs t->step into
 * txn.rsp; fsp_acl_chmod_next() returns FSP_TXN_CONTINUE, an error, or 0
 * (the answer is t->acl->info).
 */
enum {
    FSP_ACL_CHMOD_READ = 300,   /* get_xattr() of the access ACL */
    FSP_ACL_CHMOD_WRITE,        /* set_xattr() of the updated one */
};
int fsp_acl_chmod_begin(struct fsp_txn *t, const fsp_file_info_t *info);
int fsp_acl_chmod_step(struct fsp_txn *t);
int fsp_acl_chmod_next(struct fsp_txn *t, const fsp_response_t *rsp);

/*
 * SETXATTR of an ACL name on a volume with ACLs: fsp_acl_setxattr_begin()
 * checks the value and sets the first step; fsp_acl_setxattr_step() runs
 * t->step into txn.rsp; fsp_acl_setxattr_next() returns FSP_TXN_CONTINUE,
 * an error or 0.
 */
enum {
    FSP_ACL_XATTR_INFO = 400,   /* get_file_info(): the mode before */
    FSP_ACL_XATTR_STORE,        /* set_xattr() */
    FSP_ACL_XATTR_REMOVE,       /* remove_xattr(): an ACL that is a mode */
    FSP_ACL_XATTR_MODE,         /* set_basic_info(FSP_SET_MODE) */
};
int fsp_acl_setxattr_begin(struct fsp_txn *t);
int fsp_acl_setxattr_step(struct fsp_txn *t);
int fsp_acl_setxattr_next(struct fsp_txn *t, const fsp_response_t *rsp);

#endif /* FSP_ACL_H */
