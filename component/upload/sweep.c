/* The sweep: a stored file lives exactly as long as its `file` event.
 * Retention and purge-customer (the daemon's or mucdeskctl's) delete
 * events in PostgreSQL; every [upload] sweep_interval, and at once after
 * the daemon's purge-customer, the DB thread lists the stored files, asks
 * which of their event ids ticket_events no longer has, and deletes those
 * files.  Only while the archive has shipped everything (an event not yet
 * in PostgreSQL is not missing), and never a file that is being uploaded
 * or was written after the sweep began (its event may be on its way). */
#include "build-config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "upload/upload_impl.h"

/* Files looked at per run (a run that finds this many goes on soon). */
#define SWEEP_BATCH 2000
#define SWEEP_SOON_MS 50
#define SWEEP_BUSY_MS 2000
/* A .part left by a crash is deleted after this long. */
#define PART_MAX_AGE_S 86400

struct sweep_file {
    int64_t ticket;
    char token[2 * UPLOAD_TOKEN_BYTES + 1];
    bool gone;
};

struct sweep_op {
    struct store_op op;
    struct upload *u;
    char *dir;
    struct timespec started;      /* files written since are left alone */
    char **live;                  /* tokens being uploaded at the start */
    size_t nlive;
    struct sweep_file *files;
    size_t nfiles, cap;
    long deleted;
};

static bool is_token(const char *s, size_t n)
{
    return n == 2 * UPLOAD_TOKEN_BYTES &&
           strspn(s, "0123456789abcdef") == n;
}

static bool live(const struct sweep_op *so, const char *token)
{
    for (size_t i = 0; i < so->nlive; i++)
        if (strcmp(so->live[i], token) == 0)
            return true;
    return false;
}

static void consider(struct sweep_op *so, int64_t ticket, int dfd,
                     const char *name)
{
    size_t n = strcspn(name, ".");
    if (!is_token(name, n))
        return;
    struct stat st;
    if (fstatat(dfd, name, &st, 0) < 0)
        return;
    if (strcmp(name + n, ".part") == 0) {
        if (time(NULL) - st.st_mtime > PART_MAX_AGE_S)
            unlinkat(dfd, name, 0);
        return;
    }
    if (name[n] && strcmp(name + n, ".held") != 0)
        return; /* .meta: goes with its file */
    bool recent = st.st_mtim.tv_sec > so->started.tv_sec ||
                  (st.st_mtim.tv_sec == so->started.tv_sec &&
                   st.st_mtim.tv_nsec >= so->started.tv_nsec);
    if (recent || live(so, name) ||
        so->nfiles >= SWEEP_BATCH)
        return;
    if (so->nfiles == so->cap) {
        size_t cap = so->cap ? 2 * so->cap : 64;
        struct sweep_file *more = realloc(so->files, cap * sizeof *more);
        if (!more)
            return;
        so->files = more;
        so->cap = cap;
    }
    struct sweep_file *f = &so->files[so->nfiles++];
    f->ticket = ticket;
    memcpy(f->token, name, n);
    f->token[n] = '\0';
    f->gone = false;
}

static void list_files(struct sweep_op *so)
{
    DIR *top = opendir(so->dir);
    for (struct dirent *e; top && (e = readdir(top));) {
        char *end;
        long long t = strtoll(e->d_name, &end, 10);
        if (t <= 0 || *end)
            continue;
        char path[UPLOAD_PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", so->dir, e->d_name);
        DIR *d = opendir(path);
        for (struct dirent *f; d && (f = readdir(d));)
            consider(so, t, dirfd(d), f->d_name);
        if (d)
            closedir(d);
    }
    if (top)
        closedir(top);
}

static void remove_file(const struct sweep_op *so, const struct sweep_file *f)
{
    static const char *const suffixes[] = {"", ".held", ".meta"};
    char path[UPLOAD_PATH_MAX];
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        snprintf(path, sizeof path, "%s/%" PRId64 "/%s%s", so->dir, f->ticket,
                 f->token, suffixes[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/%" PRId64, so->dir, f->ticket);
    rmdir(path); /* only if it was the last */
}

static enum store_run_result sweep_run(struct store_op *op, PGconn *conn)
{
    struct sweep_op *so = (struct sweep_op *)op;
    if (!so->files)
        list_files(so);
    if (!so->nfiles)
        return STORE_RUN_DONE;
    struct buf ids;
    buf_init(&ids);
    buf_append_char(&ids, '{');
    for (size_t i = 0; i < so->nfiles; i++) {
        char id[UPLOAD_EVENT_ID_SIZE];
        upload_event_id(so->files[i].token, id);
        buf_printf(&ids, "%s%s", i ? "," : "", id);
    }
    buf_append_char(&ids, '}');
    const char *v[1] = {buf_cstr(&ids)};
    PGresult *res = PQexecParams(
        conn, "SELECT i FROM unnest($1::text[]) WITH ORDINALITY AS u(s, i)"
              " WHERE NOT EXISTS (SELECT 1 FROM ticket_events e"
              "                   WHERE e.stanza_id = u.s)",
        1, NULL, v, NULL, NULL, 0);
    buf_free(&ids);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(op->error, sizeof op->error, "%s", PQresultErrorMessage(res));
        PQclear(res);
        if (store_connection_lost(conn))
            return STORE_RUN_RETRY;
        op->failed = true;
        return STORE_RUN_DONE;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        long i = atol(PQgetvalue(res, r, 0));
        if (i >= 1 && (size_t)i <= so->nfiles) {
            so->files[i - 1].gone = true;
            remove_file(so, &so->files[i - 1]);
            so->deleted++;
        }
    }
    PQclear(res);
    return STORE_RUN_DONE;
}

static void schedule(struct upload *u, uint64_t ms);

static void sweep_op_free(struct sweep_op *so)
{
    for (size_t i = 0; i < so->nlive; i++)
        free(so->live[i]);
    free(so->live);
    free(so->files);
    free(so->dir);
    free(so);
}

static void sweep_done(struct store_op *op)
{
    struct sweep_op *so = (struct sweep_op *)op;
    struct upload *u = so->u;
    u->sweep_running = false;
    if (op->failed)
        log_warn(LOG, "file sweep failed (will try again): %s", op->error);
    for (size_t i = 0; i < so->nfiles; i++)
        if (so->files[i].gone)
            upload_forget_ticket_use(u, so->files[i].ticket);
    if (so->deleted)
        log_info(LOG, "deleted %ld file(s) whose transcript is gone",
                 so->deleted);
    bool more = so->nfiles >= SWEEP_BATCH || u->sweep_again;
    u->sweep_again = false;
    sweep_op_free(so);
    schedule(u, more ? SWEEP_SOON_MS
                     : (uint64_t)u->cfg->upload.sweep_interval_s * 1000u);
}

static void sweep_tick(void *ud)
{
    struct upload *u = ud;
    u->sweep_timer = NULL;
    struct archive_stats st;
    archive_get_stats(u->archive, &st);
    if (u->sweep_running || st.committed < st.appended ||
        !store_connected(u->store)) {
        if (u->sweep_running)
            u->sweep_again = true;
        else
            schedule(u, SWEEP_BUSY_MS);
        return;
    }
    struct sweep_op *so = calloc(1, sizeof *so);
    if (!so || !(so->dir = strdup(u->dir)))
        goto fail;
    so->op.run = sweep_run;
    so->op.done = sweep_done;
    so->u = u;
    clock_gettime(CLOCK_REALTIME, &so->started);
    for (struct upload_slot *s = u->slots; s; s = s->hh.next)
        so->nlive += s->uploading;
    if (so->nlive && !(so->live = calloc(so->nlive, sizeof *so->live)))
        goto fail;
    size_t i = 0;
    for (struct upload_slot *s = u->slots; s; s = s->hh.next)
        if (s->uploading && !(so->live[i++] = strdup(s->token)))
            goto fail;
    u->sweep_running = true;
    store_submit(u->store, &so->op);
    return;
fail:
    if (so)
        sweep_op_free(so);
    schedule(u, SWEEP_BUSY_MS);
}

static void schedule(struct upload *u, uint64_t ms)
{
    if (u->sweep_timer) {
        if (loop_timer_due(u->sweep_timer) <= loop_now(u->loop) + ms)
            return;
        loop_timer_cancel(u->loop, u->sweep_timer);
    }
    u->sweep_timer = loop_timer_add(u->loop, ms, sweep_tick, u, NULL);
}

void upload_sweep_start(struct upload *u)
{
    schedule(u, (uint64_t)u->cfg->upload.sweep_interval_s * 1000u);
}

void upload_sweep_stop(struct upload *u)
{
    if (u->sweep_timer)
        loop_timer_cancel(u->loop, u->sweep_timer);
    u->sweep_timer = NULL;
}

void upload_sweep_soon(void *ud)
{
    struct upload *u = ud;
    if (u->sweep_running)
        u->sweep_again = true;
    else
        schedule(u, SWEEP_SOON_MS);
}
