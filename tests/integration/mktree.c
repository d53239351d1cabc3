/*
 * mktree.c - build a deterministic source tree for stress_copy.sh:
 *   fsp_mktree DIR [NDIRS [NFILES [SEED]]]
 * NDIRS directories in a random tree (depth ~ log NDIRS), NFILES files of
 * 0..64 KiB (one in ten empty) with random contents and varied modes, plus
 * a few hard links and symlinks (relative, and a few dangling).
 * Prints one summary line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rs;

static uint64_t rnd(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void die(const char *what, const char *path)
{
    fprintf(stderr, "fsp_mktree: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fsp_mktree DIR [NDIRS [NFILES [SEED]]]\n");
        return 2;
    }
    const char *root = argv[1];
    long ndirs = argc > 2 ? atol(argv[2]) : 3000;
    long nfiles = argc > 3 ? atol(argv[3]) : 10000;
    rs = argc > 4 ? strtoull(argv[4], NULL, 0) : 12345;
    if (ndirs < 1)
        ndirs = 1;

    char **dirs = calloc((size_t)ndirs, sizeof *dirs);
    if (mkdir(root, 0755) != 0 && errno != EEXIST)
        die("mkdir", root);
    dirs[0] = strdup(root);
    for (long i = 1; i < ndirs; i++) {
        long parent = (long)(rnd() % (uint64_t)i);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/d%04ld", dirs[parent], i);
        if (mkdir(path, 0755) != 0)
            die("mkdir", path);
        dirs[i] = strdup(path);
    }

    static unsigned char buf[65536];
    char **files = calloc((size_t)nfiles, sizeof *files);
    unsigned long long bytes = 0;
    static const mode_t modes[] = { 0644, 0644, 0644, 0600, 0755, 0640, 0444 };
    for (long i = 0; i < nfiles; i++) {
        long d = (long)(rnd() % (uint64_t)ndirs);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/f%05ld.dat", dirs[d], i);
        size_t size = rnd() % 10 == 0 ? 0 : (size_t)(rnd() % 65537);
        for (size_t k = 0; k < size; k += 8) {
            uint64_t r = rnd();
            memcpy(buf + k, &r, size - k < 8 ? size - k : 8);
        }
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0)
            die("create", path);
        if (size && write(fd, buf, size) != (ssize_t)size)
            die("write", path);
        if (fchmod(fd, modes[rnd() % (sizeof modes / sizeof *modes)]) != 0)
            die("chmod", path);
        close(fd);
        bytes += size;
        files[i] = strdup(path);
    }

    long nlinks = nfiles / 500 + 1, nsyms = nfiles / 500 + 1, ndangling = 3;
    for (long i = 0; i < nlinks && nfiles > 0; i++) {
        const char *target = files[rnd() % (uint64_t)nfiles];
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/hardlink%03ld", dirs[rnd() % (uint64_t)ndirs], i);
        if (link(target, path) != 0)
            die("link", path);
    }
    for (long i = 0; i < nsyms && nfiles > 0; i++) {
        /* a relative link next to its target */
        const char *target = files[rnd() % (uint64_t)nfiles];
        char dir[PATH_MAX], path[PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s", target);
        char *slash = strrchr(dir, '/');
        *slash = 0;
        snprintf(path, sizeof path, "%s/symlink%03ld", dir, i);
        if (symlink(slash + 1, path) != 0)
            die("symlink", path);
    }
    for (long i = 0; i < ndangling; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/dangling%ld", dirs[rnd() % (uint64_t)ndirs], i);
        if (symlink("../no/such/target", path) != 0)
            die("symlink", path);
    }
    printf("fsp_mktree: %s: %ld directories, %ld files (%llu bytes), %ld hard links, "
           "%ld symlinks (%ld dangling)\n", root, ndirs, nfiles, bytes, nlinks,
           nsyms + ndangling, ndangling);
    for (long i = 0; i < ndirs; i++)
        free(dirs[i]);
    free(dirs);
    for (long i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    return 0;
}
