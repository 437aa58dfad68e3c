/* Queues and agents: PostgreSQL is the truth.  The directory is read on
 * the DB thread (directory.c's SQL) and applied here, on the XMPP thread,
 * to the live state: queue rooms opened or closed, memberships replaced,
 * staff who lost their place removed from the queue room, routing run
 * again.  Changes made anywhere (mucdeskctl, ad-hoc commands, psql) move
 * desk_directory.version (triggers, sql/004_desk.sql); a cheap poll every
 * [desk] reload_interval notices it.  SIGHUP reloads at once. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/tz.h"
#include "desk/authz.h"
#include "desk/canned.h"
#include "desk/chat.h"
#include "desk/dbops.h"
#include "desk/directory.h"
#include "desk/hours.h"
#include "desk/limits.h"
#include "desk/plugins.h"
#include "desk/prechat.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/routing.h"
#include "desk/state.h"
#include "muc/muc.h"
#include "store/db.h"

#define LOG "desk"
#define DB_DEADLINE_MS 15000

enum dir_op_kind { DIR_LOAD, DIR_POLL, DIR_WRITE };

struct dir_op {
    struct store_op op;           /* first */
    struct desk *desk;
    enum dir_op_kind kind;
    char what[24];
    struct desk_directory dir;
    int64_t version;
    struct desk_queue_row q;
    struct desk_agent_row a;
    int rc;
    desk_db_done_fn fn;
    void *ud;
};

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void row_free(struct dir_op *o)
{
    free(o->q.name);
    free(o->q.title);
    free(o->q.strategy);
    free(o->q.greeting);
    free(o->q.offline_message);
    free(o->q.prechat_fields);
    free(o->q.hours);
    free(o->q.timezone);
    free(o->q.closed_message);
    free(o->a.queue);
    free(o->a.jid);
    free(o->a.role);
    free(o->a.skills);
}

static enum store_run_result run(struct store_op *op, PGconn *conn)
{
    struct dir_op *o = (struct dir_op *)op;
    switch (o->kind) {
    case DIR_LOAD:
        o->rc = desk_db_load(conn, &o->dir, op->error, sizeof op->error);
        break;
    case DIR_POLL:
        o->rc = desk_db_version(conn, &o->version, op->error,
                                sizeof op->error);
        break;
    case DIR_WRITE:
        if (strcmp(o->what, "queue-create") == 0)
            o->rc = desk_db_queue_save(conn, &o->q, true, op->error,
                                       sizeof op->error);
        else if (strcmp(o->what, "queue-configure") == 0)
            o->rc = desk_db_queue_save(conn, &o->q, false, op->error,
                                       sizeof op->error);
        else if (strcmp(o->what, "queue-delete") == 0)
            o->rc = desk_db_queue_delete(conn, o->q.name, op->error,
                                         sizeof op->error);
        else if (strcmp(o->what, "agent-add") == 0)
            o->rc = desk_db_agent_save(conn, &o->a, op->error,
                                       sizeof op->error);
        else if (strcmp(o->what, "takes-chats") == 0)
            o->rc = desk_db_agent_takes_chats(conn, o->a.jid, o->a.takes_chats,
                                              op->error, sizeof op->error);
        else
            o->rc = desk_db_agent_remove(conn, o->a.queue, o->a.jid,
                                         op->error, sizeof op->error);
        break;
    }
    if (o->rc == DESK_DB_FAILED && store_connection_lost(conn))
        return STORE_RUN_RETRY;
    if (o->rc == DESK_DB_FAILED)
        op->failed = true;
    return STORE_RUN_DONE;
}

static void done(struct store_op *op)
{
    struct dir_op *o = (struct dir_op *)op;
    struct desk *d = o->desk;
    if (op->failed && o->rc == DESK_DB_OK)
        o->rc = DESK_DB_FAILED; /* the deadline passed */
    switch (o->kind) {
    case DIR_LOAD:
        d->dir_loading = false;
        if (o->rc == DESK_DB_OK) {
            log_info(LOG, "directory version %lld: %zu queue(s), %zu "
                          "membership(s)",
                     (long long)o->dir.version, o->dir.queue_count,
                     o->dir.agent_count);
            desk_dir_apply(d, &o->dir);
            d->dir_version = o->dir.version;
            d->dir_loaded = true;
            if (d->directory_loaded)
                d->directory_loaded(d);
        } else if (!d->stopping) {
            log_warn(LOG, "cannot read queues and agents: %s", op->error);
        }
        desk_directory_free(&o->dir);
        if (d->dir_again && !d->stopping) {
            d->dir_again = false;
            desk_dir_load(d);
        }
        break;
    case DIR_POLL:
        if (o->rc == DESK_DB_OK && o->version != d->dir_version &&
            !d->stopping) {
            log_info(LOG, "queues or agents changed (version %lld)",
                     (long long)o->version);
            desk_dir_load(d);
        }
        break;
    case DIR_WRITE:
        if (o->rc == DESK_DB_OK && !d->stopping)
            desk_dir_load(d);
        if (o->fn)
            o->fn(o->ud, o->rc, op->error);
        break;
    }
    row_free(o);
    free(o);
}

static struct dir_op *op_new(struct desk *d, enum dir_op_kind kind)
{
    struct dir_op *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->op.run = run;
    o->op.done = done;
    o->op.deadline_ms = loop_now(d->loop) + DB_DEADLINE_MS;
    o->desk = d;
    o->kind = kind;
    return o;
}

void desk_dir_load(struct desk *d)
{
    if (d->dir_loading) {
        d->dir_again = true;
        return;
    }
    struct dir_op *o = op_new(d, DIR_LOAD);
    if (!o)
        return;
    /* Start-up waits for the database as long as it takes. */
    if (!d->dir_loaded)
        o->op.deadline_ms = 0;
    d->dir_loading = true;
    store_submit(d->store, &o->op);
}

void desk_reload_soon(struct desk *d)
{
    desk_dir_load(d);
}

void desk_dir_poll(struct desk *d)
{
    if (d->dir_loading || !d->dir_loaded || !store_connected(d->store))
        return;
    struct dir_op *o = op_new(d, DIR_POLL);
    if (o)
        store_submit(d->store, &o->op);
}

int desk_dir_write(struct desk *d, const char *kind,
                   const struct desk_queue_row *q,
                   const struct desk_agent_row *a, desk_db_done_fn fn,
                   void *ud)
{
    struct dir_op *o = op_new(d, DIR_WRITE);
    if (!o)
        return -1;
    snprintf(o->what, sizeof o->what, "%s", kind);
    if (q) {
        o->q.name = dup_opt(q->name);
        o->q.title = dup_opt(q->title);
        o->q.strategy = dup_opt(q->strategy);
        o->q.greeting = dup_opt(q->greeting);
        o->q.offline_message = dup_opt(q->offline_message);
        o->q.prechat_fields = dup_opt(q->prechat_fields);
        o->q.hours = dup_opt(q->hours);
        o->q.timezone = dup_opt(q->timezone);
        o->q.closed_message = dup_opt(q->closed_message);
        o->q.transcript_email = q->transcript_email;
        o->q.offer_timeout = q->offer_timeout;
        o->q.max_wait = q->max_wait;
        o->q.answer_reminder = q->answer_reminder;
    }
    if (a) {
        o->a.queue = dup_opt(a->queue);
        o->a.jid = dup_opt(a->jid);
        o->a.role = dup_opt(a->role);
        o->a.skills = dup_opt(a->skills);
        o->a.max_chats = a->max_chats;
        o->a.takes_chats = a->takes_chats;
    }
    o->fn = fn;
    o->ud = ud;
    store_submit(d->store, &o->op);
    return 0;
}

/* ---- applying a directory ---------------------------------------------------- */

static void members_free(struct desk_queue *q)
{
    HASH_CLEAR(hh, q->member_index);
    for (size_t i = 0; i < q->member_count; i++) {
        free(q->members[i].jid);
        for (size_t k = 0; k < q->members[i].skill_count; k++)
            free(q->members[i].skills[k]);
        free(q->members[i].skills);
    }
    free(q->members);
    q->members = NULL;
    q->member_count = 0;
}

static void set_str(char **field, const char *value)
{
    if (*field && value && strcmp(*field, value) == 0)
        return;
    free(*field);
    *field = value ? strdup(value) : NULL;
}

static void split_skills(struct desk_member *m, const char *list)
{
    m->skills = NULL;
    m->skill_count = 0;
    if (!list || !*list)
        return;
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    m->skills = calloc(n, sizeof *m->skills);
    if (!m->skills)
        return;
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return;
    for (char *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save))
        if (*tok && (m->skills[m->skill_count] = strdup(tok)))
            m->skill_count++;
    free(copy);
}

void desk_queue_free_fields(struct desk_queue *q)
{
    members_free(q);
    free(q->name);
    free(q->title);
    free(q->strategy);
    free(q->greeting);
    free(q->offline_message);
    free(q->closed_message);
    free(q->prechat_text);
    free(q->hours_text);
    free(q->timezone);
    free(q->prechat);
    free(q->hours);
    tz_free(q->tz);
    q->name = q->title = q->strategy = q->greeting = NULL;
    q->offline_message = q->closed_message = NULL;
    q->prechat_text = q->hours_text = q->timezone = NULL;
    q->prechat = NULL;
    q->hours = NULL;
    q->tz = NULL;
}

static void queue_drop(struct desk *d, struct desk_queue *q)
{
    log_info(LOG, "queue %s removed", q->name);
    HASH_DEL(d->queues, q);
    /* Waiting chats stay open; they wait for a requeue to another queue
     * (or their agents' /close). */
    while (q->wait_head) {
        struct desk_chat *c = q->wait_head;
        desk_offer_withdraw(c, false);
        desk_limits_chat_unqueued(c);
        desk_wait_remove(c);
    }
    if (q->room) {
        struct muc_room *room = q->room;
        q->room = NULL;
        muc_room_destroy(room, "This queue was removed", NULL);
    }
    desk_routing_queue_free(q);
    desk_queue_free_fields(q);
    free(q);
}

/* The settings with a syntax of their own; problems (possible only if the
 * table was changed by hand) are logged and the setting ignored. */
static void apply_settings(struct desk_queue *q, struct desk_queue_row *row)
{
    char err[300];
    struct desk_prechat *p = calloc(1, sizeof *p);
    if (p && desk_prechat_parse(row->prechat_fields, p, err, sizeof err) < 0) {
        log_warn(LOG, "queue %s: %s (ignored)", q->name, err);
        memset(p, 0, sizeof *p);
    }
    struct desk_hours *h = calloc(1, sizeof *h);
    if (h && desk_hours_parse(row->hours, h, err, sizeof err) < 0) {
        log_warn(LOG, "queue %s: %s (always open)", q->name, err);
        memset(h, 0, sizeof *h);
        h->always = true;
    }
    if (row->tz_problem)
        log_warn(LOG, "queue %s: %s (UTC used)", q->name, row->tz_problem);
    if (p && h && row->tz) {
        free(q->prechat);
        free(q->hours);
        tz_free(q->tz);
        q->prechat = p;
        q->hours = h;
        q->tz = row->tz;
        row->tz = NULL;
    } else {
        free(p);
        free(h);
    }
    set_str(&q->closed_message, row->closed_message);
    set_str(&q->prechat_text, row->prechat_fields);
    set_str(&q->hours_text, row->hours);
    set_str(&q->timezone, row->timezone);
    q->transcript_email = row->transcript_email > 0;
}

static void canned_apply(struct desk *d, const struct desk_directory *dir)
{
    desk_canned_free(d);
    d->canned = calloc(dir->canned_count + 1, sizeof *d->canned);
    if (!d->canned)
        return;
    for (size_t i = 0; i < dir->canned_count; i++) {
        struct desk_canned *c = &d->canned[d->canned_count];
        const struct desk_canned_row *r = &dir->canned[i];
        c->queue = strdup(r->queue ? r->queue : "");
        c->name = strdup(r->name);
        c->body = strdup(r->body);
        if (!c->queue || !c->name || !c->body) {
            free(c->queue);
            free(c->name);
            free(c->body);
            continue;
        }
        d->canned_count++;
    }
}

void desk_canned_free(struct desk *d)
{
    for (size_t i = 0; i < d->canned_count; i++) {
        free(d->canned[i].queue);
        free(d->canned[i].name);
        free(d->canned[i].body);
    }
    free(d->canned);
    d->canned = NULL;
    d->canned_count = 0;
}

/* Staff no longer members leave the queue room. */
static void evict_strangers(struct desk *d, struct desk_queue *q)
{
    if (!q->room)
        return;
    for (;;) {
        struct muc_occupant *gone = NULL;
        for (struct muc_occupant *o = muc_room_first_occupant(q->room); o;
             o = muc_occupant_next(o)) {
            char bare[3100];
            muc_occupant_bare_jid(o, bare, sizeof bare);
            if (!desk_authz_allows(desk_role_for(d, bare, q, NULL),
                                   DESK_ACT_ENTER_QUEUE)) {
                gone = o;
                break;
            }
        }
        if (!gone)
            return;
        muc_occupant_kick(gone, "You are no longer staff of this queue");
    }
}

void desk_dir_apply(struct desk *d, struct desk_directory *dir)
{
    /* The members are replaced: routing waits for desk_route_all() below
     * to rebuild its state from them. */
    d->routing_stale = true;
    canned_apply(d, dir);
    for (struct desk_queue *q = d->queues; q; q = q->hh.next)
        q->seen = false;
    for (size_t i = 0; i < dir->queue_count; i++) {
        struct desk_queue_row *row = &dir->queues[i];
        struct desk_queue *q = desk_queue_find(d, row->name);
        if (!q) {
            q = calloc(1, sizeof *q);
            if (!q || !(q->name = strdup(row->name))) {
                free(q);
                continue;
            }
            q->desk = d;
            HASH_ADD_KEYPTR(hh, d->queues, q->name, strlen(q->name), q);
            log_info(LOG, "queue %s (%s)", row->name, row->strategy);
        }
        q->seen = true;
        set_str(&q->title, row->title);
        if (!q->strategy || strcmp(q->strategy, row->strategy) != 0) {
            set_str(&q->strategy, row->strategy);
            q->plugin = desk_plugin_load(d, row->strategy);
        }
        set_str(&q->greeting, row->greeting);
        set_str(&q->offline_message, row->offline_message);
        apply_settings(q, row);
        q->offer_timeout_s = row->offer_timeout;
        q->max_wait_s = row->max_wait;
        q->answer_reminder_s = row->answer_reminder;
        members_free(q);
        size_t n = 0;
        for (size_t k = 0; k < dir->agent_count; k++)
            n += strcmp(dir->agents[k].queue, row->name) == 0;
        q->members = calloc(n + 1, sizeof *q->members);
        for (size_t k = 0; q->members && k < dir->agent_count; k++) {
            const struct desk_agent_row *a = &dir->agents[k];
            if (strcmp(a->queue, row->name) != 0)
                continue;
            struct desk_member *m = &q->members[q->member_count];
            if (!(m->jid = strdup(a->jid)))
                continue;
            struct desk_member *dup = NULL;
            HASH_FIND_STR(q->member_index, m->jid, dup);
            if (dup) { /* (queue, jid) is the key: cannot happen */
                free(m->jid);
                m->jid = NULL;
                continue;
            }
            HASH_ADD_KEYPTR(hh, q->member_index, m->jid, strlen(m->jid), m);
            m->staff = desk_staff_get(d, m->jid);
            m->role = strcmp(a->role, "supervisor") == 0 ? DESK_ROLE_SUPERVISOR
                                                        : DESK_ROLE_AGENT;
            m->max_chats = a->max_chats;
            m->takes_chats = desk_agent_takes_chats(a->role, a->takes_chats);
            split_skills(m, a->skills);
            q->member_count++;
        }
        if (!q->room)
            desk_queue_open_room(q);
        evict_strangers(d, q);
    }
    struct desk_queue *q, *tmp;
    HASH_ITER(hh, d->queues, q, tmp) {
        if (!q->seen)
            queue_drop(d, q);
    }
    desk_staff_set_rebuild(d);
    /* Staff rights in session rooms follow the new membership (an agent
     * removed from a queue stops seeing its chats' observers and notes). */
    struct desk_chat *c, *ctmp;
    HASH_ITER(hh, d->chats, c, ctmp)
        desk_chat_review_staff(c);
    desk_route_all(d); /* which updates the subjects */
}
