/* [upload] scan_command: every stored file is held (TOKEN.held, answered
 * 423 by GET) until the command, run through /bin/sh -c with the file on
 * its standard input and its path as $1, exits 0; then it is renamed to
 * TOKEN.  Any other exit, a signal or [upload] scan_timeout deletes it
 * and a `system` line in the transcript says so.  One child at a time,
 * spawned with posix_spawn and collected by a timer polling waitpid
 * (WNOHANG), as mail.c does with sendmail: nothing blocks the loop.  Held
 * files found at start-up are scanned again. */
#include "build-config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "desk/files.h"
#include "upload/upload_impl.h"

#define POLL_MS 100

extern char **environ;

struct upload_scan {
    int64_t ticket;
    char token[2 * UPLOAD_TOKEN_BYTES + 1];
    char *bare, *nick, *name;     /* NULL after a restart: unknown */
    pid_t pid;
    uint64_t deadline_ms;
    struct loop_timer *timer;
    struct upload_scan *next;
};

static void scan_free(struct upload_scan *sc)
{
    free(sc->bare);
    free(sc->nick);
    free(sc->name);
    free(sc);
}

static void next_scan(struct upload *u);

static void finish(struct upload *u, struct upload_scan *sc, bool passed,
                   const char *why)
{
    char held[UPLOAD_PATH_MAX], path[UPLOAD_PATH_MAX];
    if (upload_file_path(u, sc->ticket, sc->token, ".held", held, sizeof held) == 0 &&
        upload_file_path(u, sc->ticket, sc->token, "", path, sizeof path) == 0) {
        if (passed && rename(held, path) == 0) {
            log_info(LOG, "ticket %" PRId64 ": %s passed the check",
                     sc->ticket, sc->name ? sc->name : sc->token);
        } else {
            log_warn(LOG, "ticket %" PRId64 ": %s did not pass the check "
                     "(%s): deleted", sc->ticket,
                     sc->name ? sc->name : sc->token, why);
            upload_delete(u, sc->ticket, sc->token);
            char id[UPLOAD_EVENT_ID_SIZE + 8], text[400];
            upload_event_id(sc->token, id);
            strcat(id, "-scan");
            snprintf(text, sizeof text, "The file %s did not pass the check "
                     "and was deleted", sc->name ? sc->name : "(a file)");
            struct desk_file_event ev = {.stanza_id = id, .body = text,
                                         .system = true};
            desk_files_event(u->desk, sc->ticket, &ev);
        }
    }
    u->scanning = NULL;
    scan_free(sc);
    next_scan(u);
}

static void poll_child(void *ud)
{
    struct upload *u = ud;
    struct upload_scan *sc = u->scanning;
    sc->timer = NULL;
    int status;
    pid_t r = waitpid(sc->pid, &status, WNOHANG);
    if (r == sc->pid) {
        char why[64];
        if (WIFEXITED(status))
            snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(status));
        else
            snprintf(why, sizeof why, "signal %d",
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        finish(u, sc, WIFEXITED(status) && WEXITSTATUS(status) == 0, why);
        return;
    }
    if (r < 0 && errno != EINTR) {
        finish(u, sc, false, strerror(errno));
        return;
    }
    if (loop_now(u->loop) >= sc->deadline_ms) {
        kill(sc->pid, SIGKILL); /* collected on the next poll */
        sc->deadline_ms = UINT64_MAX;
    }
    sc->timer = loop_timer_add(u->loop, POLL_MS, poll_child, u, NULL);
}

static int spawn(struct upload *u, struct upload_scan *sc)
{
    char held[UPLOAD_PATH_MAX];
    if (upload_file_path(u, sc->ticket, sc->token, ".held", held, sizeof held) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, held, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    char *argv[] = {"sh", "-c", u->cfg->upload.scan_command, "mucdesk-scan",
                    held, NULL};
    int rc = posix_spawn(&sc->pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        log_error(LOG, "cannot run [upload] scan_command: %s", strerror(rc));
        return -1;
    }
    return 0;
}

static void next_scan(struct upload *u)
{
    while (!u->scanning && u->scan_head) {
        struct upload_scan *sc = u->scan_head;
        u->scan_head = sc->next;
        if (!u->scan_head)
            u->scan_tail = NULL;
        if (spawn(u, sc) < 0) {
            /* Held (not served) until the next start scans it again. */
            scan_free(sc);
            continue;
        }
        sc->deadline_ms = loop_now(u->loop) +
                          (uint64_t)u->cfg->upload.scan_timeout_s * 1000u;
        u->scanning = sc;
        sc->timer = loop_timer_add(u->loop, POLL_MS, poll_child, u, NULL);
    }
}

void upload_scan_enqueue(struct upload *u, int64_t ticket, const char *token,
                         const char *bare, const char *nick, const char *name)
{
    struct upload_scan *sc = calloc(1, sizeof *sc);
    if (!sc)
        return; /* held until the next start */
    sc->ticket = ticket;
    snprintf(sc->token, sizeof sc->token, "%s", token);
    sc->bare = bare ? strdup(bare) : NULL;
    sc->nick = nick ? strdup(nick) : NULL;
    sc->name = name ? strdup(name) : NULL;
    if (u->scan_tail)
        u->scan_tail->next = sc;
    else
        u->scan_head = sc;
    u->scan_tail = sc;
    next_scan(u);
}

/* Held files of an earlier run. */
int upload_scan_start(struct upload *u)
{
    if (!u->scan)
        return 0;
    DIR *top = opendir(u->dir);
    for (struct dirent *e; top && (e = readdir(top));) {
        char *end;
        long long t = strtoll(e->d_name, &end, 10);
        if (t <= 0 || *end)
            continue;
        char path[UPLOAD_PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", u->dir, e->d_name);
        DIR *d = opendir(path);
        for (struct dirent *f; d && (f = readdir(d));) {
            size_t n = strcspn(f->d_name, ".");
            if (n == 2 * UPLOAD_TOKEN_BYTES && strcmp(f->d_name + n, ".held") == 0) {
                char token[2 * UPLOAD_TOKEN_BYTES + 1];
                memcpy(token, f->d_name, n);
                token[n] = '\0';
                upload_scan_enqueue(u, t, token, NULL, NULL, NULL);
            }
        }
        if (d)
            closedir(d);
    }
    if (top)
        closedir(top);
    return 0;
}

void upload_scan_stop(struct upload *u)
{
    struct upload_scan *sc = u->scanning;
    if (sc) {
        if (sc->timer)
            loop_timer_cancel(u->loop, sc->timer);
        kill(sc->pid, SIGKILL);
        waitpid(sc->pid, NULL, 0);
        scan_free(sc);
        u->scanning = NULL;
    }
    while (u->scan_head) {
        sc = u->scan_head;
        u->scan_head = sc->next;
        scan_free(sc);
    }
    u->scan_tail = NULL;
}
