/* desk/files.h: the desk's side of file uploads. */
#include "build-config.h"

#include "desk/files.h"

#include <stdio.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "desk/chat.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "muc/muc.h"
#include "store/archive.h"
#include "xmpp/stamp.h"

#define LOG "desk"

/* The requester's visible occupant in c's open room, or NULL. */
static struct muc_occupant *occupant_in(const struct desk_chat *c,
                                        const char *full_jid)
{
    if (!c->room || c->state == DESK_CHAT_ENDED)
        return NULL;
    struct muc_occupant *o = muc_room_find_user(c->room, full_jid);
    if (!o || muc_occupant_invisible(o))
        return NULL;
    const char *real = muc_occupant_real_jid(o);
    /* find_user matches any session of a bare JID: the full one only. */
    return real && strcmp(real, full_jid) == 0 ? o : NULL;
}

static bool better(const struct desk_chat *c, const struct desk_chat *best,
                   const char *hint)
{
    if (!best)
        return true;
    if (hint && strcmp(c->room_name, hint) == 0)
        return true;
    if (hint && strcmp(best->room_name, hint) == 0)
        return false;
    return c->id > best->id;
}

int desk_files_find_chat(struct desk *d, const char *full_jid,
                         const char *hint, struct desk_file_chat *out)
{
    struct jid j;
    char bare[JID_TEXT_MAX + 1];
    if (jid_parse(full_jid, &j) < 0 || !jid_has_resource(&j) ||
        jid_bare_text(&j, bare, sizeof bare) < 0)
        return -1;
    struct desk_chat *best = NULL;
    struct muc_occupant *best_occ = NULL;
    if (desk_is_staff_anywhere(d, bare)) {
        /* Staff: any open chat's room they are in (rare requests). */
        for (struct desk_chat *c = d->chats; c; c = c->hh.next) {
            struct muc_occupant *o = occupant_in(c, full_jid);
            if (o && better(c, best, hint)) {
                best = c;
                best_occ = o;
            }
        }
    } else {
        struct desk_customer *e = NULL;
        HASH_FIND_STR(d->by_customer, bare, e);
        for (unsigned i = 0; e && i < e->n; i++) {
            struct muc_occupant *o = occupant_in(e->chats[i], full_jid);
            if (o && better(e->chats[i], best, hint)) {
                best = e->chats[i];
                best_occ = o;
            }
        }
    }
    if (!best)
        return -1;
    out->ticket = best->id;
    snprintf(out->room, sizeof out->room, "%s", best->room_name);
    snprintf(out->queue, sizeof out->queue, "%s", best->queue);
    snprintf(out->nick, sizeof out->nick, "%s", muc_occupant_nick(best_occ));
    out->staff = !desk_chat_is_customer(best, bare);
    return 0;
}

int desk_files_event(struct desk *d, int64_t ticket,
                     const struct desk_file_event *fe)
{
    struct desk_chat *c = desk_chat_find(d, ticket);
    if (!c)
        return -1;
    struct archive_event ev = {
        .stanza_id = fe->stanza_id,
        .room = c->room_name,
        .ticket_id = c->id,
        .at_us = stamp_now_us(),
        .kind = fe->system ? ARCHIVE_SYSTEM : ARCHIVE_FILE,
        .actor_jid = fe->actor_jid,
        .actor_nick = fe->actor_nick,
        .body = fe->body,
        .payload = fe->payload,
    };
    if (archive_append(d->archive, &ev) == 0) {
        log_error(LOG, "ticket %lld: the archive refused a file event",
                  (long long)c->id);
        return -1;
    }
    return 0;
}

int desk_files_queue_status(struct desk *d, const char *queue, bool *open,
                            unsigned *available)
{
    struct desk_queue *q = desk_queue_find(d, queue);
    if (!q)
        return -1;
    *open = desk_queue_open_now(q);
    *available = desk_queue_available_count(q);
    return 0;
}

void desk_files_set_purge_hook(struct desk *d, void (*fn)(void *ud), void *ud)
{
    d->files_purged = fn;
    d->files_purged_ud = ud;
}

void desk_files_set_store(struct desk *d, const struct desk_file_store *store)
{
    d->file_store = *store;
    d->has_file_store = true;
}

void desk_files_purged(struct desk *d)
{
    if (d->files_purged)
        d->files_purged(d->files_purged_ud);
}
