/**
 * @file class_file.c
 * Reading and validating class files (see class_file.h): the key = value
 * parser, the checks of each key, and the check of a whole directory.
 */
#define _GNU_SOURCE

#include "class_file.h"
#include "class_safety.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The keys, in the order the "unknown key" message lists them. */
enum key {
    KEY_EXECUTABLE,
    KEY_ARGUMENTS,
    KEY_MOUNTPOINT,
    KEY_RUN_AS,
    KEY_ALLOW,
    KEY_RECOVERY,
    KEY_RECOVERY_LIMIT,
    KEY_RECOVERY_DELAY_MS,
    KEY_START_TIMEOUT_MS,
    KEY_STOP_TIMEOUT_MS,
    KEY_WORKING_DIRECTORY,
    KEY_ENVIRONMENT,
    KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
    "executable",       "arguments",        "mountpoint",
    "run_as",           "allow",            "recovery",
    "recovery_limit",   "recovery_delay_ms", "start_timeout_ms",
    "stop_timeout_ms",  "working_directory", "environment",
};

/* One file being read. */
struct parse {
    const char *path;
    fsp_class_report_fn *report;
    void *arg;
    unsigned problems;
    unsigned key_line[KEY_COUNT]; /* where each key was seen, 0 if not */
    struct fsp_class *class_;
};

static void problem(struct parse *p, unsigned line, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct parse *p, unsigned line, const char *format, ...)
{
    char text[2 * PATH_MAX + 512];
    int len;
    va_list ap;

    p->problems++;
    if (!p->report)
        return;
    len = snprintf(text, sizeof text, "%s:%u: ", p->path, line);
    if (len < 0 || (size_t)len >= sizeof text)
        len = 0;
    va_start(ap, format);
    vsnprintf(text + len, sizeof text - (size_t)len, format, ap);
    va_end(ap);
    p->report(p->arg, text);
}

static char *trim(char *text)
{
    char *end;

    while (isspace((unsigned char)*text))
        text++;
    end = text + strlen(text);
    while (end > text && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return text;
}

/* ---- templates ---- */

/* Checks the substitutions of a template: %1..%9, %u, %%, and %m where
 * allow_m. Reports the first bad one. */
static bool check_template(struct parse *p, unsigned line, const char *key,
                           const char *text, bool allow_m)
{
    const char *s;

    for (s = text; *s; s++) {
        if (*s != '%')
            continue;
        s++;
        if ((*s >= '1' && *s <= '9') || *s == 'u' || *s == '%' ||
            (*s == 'm' && allow_m))
            continue;
        if (*s == 'm') {
            problem(p, line,
                    "%%m cannot be used in %s: the mount point is what it "
                    "defines; use %%1..%%9 or %%u",
                    key);
        } else if (*s == '\0') {
            problem(p, line,
                    "%s ends with a lone '%%'; write %%%% for a '%%'", key);
        } else {
            problem(p, line,
                    "bad substitution '%%%c' in %s; use %%1..%%9 (start "
                    "arguments), %%u (user), %s%%%% (a '%%')",
                    *s, key, allow_m ? "%m (mount point), " : "");
        }
        return false;
    }
    return true;
}

/* Splits arguments at blanks, "..." keeping blanks in a word. */
static void parse_arguments(struct parse *p, unsigned line, const char *value)
{
    struct fsp_class *c = p->class_;
    char word[FSP_CLASS_VALUE_MAX + 1];
    const char *s = value;
    size_t len;
    bool quoted;

    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        if (!*s)
            break;
        len = 0;
        quoted = false;
        while (*s && (quoted || !isspace((unsigned char)*s))) {
            if (*s == '"')
                quoted = !quoted;
            else if (len < sizeof word - 1)
                word[len++] = *s;
            s++;
        }
        word[len] = '\0';
        if (quoted) {
            problem(p, line,
                    "unclosed '\"' in arguments; end the quoted word with "
                    "another '\"'");
            return;
        }
        if (c->argument_count == FSP_CLASS_LIST_MAX) {
            problem(p, line, "more than %d arguments; pass fewer",
                    FSP_CLASS_LIST_MAX);
            return;
        }
        if (!check_template(p, line, "arguments", word, true))
            return;
        c->arguments[c->argument_count] = strdup(word);
        if (c->arguments[c->argument_count])
            c->argument_count++;
    }
}

/* ---- values ---- */

static void parse_number(struct parse *p, unsigned line, const char *key,
                         const char *value, unsigned max, unsigned *out)
{
    char *end;
    unsigned long number;

    errno = 0;
    number = isdigit((unsigned char)*value) ? strtoul(value, &end, 10) : 0;
    if (!isdigit((unsigned char)*value) || errno || *end || number > max) {
        problem(p, line,
                "%s '%s' is not a whole number from 0 to %u; write digits "
                "only, e.g. %s = 5",
                key, value, max, key);
        return;
    }
    *out = (unsigned)number;
}

static void parse_executable(struct parse *p, unsigned line,
                             const char *value)
{
    char why[2 * PATH_MAX + 256];
    struct stat st;

    if (value[0] != '/') {
        problem(p, line,
                "executable '%s' is not an absolute path; give the full "
                "path, e.g. /usr/bin/%s",
                value, value);
        return;
    }
    if (stat(value, &st) < 0) {
        problem(p, line,
                "executable '%s' cannot be found (%s); install the file "
                "system or correct the path",
                value, strerror(errno));
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        problem(p, line,
                "executable '%s' is not a regular file; point executable "
                "at the file system program",
                value);
        return;
    }
    if (!(st.st_mode & 0111) || access(value, X_OK) < 0) {
        problem(p, line, "executable '%s' is not executable; chmod 755 %s",
                value, value);
        return;
    }
    if (!fsp_class_is_safe("executable", value, &st, why, sizeof why) ||
        !fsp_class_parents_are_safe(value, why, sizeof why)) {
        problem(p, line, "%s", why);
        return;
    }
    p->class_->executable = strdup(value);
}

static void parse_run_as(struct parse *p, unsigned line, const char *value)
{
    struct fsp_class *c = p->class_;

    if (strcmp(value, "root") == 0) {
        c->run_as = FSP_CLASS_RUN_AS_ROOT;
    } else if (strcmp(value, "caller") == 0) {
        c->run_as = FSP_CLASS_RUN_AS_CALLER;
    } else if (!getpwnam(value)) {
        problem(p, line,
                "run_as user '%s' does not exist; create the user, or "
                "write root or caller",
                value);
    } else {
        c->run_as = FSP_CLASS_RUN_AS_USER;
        c->run_as_user = strdup(value);
    }
}

static void parse_allow(struct parse *p, unsigned line, char *value)
{
    struct fsp_class *c = p->class_;
    char *saveptr = NULL, *entry;

    for (entry = strtok_r(value, " \t,", &saveptr); entry;
         entry = strtok_r(NULL, " \t,", &saveptr)) {
        if (entry[0] == '@' && !getgrnam(entry + 1)) {
            problem(p, line,
                    "allow: group '%s' does not exist; create it or "
                    "remove '%s'",
                    entry + 1, entry);
            continue;
        }
        if (entry[0] != '@' && !getpwnam(entry)) {
            problem(p, line,
                    "allow: user '%s' does not exist; create the user, "
                    "or write @GROUP for a group",
                    entry);
            continue;
        }
        if (c->allow_count == FSP_CLASS_LIST_MAX) {
            problem(p, line, "allow has more than %d entries; use a group",
                    FSP_CLASS_LIST_MAX);
            return;
        }
        c->allow[c->allow_count] = strdup(entry);
        if (c->allow[c->allow_count])
            c->allow_count++;
    }
}

static void parse_working_directory(struct parse *p, unsigned line,
                                    const char *value)
{
    struct stat st;

    if (value[0] != '/' || stat(value, &st) < 0 || !S_ISDIR(st.st_mode)) {
        problem(p, line,
                "working_directory '%s' is not an existing directory "
                "given by its absolute path; create it or correct the path",
                value);
        return;
    }
    p->class_->working_directory = strdup(value);
}

static void parse_environment(struct parse *p, unsigned line,
                              const char *value)
{
    struct fsp_class *c = p->class_;
    const char *s = value;

    if (isalpha((unsigned char)*s) || *s == '_')
        for (s++; isalnum((unsigned char)*s) || *s == '_'; s++)
            ;
    if (s == value || *s != '=') {
        problem(p, line,
                "environment '%s' is not NAME=VALUE; write e.g. "
                "environment = LANG=C.UTF-8",
                value);
        return;
    }
    if (c->environment_count == FSP_CLASS_LIST_MAX) {
        problem(p, line, "more than %d environment lines; keep fewer",
                FSP_CLASS_LIST_MAX);
        return;
    }
    c->environment[c->environment_count] = strdup(value);
    if (c->environment[c->environment_count])
        c->environment_count++;
}

/* ---- lines ---- */

static int find_key(const char *name)
{
    int k;

    for (k = 0; k < KEY_COUNT; k++)
        if (strcmp(key_names[k], name) == 0)
            return k;
    return -1;
}

static void unknown_key(struct parse *p, unsigned line, const char *name)
{
    char known[512] = "";
    int k;

    for (k = 0; k < KEY_COUNT; k++) {
        strcat(known, key_names[k]);
        if (k + 1 < KEY_COUNT)
            strcat(known, ", ");
    }
    problem(p, line, "unknown key '%s'; the keys are %s", name, known);
}

static void parse_value(struct parse *p, unsigned line, int key, char *value)
{
    struct fsp_class *c = p->class_;

    switch (key) {
    case KEY_EXECUTABLE:
        parse_executable(p, line, value);
        break;
    case KEY_ARGUMENTS:
        parse_arguments(p, line, value);
        break;
    case KEY_MOUNTPOINT:
        if (check_template(p, line, "mountpoint", value, false))
            c->mountpoint = strdup(value);
        break;
    case KEY_RUN_AS:
        parse_run_as(p, line, value);
        break;
    case KEY_ALLOW:
        parse_allow(p, line, value);
        break;
    case KEY_RECOVERY:
        if (strcmp(value, "restart") == 0)
            c->recovery = true;
        else if (strcmp(value, "no") == 0)
            c->recovery = false;
        else
            problem(p, line,
                    "recovery '%s' is neither no nor restart; write "
                    "recovery = restart to restart a crashed instance",
                    value);
        break;
    case KEY_RECOVERY_LIMIT:
        parse_number(p, line, "recovery_limit", value, 1000,
                     &c->recovery_limit);
        break;
    case KEY_RECOVERY_DELAY_MS:
        parse_number(p, line, "recovery_delay_ms", value, 60000,
                     &c->recovery_delay_ms);
        break;
    case KEY_START_TIMEOUT_MS:
        parse_number(p, line, "start_timeout_ms", value, 600000,
                     &c->start_timeout_ms);
        break;
    case KEY_STOP_TIMEOUT_MS:
        parse_number(p, line, "stop_timeout_ms", value, 600000,
                     &c->stop_timeout_ms);
        break;
    case KEY_WORKING_DIRECTORY:
        parse_working_directory(p, line, value);
        break;
    case KEY_ENVIRONMENT:
        parse_environment(p, line, value);
        break;
    }
}

static void parse_line(struct parse *p, unsigned line, char *text)
{
    char *equals, *name, *value;
    int key;

    text = trim(text);
    if (*text == '\0' || *text == '#')
        return;
    equals = strchr(text, '=');
    if (!equals) {
        problem(p, line,
                "'%s' is not 'key = value'; write key = value, or start "
                "the line with # to make it a comment",
                text);
        return;
    }
    *equals = '\0';
    name = trim(text);
    value = trim(equals + 1);
    key = find_key(name);
    if (key < 0) {
        unknown_key(p, line, name);
        return;
    }
    if (key != KEY_ENVIRONMENT && p->key_line[key]) {
        problem(p, line, "%s given twice (first on line %u); keep one",
                name, p->key_line[key]);
        return;
    }
    p->key_line[key] = line;
    if (*value == '\0' && key != KEY_ARGUMENTS) {
        problem(p, line, "%s has no value; write %s = VALUE or drop the line",
                name, name);
        return;
    }
    if (strlen(value) > FSP_CLASS_VALUE_MAX) {
        problem(p, line, "the value of %s is longer than %d characters; "
                "shorten it", name, FSP_CLASS_VALUE_MAX);
        return;
    }
    parse_value(p, line, key, value);
}

/* ---- files ---- */

/* NAME of DIR/NAME.conf into class_->name; false after a report. */
static bool take_name(struct parse *p)
{
    const char *base = strrchr(p->path, '/');
    size_t len, i;

    base = base ? base + 1 : p->path;
    len = strlen(base);
    if (len <= 5 || strcmp(base + len - 5, ".conf") != 0) {
        problem(p, 0, "a class file must be named NAME.conf; rename it");
        return false;
    }
    len -= 5;
    for (i = 0; i < len; i++) {
        if (!isalnum((unsigned char)base[i]) && !strchr("_-.", base[i]))
            break;
    }
    if (i < len || len > FSP_CLASS_NAME_MAX) {
        problem(p, 0,
                "class name '%.*s' may only have up to %d letters, digits, "
                "'_', '-' and '.'; rename the file",
                (int)len, base, FSP_CLASS_NAME_MAX);
        return false;
    }
    memcpy(p->class_->name, base, len);
    p->class_->name[len] = '\0';
    return true;
}

static void set_defaults(struct fsp_class *c)
{
    c->run_as = FSP_CLASS_RUN_AS_ROOT;
    c->recovery_limit = 5;
    c->recovery_delay_ms = 1000;
    c->start_timeout_ms = 10000;
    c->stop_timeout_ms = 5000;
}

/* The defaults that are strings, once the file is read. */
static int finish(struct parse *p)
{
    struct fsp_class *c = p->class_;

    if (!p->key_line[KEY_EXECUTABLE])
        problem(p, 0,
                "no executable; add a line executable = /path/to/program");
    if (!c->mountpoint)
        c->mountpoint = strdup("%1");
    if (!c->working_directory)
        c->working_directory = strdup("/");
    if (!c->mountpoint || !c->working_directory)
        return -ENOMEM;
    return 0;
}

static int read_lines(struct parse *p, FILE *file)
{
    char *text = NULL;
    size_t size = 0;
    unsigned line = 0;
    int err = 0;

    errno = 0;
    while (getline(&text, &size, file) >= 0)
        parse_line(p, ++line, text);
    if (ferror(file)) {
        err = errno ? -errno : -EIO;
        problem(p, line, "cannot read: %s", strerror(-err));
    }
    free(text);
    return err;
}

int fsp_class_load(const char *path, fsp_class_report_fn *report,
                   void *arg, struct fsp_class **class_out)
{
    struct parse p = {.path = path, .report = report, .arg = arg};
    char why[2 * PATH_MAX + 256];
    FILE *file = NULL;
    struct stat st;
    int err;

    *class_out = NULL;
    p.class_ = calloc(1, sizeof *p.class_);
    if (!p.class_) {
        err = -ENOMEM;
        goto out;
    }
    set_defaults(p.class_);
    p.class_->path = strdup(path);
    file = fopen(path, "re");
    if (!file || !p.class_->path) {
        err = file ? -ENOMEM : -errno;
        if (err == -ENOENT)
            problem(&p, 0, "no such class file; create it, or check the "
                    "class name and the class directory");
        else
            problem(&p, 0, "cannot open: %s", strerror(-err));
        goto out;
    }
    if (fstat(fileno(file), &st) < 0) {
        err = -errno;
        problem(&p, 0, "cannot stat: %s", strerror(-err));
        goto out;
    }
    if (!fsp_class_is_safe("class file", path, &st, why, sizeof why))
        problem(&p, 0, "%s", why);
    take_name(&p);
    err = read_lines(&p, file);
    if (err < 0)
        goto out;
    err = finish(&p);
    if (err == 0 && p.problems > 0)
        err = -EINVAL;
out:
    if (file)
        fclose(file);
    if (err < 0)
        fsp_class_free(p.class_);
    else
        *class_out = p.class_;
    return err;
}

int fsp_class_find(const char *dir, const char *name,
                   fsp_class_report_fn *report, void *arg,
                   struct fsp_class **class_out)
{
    char path[PATH_MAX];
    char text[PATH_MAX + 128];
    int len;

    *class_out = NULL;
    len = snprintf(path, sizeof path, "%s/%s.conf", dir, name);
    if (*name == '\0' || strchr(name, '/') || len < 0 ||
        (size_t)len >= sizeof path || strlen(name) > FSP_CLASS_NAME_MAX) {
        if (report) {
            snprintf(text, sizeof text,
                     "%s: '%s' cannot be a class name; use letters, "
                     "digits, '_', '-' and '.'",
                     dir, name);
            report(arg, text);
        }
        return -EINVAL;
    }
    return fsp_class_load(path, report, arg, class_out);
}

void fsp_class_free(struct fsp_class *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < c->argument_count; i++)
        free(c->arguments[i]);
    for (i = 0; i < c->allow_count; i++)
        free(c->allow[i]);
    for (i = 0; i < c->environment_count; i++)
        free(c->environment[i]);
    free(c->path);
    free(c->executable);
    free(c->mountpoint);
    free(c->run_as_user);
    free(c->working_directory);
    free(c);
}

static int is_class_file(const struct dirent *entry)
{
    size_t len = strlen(entry->d_name);

    return entry->d_name[0] != '.' && len > 5 &&
           strcmp(entry->d_name + len - 5, ".conf") == 0;
}

int fsp_class_check_dir(const char *dir, fsp_class_report_fn *report,
                        void *arg)
{
    struct dirent **entries = NULL;
    struct fsp_class *c;
    char path[PATH_MAX];
    int count, i, broken = 0;

    count = scandir(dir, &entries, is_class_file, alphasort);
    if (count < 0)
        return -errno;
    for (i = 0; i < count; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, entries[i]->d_name);
        if (fsp_class_load(path, report, arg, &c) < 0)
            broken++;
        fsp_class_free(c);
        free(entries[i]);
    }
    free(entries);
    return broken;
}
