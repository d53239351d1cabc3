/*
 * test_log.c - the log hook (fsp_fs_set_log_handler, fsp_set_log_handler)
 * without a kernel: a volume is created but never mounted, and its
 * messages, problems and debug log alike, are produced through the
 * library's own entry points (fsp_log, fsp_log_request, ...).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "expect.h"
#include "fs_internal.h"
#include "op_table.h"
#include "fuse_msg.h"

/* What a handler saw. */
struct seen {
    int calls;
    fsp_fs_t *fs;
    int level;
    char message[4096];
    void *user;
};

static void record(fsp_fs_t *fs, int level, const char *message, void *user)
{
    struct seen *s = user;

    s->calls++;
    s->fs = fs;
    s->level = level;
    s->user = user;
    snprintf(s->message, sizeof s->message, "%s", message);
}

static fsp_fs_t *new_volume(void)
{
    fsp_volume_params_t params;
    fsp_fs_interface_t iface;
    fsp_fs_t *fs = NULL;

    fsp_volume_params_init(&params);
    params.fs_name = "logfs";
    memset(&iface, 0, sizeof iface);
    EXPECT_EQ(fsp_fs_create(&params, &iface, NULL, &fs), 0);
    return fs;
}

/* Runs fn(fs) with stderr pointed at a pipe; returns what it wrote. */
static void capture_stderr(void (*fn)(fsp_fs_t *), fsp_fs_t *fs, char *out,
                           size_t size)
{
    int fds[2], saved;
    ssize_t n;

    out[0] = '\0';
    EXPECT_EQ(pipe2(fds, O_NONBLOCK), 0);
    saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    fn(fs);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    n = read(fds[0], out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fds[0]);
}

static void log_one_problem(fsp_fs_t *fs)
{
    fsp_log(fs, "problem %d", 42);
}

static void without_a_handler_messages_go_to_stderr_with_a_time_stamp(void)
{
    fsp_fs_t *fs = new_volume();
    char out[512];
    unsigned h, m, s, us;
    int consumed = 0;

    capture_stderr(log_one_problem, fs, out, sizeof out);
    EXPECT_EQ(sscanf(out, "%2u:%2u:%2u.%6u %n", &h, &m, &s, &us, &consumed),
              4);
    EXPECT_STREQ(out + consumed, "logfs: problem 42\n");
    fsp_fs_delete(fs);
}

static void the_process_default_gets_every_volume_without_its_own(void)
{
    fsp_fs_t *a = new_volume(), *b = new_volume();
    struct seen seen = {0};

    fsp_set_log_handler(record, &seen);
    fsp_log(a, "from a");
    EXPECT_EQ(seen.calls, 1);
    EXPECT_TRUE(seen.fs == a);
    EXPECT_TRUE(seen.user == &seen);
    EXPECT_EQ(seen.level, FSP_LOG_ERROR);
    EXPECT_STREQ(seen.message, "logfs: from a");
    fsp_log(b, "from b");
    EXPECT_EQ(seen.calls, 2);
    EXPECT_TRUE(seen.fs == b);
    fsp_set_log_handler(NULL, NULL);
    fsp_fs_delete(a);
    fsp_fs_delete(b);
}

static void a_volume_handler_wins_and_null_gives_the_default_back(void)
{
    fsp_fs_t *fs = new_volume();
    struct seen def = {0}, own = {0};

    fsp_set_log_handler(record, &def);
    EXPECT_EQ(fsp_fs_set_log_handler(fs, record, &own), 0);
    fsp_log(fs, "one");
    EXPECT_EQ(own.calls, 1);
    EXPECT_EQ(def.calls, 0);
    EXPECT_EQ(fsp_fs_set_log_handler(fs, NULL, &own), 0);
    fsp_log(fs, "two");
    EXPECT_EQ(own.calls, 1);
    EXPECT_EQ(def.calls, 1);
    EXPECT_STREQ(def.message, "logfs: two");
    fsp_set_log_handler(NULL, NULL);
    fsp_fs_delete(fs);
}

static void setting_a_handler_on_no_volume_is_einval(void)
{
    EXPECT_EQ(fsp_fs_set_log_handler(NULL, record, NULL), -EINVAL);
}

static void levels_follow_the_kind_of_message(void)
{
    fsp_fs_t *fs = new_volume();
    struct seen seen = {0};

    fsp_fs_set_log_handler(fs, record, &seen);
    fsp_log_warning(fs, "fallback");
    EXPECT_EQ(seen.level, FSP_LOG_WARNING);
    EXPECT_STREQ(seen.message, "logfs: fallback");
    /* The debug notes only while the debug log is on. */
    fsp_log_debug(fs, "note");
    EXPECT_EQ(seen.calls, 1);
    fsp_fs_set_debug(fs, true);
    fsp_log_debug(fs, "note");
    EXPECT_EQ(seen.calls, 2);
    EXPECT_EQ(seen.level, FSP_LOG_DEBUG);
    EXPECT_STREQ(seen.message, "logfs: note");
    fsp_fs_delete(fs);
}

static void the_request_and_reply_lines_reach_the_handler(void)
{
    fsp_fs_t *fs = new_volume();
    struct seen seen = {0};
    struct fuse_msg m;
    struct fsp_request in;
    size_t len;

    fsp_fs_set_log_handler(fs, record, &seen);
    msg_start(&m, FUSE_LOOKUP, FUSE_ROOT_ID);
    msg_str(&m, "report.txt");
    len = msg_end(&m);
    EXPECT_EQ(fsp_op_decode(m.words, len, 45, &in), 0);
    fsp_log_request(fs, &in); /* debug log off: nothing */
    EXPECT_EQ(seen.calls, 0);
    fsp_fs_set_debug(fs, true);
    fsp_log_request(fs, &in);
    EXPECT_EQ(seen.calls, 1);
    EXPECT_EQ(seen.level, FSP_LOG_DEBUG);
    EXPECT_TRUE(strncmp(seen.message, "logfs <- 4660 LOOKUP / ", 23) == 0);
    EXPECT_TRUE(strstr(seen.message, "report.txt") != NULL);
    EXPECT_TRUE(strchr(seen.message, '\n') == NULL);
    fsp_log_reply(fs, in.unique, in.opcode, -ENOENT, 0, 0);
    EXPECT_EQ(seen.calls, 2);
    EXPECT_TRUE(strncmp(seen.message, "logfs -> 4660 LOOKUP ENOENT", 27) == 0);
    fsp_fs_delete(fs);
}

static void a_long_message_is_cut_not_overflowed(void)
{
    fsp_fs_t *fs = new_volume();
    struct seen seen = {0};
    char *big = malloc(5000);

    memset(big, 'x', 4999);
    big[4999] = '\0';
    fsp_fs_set_log_handler(fs, record, &seen);
    fsp_log(fs, "%s", big);
    EXPECT_EQ(strlen(seen.message), 2047);
    EXPECT_TRUE(strncmp(seen.message, "logfs: xxx", 10) == 0);
    free(big);
    fsp_fs_delete(fs);
}

/* A handler that holds on until told to go, so that a setter can be
 * seen waiting for it. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool inside, go;
    atomic_bool setter_done;
    fsp_fs_t *fs;
};

static void slow_handler(fsp_fs_t *fs, int level, const char *message,
                         void *user)
{
    struct gate *g = user;

    (void)fs;
    (void)level;
    (void)message;
    pthread_mutex_lock(&g->lock);
    g->inside = true;
    pthread_cond_broadcast(&g->cond);
    while (!g->go)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void *logging_thread(void *arg)
{
    struct gate *g = arg;

    fsp_log(g->fs, "slow");
    return NULL;
}

static void *setting_thread(void *arg)
{
    struct gate *g = arg;

    fsp_fs_set_log_handler(g->fs, NULL, NULL);
    atomic_store(&g->setter_done, true);
    return NULL;
}

static void a_setter_returns_only_when_the_old_handler_is_done(void)
{
    struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER,
                     .cond = PTHREAD_COND_INITIALIZER};
    struct timespec pause = {0, 50 * 1000 * 1000};
    pthread_t logger, setter;

    g.fs = new_volume();
    fsp_fs_set_log_handler(g.fs, slow_handler, &g);
    pthread_create(&logger, NULL, logging_thread, &g);
    pthread_mutex_lock(&g.lock);
    while (!g.inside)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
    pthread_create(&setter, NULL, setting_thread, &g);
    nanosleep(&pause, NULL);
    EXPECT_TRUE(!atomic_load(&g.setter_done)); /* still in the old handler */
    pthread_mutex_lock(&g.lock);
    g.go = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    pthread_join(logger, NULL);
    pthread_join(setter, NULL);
    EXPECT_TRUE(atomic_load(&g.setter_done));
    fsp_fs_delete(g.fs);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(without_a_handler_messages_go_to_stderr_with_a_time_stamp),
    EXPECT_CASE(the_process_default_gets_every_volume_without_its_own),
    EXPECT_CASE(a_volume_handler_wins_and_null_gives_the_default_back),
    EXPECT_CASE(setting_a_handler_on_no_volume_is_einval),
    EXPECT_CASE(levels_follow_the_kind_of_message),
    EXPECT_CASE(the_request_and_reply_lines_reach_the_handler),
    EXPECT_CASE(a_long_message_is_cut_not_overflowed),
    EXPECT_CASE(a_setter_returns_only_when_the_old_handler_is_done),
};

int main(void)
{
    return expect_run("test_log", cases, sizeof cases / sizeof *cases);
}
