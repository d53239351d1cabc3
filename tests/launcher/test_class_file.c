/**
 * @file test_class_file.c
 * Unit tests of tools/launcher/class_file: every kind of broken class
 * file is refused with a message naming the file, the line and the fix;
 * good classes load with their values; templates expand; allow lists
 * decide. Runs as root (the ownership cases chown files) in a private
 * directory under /tmp.
 */
#define _GNU_SOURCE

#include "class_file.h"
#include "expect.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The messages of one load, one per line. */
struct messages {
    char text[8192];
    int count;
};

static void collect(void *arg, const char *message)
{
    struct messages *m = arg;
    size_t len = strlen(m->text);

    snprintf(m->text + len, sizeof m->text - len, "%s\n", message);
    m->count++;
}

static char test_dir[64];
static char path[PATH_MAX];

/* Writes test_dir/NAME.conf with text and mode; the path is in path. */
static void write_class(const char *name, const char *text, mode_t mode)
{
    FILE *file;

    snprintf(path, sizeof path, "%s/%s.conf", test_dir, name);
    file = fopen(path, "w");
    EXPECT_TRUE(file != NULL);
    if (!file)
        return;
    fputs(text, file);
    fclose(file);
    chmod(path, mode);
}

/* Loads NAME.conf written with text; returns the result, the messages in
 * *m; frees the class. */
static int load(const char *name, const char *text, struct messages *m)
{
    struct fsp_class *c = NULL;
    int err;

    memset(m, 0, sizeof *m);
    write_class(name, text, 0644);
    err = fsp_class_load(path, collect, m, &c);
    EXPECT_TRUE((err == 0) == (c != NULL));
    fsp_class_free(c);
    return err;
}

/* Whether the single message of a broken load starts with FILE:LINE:
 * and contains both what and fix. */
static bool says(const struct messages *m, unsigned line, const char *what,
                 const char *fix)
{
    char prefix[PATH_MAX + 32];

    snprintf(prefix, sizeof prefix, "%s:%u: ", path, line);
    if (strncmp(m->text, prefix, strlen(prefix)) != 0 || !strstr(m->text, what) ||
        !strstr(m->text, fix)) {
        fprintf(stderr, "    message was: %s", m->text);
        return false;
    }
    return true;
}

/* A copy of /bin/true at test_dir/NAME with mode, its path in exe. */
static char exe[PATH_MAX];

static void make_executable(const char *name, mode_t mode)
{
    char command[2 * PATH_MAX];

    snprintf(exe, sizeof exe, "%s/%s", test_dir, name);
    snprintf(command, sizeof command, "cp /bin/true '%s'", exe);
    EXPECT_TRUE(system(command) == 0);
    chmod(exe, mode);
}

/* ---- good classes ---- */

static void class_with_every_key_loads_with_its_values(void)
{
    struct fsp_class *c = NULL;
    struct messages m = {0};

    write_class("full",
                "# a comment\n"
                "\n"
                "executable = /bin/true\n"
                "arguments = -o max_nodes=%2 \"%m\" %u 100%%\n"
                "mountpoint = /mnt/%1\n"
                "run_as = nobody\n"
                "allow = daemon, @users\n"
                "recovery = restart\n"
                "recovery_limit = 3\n"
                "recovery_delay_ms = 250\n"
                "start_timeout_ms = 2000\n"
                "stop_timeout_ms = 1500\n"
                "working_directory = /tmp\n"
                "environment = LANG=C\n"
                "environment = FSP_X=a b\n",
                0644);
    EXPECT_EQ(fsp_class_load(path, collect, &m, &c), 0);
    EXPECT_EQ(m.count, 0);
    if (!c)
        return;
    EXPECT_STREQ(c->name, "full");
    EXPECT_STREQ(c->executable, "/bin/true");
    EXPECT_EQ(c->argument_count, 5);
    EXPECT_STREQ(c->arguments[0], "-o");
    EXPECT_STREQ(c->arguments[1], "max_nodes=%2");
    EXPECT_STREQ(c->arguments[2], "%m");
    EXPECT_STREQ(c->arguments[4], "100%%");
    EXPECT_STREQ(c->mountpoint, "/mnt/%1");
    EXPECT_EQ(c->run_as, FSP_CLASS_RUN_AS_USER);
    EXPECT_STREQ(c->run_as_user, "nobody");
    EXPECT_EQ(c->allow_count, 2);
    EXPECT_STREQ(c->allow[0], "daemon");
    EXPECT_STREQ(c->allow[1], "@users");
    EXPECT_TRUE(c->recovery);
    EXPECT_EQ(c->recovery_limit, 3);
    EXPECT_EQ(c->recovery_delay_ms, 250);
    EXPECT_EQ(c->start_timeout_ms, 2000);
    EXPECT_EQ(c->stop_timeout_ms, 1500);
    EXPECT_STREQ(c->working_directory, "/tmp");
    EXPECT_EQ(c->environment_count, 2);
    EXPECT_STREQ(c->environment[1], "FSP_X=a b");
    fsp_class_free(c);
}

static void absent_keys_take_their_defaults(void)
{
    struct fsp_class *c = NULL;
    struct messages m = {0};

    write_class("minimal", "executable=/bin/true\n", 0644);
    EXPECT_EQ(fsp_class_load(path, collect, &m, &c), 0);
    if (!c)
        return;
    EXPECT_EQ(c->argument_count, 0);
    EXPECT_STREQ(c->mountpoint, "%1");
    EXPECT_EQ(c->run_as, FSP_CLASS_RUN_AS_ROOT);
    EXPECT_EQ(c->allow_count, 0);
    EXPECT_TRUE(!c->recovery);
    EXPECT_EQ(c->recovery_limit, 5);
    EXPECT_EQ(c->start_timeout_ms, 10000);
    EXPECT_EQ(c->stop_timeout_ms, 5000);
    EXPECT_STREQ(c->working_directory, "/");
    fsp_class_free(c);
}

/* ---- broken class files: one message each, with line and fix ---- */

static void unknown_key_is_named_with_the_known_keys(void)
{
    struct messages m;

    EXPECT_EQ(load("k", "executable = /bin/true\nexecutabel = /bin/true\n", &m),
              -EINVAL);
    EXPECT_EQ(m.count, 1);
    EXPECT_TRUE(says(&m, 2, "unknown key 'executabel'", "the keys are executable,"));
}

static void line_without_equals_sign_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("eq", "executable = /bin/true\nrecovery restart\n", &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "is not 'key = value'", "start the line with #"));
}

static void key_given_twice_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("twice", "executable = /bin/true\nrun_as = root\n"
                            "run_as = caller\n", &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 3, "run_as given twice (first on line 2)", "keep one"));
}

static void missing_executable_is_reported_for_the_whole_file(void)
{
    struct messages m;

    EXPECT_EQ(load("noexe", "arguments = %m\n", &m), -EINVAL);
    EXPECT_EQ(m.count, 1);
    EXPECT_TRUE(says(&m, 0, "no executable", "add a line executable ="));
}

static void executable_that_does_not_exist_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("gone", "executable = /nonexistent/memfs\n", &m), -EINVAL);
    EXPECT_TRUE(says(&m, 1, "'/nonexistent/memfs' cannot be found",
                     "install the file system or correct the path"));
}

static void relative_executable_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("rel", "executable = memfs\n", &m), -EINVAL);
    EXPECT_TRUE(says(&m, 1, "is not an absolute path", "give the full path"));
}

static void executable_without_execute_permission_is_refused(void)
{
    struct messages m;
    char text[PATH_MAX + 32];

    make_executable("noexec", 0644);
    snprintf(text, sizeof text, "executable = %s\n", exe);
    EXPECT_EQ(load("noexec", text, &m), -EINVAL);
    EXPECT_TRUE(says(&m, 1, "is not executable", "chmod 755"));
}

static void directory_as_executable_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("dir", "executable = /usr/bin\n", &m), -EINVAL);
    EXPECT_TRUE(says(&m, 1, "is not a regular file", "point executable at"));
}

static void executable_writable_by_others_is_refused(void)
{
    struct messages m;
    char text[PATH_MAX + 32];

    make_executable("openexe", 0777);
    snprintf(text, sizeof text, "executable = %s\n", exe);
    EXPECT_EQ(load("openexe", text, &m), -EINVAL);
    EXPECT_TRUE(says(&m, 1, "writable by others than root (mode 0777)",
                     "chmod go-w"));
}

static void executable_owned_by_another_user_is_refused(void)
{
    struct messages m;
    char text[PATH_MAX + 32];

    make_executable("nobodyexe", 0755);
    EXPECT_EQ(chown(exe, 65534, 65534), 0);
    snprintf(text, sizeof text, "executable = %s\n", exe);
    EXPECT_EQ(load("nobodyexe", text, &m), -EINVAL);
    EXPECT_TRUE(says(&m, 1, "is owned by uid 65534, not root", "chown root"));
}

static void directory_above_executable_writable_by_others_is_refused(void)
{
    struct messages m;
    char dir[PATH_MAX], text[PATH_MAX + 32];

    snprintf(dir, sizeof dir, "%s/opendir", test_dir);
    EXPECT_EQ(mkdir(dir, 0755), 0);
    EXPECT_EQ(chmod(dir, 0777), 0);
    make_executable("opendir/fs", 0755);
    snprintf(text, sizeof text, "executable = %s\n", exe);
    EXPECT_EQ(load("opendir", text, &m), -EINVAL);
    EXPECT_TRUE(says(&m, 1, "directory '", "chmod go-w"));
    EXPECT_TRUE(strstr(m.text, "/opendir' is writable by others") != NULL);
}

static void class_file_writable_by_others_is_refused(void)
{
    struct fsp_class *c = NULL;
    struct messages m = {0};

    write_class("open", "executable = /bin/true\n", 0666);
    EXPECT_EQ(fsp_class_load(path, collect, &m, &c), -EINVAL);
    EXPECT_TRUE(c == NULL);
    EXPECT_TRUE(says(&m, 0, "class file '", "chmod go-w"));
}

static void class_file_owned_by_another_user_is_refused(void)
{
    struct fsp_class *c = NULL;
    struct messages m = {0};

    write_class("owned", "executable = /bin/true\n", 0644);
    EXPECT_EQ(chown(path, 65534, 65534), 0);
    EXPECT_EQ(fsp_class_load(path, collect, &m, &c), -EINVAL);
    EXPECT_TRUE(says(&m, 0, "is owned by uid 65534", "chown root"));
}

static void bad_substitution_in_arguments_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("subst", "executable = /bin/true\narguments = -o %x %m\n",
                   &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "bad substitution '%x' in arguments",
                     "use %1..%9 (start arguments), %u (user), %m"));
}

static void lone_percent_at_the_end_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("lone", "executable = /bin/true\narguments = 100%\n", &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "lone '%'", "write %% for a '%'"));
}

static void mount_point_in_mountpoint_template_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("mm", "executable = /bin/true\nmountpoint = /mnt/%m\n", &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "%m cannot be used in mountpoint", "use %1..%9 or %u"));
}

static void unclosed_quote_in_arguments_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("quote", "executable = /bin/true\narguments = \"%m\n", &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "unclosed '\"'", "another '\"'"));
}

static void unknown_run_as_user_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("runas", "executable = /bin/true\nrun_as = no-such-user\n",
                   &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "run_as user 'no-such-user' does not exist",
                     "write root or caller"));
}

static void unknown_user_or_group_in_allow_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("allow", "executable = /bin/true\n"
                            "allow = nobody @no-such-group no-such-user\n",
                   &m),
              -EINVAL);
    EXPECT_EQ(m.count, 2);
    EXPECT_TRUE(says(&m, 2, "group 'no-such-group' does not exist", "create it"));
    EXPECT_TRUE(strstr(m.text, "user 'no-such-user' does not exist") != NULL);
}

static void bad_recovery_and_numbers_are_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("rec", "executable = /bin/true\nrecovery = always\n", &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "recovery 'always' is neither no nor restart",
                     "recovery = restart"));
    EXPECT_EQ(load("num", "executable = /bin/true\nrecovery_limit = -1\n", &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "recovery_limit '-1' is not a whole number",
                     "write digits only"));
    EXPECT_EQ(load("num2", "executable = /bin/true\nstop_timeout_ms = 5s\n", &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "stop_timeout_ms '5s'", "write digits only"));
}

static void bad_environment_and_working_directory_are_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("env", "executable = /bin/true\nenvironment = 1X=2\n", &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "environment '1X=2' is not NAME=VALUE",
                     "environment = LANG=C.UTF-8"));
    EXPECT_EQ(load("wd", "executable = /bin/true\n"
                         "working_directory = /nonexistent\n", &m),
              -EINVAL);
    EXPECT_TRUE(says(&m, 2, "working_directory '/nonexistent' is not an existing",
                     "create it or correct the path"));
}

static void key_without_value_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("empty", "executable =\n", &m), -EINVAL);
    EXPECT_TRUE(strstr(m.text, ":1: executable has no value; write executable = "
                               "VALUE") != NULL);
}

static void bad_class_name_is_refused(void)
{
    struct messages m;

    EXPECT_EQ(load("a b", "executable = /bin/true\n", &m), -EINVAL);
    EXPECT_TRUE(says(&m, 0, "class name 'a b'", "rename the file"));
}

static void every_problem_of_a_file_is_reported(void)
{
    struct messages m;

    EXPECT_EQ(load("many", "colour = blue\nrecovery = maybe\narguments = %q\n",
                   &m),
              -EINVAL);
    EXPECT_EQ(m.count, 4); /* three lines and the missing executable */
    EXPECT_TRUE(strstr(m.text, ":1: unknown key 'colour'") != NULL);
    EXPECT_TRUE(strstr(m.text, ":2: recovery 'maybe'") != NULL);
    EXPECT_TRUE(strstr(m.text, ":3: bad substitution '%q'") != NULL);
    EXPECT_TRUE(strstr(m.text, ":0: no executable") != NULL);
}

static void missing_class_is_reported_by_find(void)
{
    struct fsp_class *c = NULL;
    struct messages m = {0};

    EXPECT_EQ(fsp_class_find(test_dir, "nosuchclass", collect, &m, &c), -ENOENT);
    EXPECT_TRUE(strstr(m.text, "nosuchclass.conf:0: no such class file") != NULL);
    EXPECT_EQ(fsp_class_find(test_dir, "../x", collect, &m, &c), -EINVAL);
    EXPECT_TRUE(strstr(m.text, "'../x' cannot be a class name") != NULL);
}

/* ---- a directory ---- */

static void check_dir_counts_broken_classes_and_spares_good_ones(void)
{
    char dir[PATH_MAX + 8], file[PATH_MAX + 32];
    struct messages m = {0};
    FILE *f;

    snprintf(dir, sizeof dir, "%s/classes", test_dir);
    EXPECT_EQ(mkdir(dir, 0755), 0);
    snprintf(file, sizeof file, "%s/good.conf", dir);
    f = fopen(file, "w");
    if (f) {
        fputs("executable = /bin/true\n", f);
        fclose(f);
    }
    snprintf(file, sizeof file, "%s/bad.conf", dir);
    f = fopen(file, "w");
    if (f) {
        fputs("executable = /bin/true\nallow = no-such-user\n", f);
        fclose(f);
    }
    snprintf(file, sizeof file, "%s/README", dir);
    f = fopen(file, "w");
    if (f) {
        fputs("not a class\n", f);
        fclose(f);
    }
    EXPECT_EQ(fsp_class_check_dir(dir, collect, &m), 1);
    EXPECT_EQ(m.count, 1);
    EXPECT_TRUE(strstr(m.text, "/classes/bad.conf:2: allow: user 'no-such-user'") !=
                NULL);
    EXPECT_EQ(fsp_class_check_dir("/nonexistent-dir", collect, &m), -ENOENT);
}

/* ---- using a class ---- */

static void templates_expand_arguments_user_and_mount_point(void)
{
    const char *args[] = {"/mnt/a", "100"};
    struct fsp_class_subst subst = {args, 2, "alice", "/mnt/a"};
    char message[128] = "";
    char *out = NULL;

    EXPECT_EQ(fsp_class_expand("max=%2,u=%u,m=%m,100%%", &subst, &out, message,
                               sizeof message),
              0);
    EXPECT_STREQ(out, "max=100,u=alice,m=/mnt/a,100%");
    free(out);
    EXPECT_EQ(fsp_class_expand("%3", &subst, &out, message, sizeof message),
              -EINVAL);
    EXPECT_TRUE(out == NULL);
    EXPECT_STREQ(message, "argument %3 was not given (the start request has 2 "
                          "arguments)");
    subst.mountpoint = NULL;
    EXPECT_EQ(fsp_class_expand("%m", &subst, &out, message, sizeof message),
              -EINVAL);
}

static void command_line_is_executable_extra_then_arguments(void)
{
    struct fsp_class *c = NULL;
    struct messages m = {0};
    const char *args[] = {"/mnt/x"};
    const char *extra[] = {"-f"};
    struct fsp_class_subst subst = {args, 1, "root", "/mnt/x"};
    char message[128];
    char **argv = NULL;

    write_class("argv", "executable = /bin/true\narguments = -o a=%u %m\n",
                0644);
    EXPECT_EQ(fsp_class_load(path, collect, &m, &c), 0);
    if (!c)
        return;
    EXPECT_EQ(fsp_class_build_argv(c, &subst, extra, 1, &argv, message,
                                   sizeof message),
              0);
    if (argv) {
        EXPECT_STREQ(argv[0], "/bin/true");
        EXPECT_STREQ(argv[1], "-f");
        EXPECT_STREQ(argv[2], "-o");
        EXPECT_STREQ(argv[3], "a=root");
        EXPECT_STREQ(argv[4], "/mnt/x");
        EXPECT_TRUE(argv[5] == NULL);
    }
    fsp_class_free_argv(argv);
    fsp_class_free(c);
}

static void allow_list_admits_root_named_users_and_group_members(void)
{
    struct fsp_class *c = NULL;
    struct messages m = {0};

    write_class("who", "executable = /bin/true\nallow = daemon @nogroup\n",
                0644);
    EXPECT_EQ(fsp_class_load(path, collect, &m, &c), 0);
    if (!c)
        return;
    EXPECT_TRUE(fsp_class_allows(c, 0, 0));
    EXPECT_TRUE(fsp_class_allows(c, 1, 1));          /* daemon, by name */
    EXPECT_TRUE(fsp_class_allows(c, 65534, 65534));  /* nobody, in nogroup */
    EXPECT_TRUE(!fsp_class_allows(c, 2, 2));         /* bin: neither */
    EXPECT_TRUE(!fsp_class_allows(c, 4242, 4242));   /* no such user */
    fsp_class_free(c);
}

static void default_allow_list_admits_root_only(void)
{
    struct fsp_class *c = NULL;
    struct messages m = {0};

    write_class("rootonly", "executable = /bin/true\n", 0644);
    EXPECT_EQ(fsp_class_load(path, collect, &m, &c), 0);
    if (!c)
        return;
    EXPECT_TRUE(fsp_class_allows(c, 0, 0));
    EXPECT_TRUE(!fsp_class_allows(c, 1, 1));
    fsp_class_free(c);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(class_with_every_key_loads_with_its_values),
    EXPECT_CASE(absent_keys_take_their_defaults),
    EXPECT_CASE(unknown_key_is_named_with_the_known_keys),
    EXPECT_CASE(line_without_equals_sign_is_refused),
    EXPECT_CASE(key_given_twice_is_refused),
    EXPECT_CASE(missing_executable_is_reported_for_the_whole_file),
    EXPECT_CASE(executable_that_does_not_exist_is_refused),
    EXPECT_CASE(relative_executable_is_refused),
    EXPECT_CASE(executable_without_execute_permission_is_refused),
    EXPECT_CASE(directory_as_executable_is_refused),
    EXPECT_CASE(executable_writable_by_others_is_refused),
    EXPECT_CASE(executable_owned_by_another_user_is_refused),
    EXPECT_CASE(directory_above_executable_writable_by_others_is_refused),
    EXPECT_CASE(class_file_writable_by_others_is_refused),
    EXPECT_CASE(class_file_owned_by_another_user_is_refused),
    EXPECT_CASE(bad_substitution_in_arguments_is_refused),
    EXPECT_CASE(lone_percent_at_the_end_is_refused),
    EXPECT_CASE(mount_point_in_mountpoint_template_is_refused),
    EXPECT_CASE(unclosed_quote_in_arguments_is_refused),
    EXPECT_CASE(unknown_run_as_user_is_refused),
    EXPECT_CASE(unknown_user_or_group_in_allow_is_refused),
    EXPECT_CASE(bad_recovery_and_numbers_are_refused),
    EXPECT_CASE(bad_environment_and_working_directory_are_refused),
    EXPECT_CASE(key_without_value_is_refused),
    EXPECT_CASE(bad_class_name_is_refused),
    EXPECT_CASE(every_problem_of_a_file_is_reported),
    EXPECT_CASE(missing_class_is_reported_by_find),
    EXPECT_CASE(check_dir_counts_broken_classes_and_spares_good_ones),
    EXPECT_CASE(templates_expand_arguments_user_and_mount_point),
    EXPECT_CASE(command_line_is_executable_extra_then_arguments),
    EXPECT_CASE(allow_list_admits_root_named_users_and_group_members),
    EXPECT_CASE(default_allow_list_admits_root_only),
};

int main(void)
{
    char command[PATH_MAX + 16];
    int status, rc;

    if (geteuid() != 0) {
        printf("test_class_file: skipped, needs root (chown)\n");
        return 77;
    }
    snprintf(test_dir, sizeof test_dir, "/tmp/fsp-class-test.XXXXXX");
    if (!mkdtemp(test_dir)) {
        perror("mkdtemp");
        return 1;
    }
    chmod(test_dir, 0755);
    rc = expect_run("test_class_file", cases, sizeof cases / sizeof *cases);
    snprintf(command, sizeof command, "rm -rf '%s'", test_dir);
    status = system(command);
    (void)status;
    return rc;
}
