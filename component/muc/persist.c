/* Persistent plain rooms in PostgreSQL (sql/002_muc.sql): loaded at
 * start-up, written when their configuration, affiliations or subject
 * change.  Everything goes through store operations (store/db.h): the SQL
 * runs on the DB thread, in submission order, and the XMPP thread never
 * waits for it. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "muc/persist.h"
#include "muc/room.h"
#include "xmpp/stamp.h"

#define LOG "muc"
#define MAX_PARAMS 20
/* If the database does not answer the load in this time, the service opens
 * anyway (stanzas to unknown rooms were answered "try again" until then);
 * the stored rooms appear when it answers. */
#define LOAD_PATIENCE_MS 1000
/* The load is submitted only once the database is connected: an operation
 * queued while it is away would hold the store's shutdown until its stop
 * timeout. */
#define LOAD_POLL_MS 50

/* ---- writes: a transaction of parameterised statements ----------------------------- */

struct stmt {
    const char *sql;
    int n;
    char *v[MAX_PARAMS];
};

struct write_op {
    struct store_op base; /* first */
    char *what;           /* for the log */
    size_t count, cap;
    struct stmt *stmts;
};

static void write_op_free(struct write_op *op)
{
    for (size_t i = 0; i < op->count; i++)
        for (int k = 0; k < op->stmts[i].n; k++)
            free(op->stmts[i].v[k]);
    free(op->stmts);
    free(op->what);
    free(op);
}

static enum store_run_result run_write(struct store_op *base, PGconn *conn)
{
    struct write_op *op = (struct write_op *)base;
    PGresult *res = PQexec(conn, "BEGIN");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    for (size_t i = 0; ok && i < op->count; i++) {
        struct stmt *s = &op->stmts[i];
        res = PQexecParams(conn, s->sql, s->n, NULL,
                           (const char *const *)s->v, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(res);
        ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
        if (!ok)
            snprintf(base->error, sizeof base->error, "%s",
                     PQresultErrorMessage(res));
        PQclear(res);
    }
    res = PQexec(conn, ok ? "COMMIT" : "ROLLBACK");
    if (ok && PQresultStatus(res) != PGRES_COMMAND_OK) {
        ok = false;
        snprintf(base->error, sizeof base->error, "%s",
                 PQresultErrorMessage(res));
    }
    PQclear(res);
    if (!ok && store_connection_lost(conn))
        return STORE_RUN_RETRY;
    base->failed = !ok;
    return STORE_RUN_DONE;
}

static void done_write(struct store_op *base)
{
    struct write_op *op = (struct write_op *)base;
    if (base->failed) {
        for (char *p = base->error; *p; p++)
            if (*p == '\n')
                *p = ' ';
        log_error(LOG, "cannot store %s: %s", op->what, base->error);
    }
    write_op_free(op);
}

static struct write_op *write_op_new(const char *what)
{
    struct write_op *op = calloc(1, sizeof *op);
    if (!op || !(op->what = strdup(what))) {
        free(op);
        return NULL;
    }
    op->base.run = run_write;
    op->base.done = done_write;
    return op;
}

/* Adds a statement; params are copied (NULL is SQL NULL).  0 or -1. */
static int add_stmt(struct write_op *op, const char *sql, int n,
                    const char *const *params)
{
    if (op->count == op->cap) {
        size_t cap = op->cap ? op->cap * 2 : 4;
        struct stmt *s = realloc(op->stmts, cap * sizeof *s);
        if (!s)
            return -1;
        op->stmts = s;
        op->cap = cap;
    }
    struct stmt *s = &op->stmts[op->count++];
    memset(s, 0, sizeof *s);
    s->sql = sql;
    for (int i = 0; i < n; i++) {
        if (params[i] && !(s->v[i] = strdup(params[i]))) {
            s->n = i;
            return -1;
        }
        s->n = i + 1;
    }
    return 0;
}

static void submit(struct muc *muc, struct write_op *op, bool ok)
{
    if (!ok || !muc->store) {
        if (!ok)
            log_error(LOG, "cannot store %s: out of memory", op->what);
        write_op_free(op);
        return;
    }
    store_submit(muc->store, &op->base);
}

static const char *pm_text(uint8_t p)
{
    static const char *const names[] = {"anyone", "participants",
                                        "moderators", "none"};
    return p < 4 ? names[p] : "none";
}

static const char *tf(bool b) { return b ? "t" : "f"; }

static int add_affiliation_stmt(struct write_op *op, const char *room,
                                const struct muc_affil_record *r)
{
    const char *p[4] = {room, r->jid,
                        muc_affiliation_name((enum muc_affiliation)
                                                 r->affiliation),
                        r->nick};
    return add_stmt(op,
                    "INSERT INTO muc_affiliations (room, jid, affiliation, nick)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (room, jid) DO UPDATE"
                    " SET affiliation = EXCLUDED.affiliation,"
                    " nick = EXCLUDED.nick",
                    4, p);
}

void muc_persist_room(struct muc_room *room)
{
    struct write_op *op = write_op_new("a room");
    if (!op)
        return;
    const struct muc_room_config *c = &room->cfg;
    char max[16], hist[16], at[STAMP_TEXT_MAX];
    snprintf(max, sizeof max, "%d", c->max_occupants);
    snprintf(hist, sizeof hist, "%d", c->history_size);
    if (room->subject)
        stamp_format(room->subject_at_us, at);
    const char *p[17] = {
        room->name, c->title, c->description, c->password, tf(!c->hidden),
        tf(c->members_only), tf(c->moderated), tf(c->semi_anonymous),
        pm_text(c->allow_pm), tf(c->change_subject), tf(c->allow_invites),
        tf(c->archived), max, hist, room->subject, room->subject_nick,
        room->subject ? at : NULL};
    bool ok = add_stmt(op,
        "INSERT INTO muc_rooms (name, title, description, password, public,"
        " members_only, moderated, semi_anonymous, allow_pm, change_subject,"
        " allow_invites, archived, max_occupants, history_size, subject,"
        " subject_nick, subject_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        " ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title,"
        " description = EXCLUDED.description, password = EXCLUDED.password,"
        " public = EXCLUDED.public, members_only = EXCLUDED.members_only,"
        " moderated = EXCLUDED.moderated,"
        " semi_anonymous = EXCLUDED.semi_anonymous,"
        " allow_pm = EXCLUDED.allow_pm,"
        " change_subject = EXCLUDED.change_subject,"
        " allow_invites = EXCLUDED.allow_invites,"
        " archived = EXCLUDED.archived,"
        " max_occupants = EXCLUDED.max_occupants,"
        " history_size = EXCLUDED.history_size, subject = EXCLUDED.subject,"
        " subject_nick = EXCLUDED.subject_nick,"
        " subject_at = EXCLUDED.subject_at, updated_at = now()",
        17, p) == 0;
    const char *del[1] = {room->name};
    ok = ok && add_stmt(op, "DELETE FROM muc_affiliations WHERE room = $1", 1,
                        del) == 0;
    for (struct muc_affil_record *r = room->affiliations; ok && r;
         r = r->next)
        ok = add_affiliation_stmt(op, room->name, r) == 0;
    room->stored = true;
    submit(room->muc, op, ok);
}

void muc_persist_subject(struct muc_room *room)
{
    struct write_op *op = write_op_new("a room subject");
    if (!op)
        return;
    char at[STAMP_TEXT_MAX];
    stamp_format(room->subject_at_us, at);
    const char *p[4] = {room->name, room->subject, room->subject_nick, at};
    bool ok = add_stmt(op,
                       "UPDATE muc_rooms SET subject = $2, subject_nick = $3,"
                       " subject_at = $4, updated_at = now() WHERE name = $1",
                       4, p) == 0;
    submit(room->muc, op, ok);
}

void muc_persist_affiliation(struct muc_room *room, const char *bare_jid)
{
    struct write_op *op = write_op_new("an affiliation");
    if (!op)
        return;
    struct muc_affil_record *r = muc_affil_find(room, bare_jid);
    bool ok;
    if (r) {
        ok = add_affiliation_stmt(op, room->name, r) == 0;
    } else {
        const char *p[2] = {room->name, bare_jid};
        ok = add_stmt(op,
                      "DELETE FROM muc_affiliations WHERE room = $1 AND jid = $2",
                      2, p) == 0;
    }
    submit(room->muc, op, ok);
}

void muc_persist_delete(struct muc_room *room)
{
    struct write_op *op = write_op_new("a room deletion");
    if (!op)
        return;
    const char *p[1] = {room->name};
    bool ok = add_stmt(op, "DELETE FROM muc_rooms WHERE name = $1", 1, p) == 0;
    room->stored = false;
    submit(room->muc, op, ok);
}

/* ---- the start-up load ---------------------------------------------------------------- */

struct load_op {
    struct store_op base; /* first */
    struct muc *muc;
    PGresult *rooms;       /* owned until done */
    PGresult *affiliations;
};

static enum store_run_result run_load(struct store_op *base, PGconn *conn)
{
    struct load_op *op = (struct load_op *)base;
    op->rooms = PQexec(conn,
        "SELECT name, title, description, password, public, members_only,"
        " moderated, semi_anonymous, allow_pm, change_subject, allow_invites,"
        " archived, max_occupants, history_size, subject, subject_nick,"
        " (extract(epoch FROM subject_at) * 1000000)::bigint"
        " FROM muc_rooms ORDER BY name");
    if (PQresultStatus(op->rooms) != PGRES_TUPLES_OK)
        goto fail;
    op->affiliations = PQexec(conn,
        "SELECT room, jid, affiliation, nick FROM muc_affiliations");
    if (PQresultStatus(op->affiliations) != PGRES_TUPLES_OK)
        goto fail;
    return STORE_RUN_DONE;
fail:
    snprintf(base->error, sizeof base->error, "%s", PQerrorMessage(conn));
    PQclear(op->rooms);
    PQclear(op->affiliations);
    op->rooms = op->affiliations = NULL;
    if (store_connection_lost(conn))
        return STORE_RUN_RETRY;
    base->failed = true;
    return STORE_RUN_DONE;
}

static const char *value(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static bool truth(PGresult *r, int row, int col)
{
    const char *v = value(r, row, col);
    return v && v[0] == 't';
}

static void load_rooms(struct muc *muc, PGresult *rooms, PGresult *affs)
{
    int loaded = 0;
    for (int i = 0; i < PQntuples(rooms); i++) {
        const char *name = value(rooms, i, 0);
        if (!name || muc_room_find(muc, name)) {
            log_warn(LOG, "a stored room is already in use; not loaded");
            continue;
        }
        struct muc_room_config c;
        muc_room_config_defaults(&c);
        c.title = (char *)value(rooms, i, 1);
        c.description = (char *)value(rooms, i, 2);
        c.password = (char *)value(rooms, i, 3);
        c.hidden = !truth(rooms, i, 4);
        c.members_only = truth(rooms, i, 5);
        c.moderated = truth(rooms, i, 6);
        c.semi_anonymous = truth(rooms, i, 7);
        const char *pm = value(rooms, i, 8);
        static const char *const names[] = {"anyone", "participants",
                                            "moderators", "none"};
        for (int k = 0; pm && k < 4; k++)
            if (strcmp(pm, names[k]) == 0)
                c.allow_pm = (uint8_t)k;
        c.change_subject = truth(rooms, i, 9);
        c.allow_invites = truth(rooms, i, 10);
        c.archived = truth(rooms, i, 11);
        c.max_occupants = atoi(PQgetvalue(rooms, i, 12));
        c.history_size = atoi(PQgetvalue(rooms, i, 13));
        c.persistent = true;
        struct muc_room *room = muc_room_new(muc, name, &c); /* copies c */
        if (!room) {
            log_error(LOG, "out of memory loading rooms");
            return;
        }
        room->stored = true;
        const char *subject = value(rooms, i, 14);
        if (subject) {
            room->subject = strdup(subject);
            const char *nick = value(rooms, i, 15);
            room->subject_nick = nick ? strdup(nick) : NULL;
            const char *at = value(rooms, i, 16);
            room->subject_at_us = at ? strtoll(at, NULL, 10) : 0;
        }
        loaded++;
    }
    for (int i = 0; i < PQntuples(affs); i++) {
        struct muc_room *room = muc_room_find(muc, PQgetvalue(affs, i, 0));
        if (!room || !room->stored)
            continue;
        const char *a = PQgetvalue(affs, i, 2);
        enum muc_affiliation affil = strcmp(a, "owner") == 0 ? MUC_AFFIL_OWNER
                                     : strcmp(a, "admin") == 0 ? MUC_AFFIL_ADMIN
                                     : strcmp(a, "member") == 0
                                         ? MUC_AFFIL_MEMBER
                                         : MUC_AFFIL_OUTCAST;
        muc_affil_put(room, PQgetvalue(affs, i, 1), affil, value(affs, i, 3));
    }
    log_info(LOG, "%d persistent room(s) loaded", loaded);
}

static void open_service(struct muc *muc)
{
    loop_timer_cancel(muc->loop, muc->load_timer);
    muc->load_timer = NULL;
    muc->loaded = true;
}

static void done_load(struct store_op *base)
{
    struct load_op *op = (struct load_op *)base;
    struct muc *muc = op->muc;
    if (!muc->shutting_down) {
        if (!base->failed && op->rooms)
            load_rooms(muc, op->rooms, op->affiliations);
        else
            log_error(LOG, "cannot load persistent rooms: %s", base->error);
        open_service(muc);
    }
    PQclear(op->rooms);
    PQclear(op->affiliations);
    free(op);
}

static void on_load_poll(void *ud)
{
    struct muc *muc = ud;
    muc->load_timer = NULL;
    if (muc->shutting_down)
        return;
    if (store_connected(muc->store)) {
        struct load_op *op = calloc(1, sizeof *op);
        if (!op) {
            log_error(LOG, "cannot load persistent rooms: out of memory");
            muc->loaded = true;
            return;
        }
        op->base.run = run_load;
        op->base.done = done_load;
        op->muc = muc;
        store_submit(muc->store, &op->base);
        return;
    }
    if (!muc->loaded &&
        loop_now(muc->loop) - muc->load_started_ms >= LOAD_PATIENCE_MS) {
        log_warn(LOG, "the database is not answering yet: rooms open now; "
                      "stored rooms will appear when it answers");
        muc->loaded = true;
    }
    muc->load_timer = loop_timer_add(muc->loop, LOAD_POLL_MS, on_load_poll,
                                     muc, NULL);
}

int muc_persist_load(struct muc *muc)
{
    if (!muc->store) {
        muc->loaded = true;
        return 0;
    }
    muc->load_started_ms = loop_now(muc->loop);
    on_load_poll(muc);
    return 0;
}
