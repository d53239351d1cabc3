/* hello: the small file system from README.md, built so it never rots. */
#include <errno.h>
#include <fsp/fsp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
static const char text[] = "hello, world\n";
static int info(fsp_fs_t *fs, const char *path, fsp_file_info_t *fi) {
    if (!strcmp(path, "/")) { fi->mode = S_IFDIR | 0755; fi->nlink = 2; return 0; }
    if (strcmp(path, "/hello")) return -ENOENT;
    fi->mode = S_IFREG | 0444; fi->nlink = 1; fi->size = sizeof text - 1; return 0; }
static char files[2]; /* the file contexts: &files[0] is /, &files[1] /hello */
static int open_(fsp_fs_t *fs, const char *p, int fl, void **ctx, fsp_file_info_t *fi) {
    *ctx = &files[strcmp(p, "/") != 0]; /* not p: fsp frees it after open */
    return info(fs, p, fi); }
static int read_(fsp_fs_t *fs, void *ctx, void *buf, uint64_t off, size_t len, size_t *n) {
    *n = off < sizeof text - 1 ? (len < sizeof text - 1 - off ? len : sizeof text - 1 - off) : 0;
    memcpy(buf, text + off, *n); return 0; }
static int list(fsp_fs_t *fs, void *ctx, const char *marker, fsp_dir_buffer_t *b) {
    fsp_file_info_t fi = { .mode = S_IFREG | 0444, .nlink = 1, .size = sizeof text - 1 };
    if (!marker) fsp_dir_buffer_add(b, "hello", &fi);
    return 0; }
int main(int argc, char **argv) {
    fsp_fs_interface_t i = { .get_file_info_by_name = info, .open = open_,
                             .read = read_, .read_directory = list };
    fsp_volume_params_t p; fsp_volume_params_init(&p); p.read_only = true;
    fsp_fs_t *fs;
    if (argc != 2 || argv[1][0] == '-') {
        int help = argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
        fputs("usage: hello MOUNTPOINT (serves /hello until unmounted)\n", help ? stdout : stderr);
        return help ? 0 : 2; }
    if (fsp_fs_create(&p, &i, NULL, &fs) || fsp_fs_mount(fs, argv[1]))
        return puts(fsp_fs_error_message(fs)), 1;
    fsp_fs_start(fs, 2); fsp_fs_wait(fs); fsp_fs_delete(fs); return 0; }
