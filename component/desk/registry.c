/* Lookups (registry.h): queues, chats, members and staff by name or
 * number, the set of staff of any queue, roles (for authz.c) and the
 * authz check with its log line. */
#include "build-config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "desk/authz.h"
#include "desk/chat.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "desk/text.h"

#define LOG "desk"

struct desk_queue *desk_queue_find(struct desk *d, const char *name)
{
    struct desk_queue *q = NULL;
    if (name)
        HASH_FIND_STR(d->queues, name, q);
    return q;
}

struct desk_chat *desk_chat_find(struct desk *d, int64_t id)
{
    struct desk_chat *c = NULL;
    HASH_FIND(hh, d->chats, &id, sizeof id, c);
    return c;
}

struct desk_chat *desk_chat_by_room(struct desk *d, const char *local)
{
    if (!local || strncmp(local, DESK_ROOM_PREFIX, strlen(DESK_ROOM_PREFIX)))
        return NULL;
    long n;
    if (desk_parse_int(local + strlen(DESK_ROOM_PREFIX), 1, INT64_MAX / 2,
                       &n) < 0)
        return NULL;
    return desk_chat_find(d, (int64_t)n);
}

const struct desk_member *desk_member_find(const struct desk_queue *q,
                                           const char *jid)
{
    if (!q || !jid)
        return NULL;
    struct desk_member *m = NULL;
    HASH_FIND_STR(q->member_index, jid, m);
    return m;
}

enum desk_role desk_role_for(struct desk *d, const char *bare,
                             const struct desk_queue *q,
                             const struct desk_chat *chat)
{
    if (config_is_admin(d->cfg, bare))
        return DESK_ROLE_ADMIN;
    const struct desk_member *m = desk_member_find(q, bare);
    if (m)
        return m->role;
    if (chat && desk_chat_is_customer(chat, bare))
        return DESK_ROLE_CUSTOMER;
    return DESK_ROLE_NONE;
}

bool desk_is_staff_anywhere(struct desk *d, const char *bare)
{
    struct desk_staff_name *n = NULL;
    HASH_FIND_STR(d->staff_set, bare, n);
    return n != NULL;
}

void desk_staff_set_free(struct desk *d)
{
    struct desk_staff_name *n, *tmp;
    HASH_ITER(hh, d->staff_set, n, tmp) {
        HASH_DEL(d->staff_set, n);
        free(n);
    }
}

void desk_staff_set_rebuild(struct desk *d)
{
    desk_staff_set_free(d);
    for (struct desk_queue *q = d->queues; q; q = q->hh.next)
        for (size_t i = 0; i < q->member_count; i++) {
            const char *jid = q->members[i].jid;
            struct desk_staff_name *n = NULL;
            HASH_FIND_STR(d->staff_set, jid, n);
            if (n)
                continue;
            size_t len = strlen(jid);
            if (!(n = malloc(sizeof *n + len + 1))) {
                log_error(LOG, "out of memory: staff index incomplete");
                continue;
            }
            memcpy(n->jid, jid, len + 1);
            HASH_ADD_KEYPTR(hh, d->staff_set, n->jid, len, n);
        }
}

int desk_authorize(struct desk *d, const char *bare, enum desk_action act,
                   const struct desk_queue *q, const struct desk_chat *chat,
                   struct xerr *err)
{
    enum desk_role role = desk_role_for(d, bare, q, chat);
    if (desk_authz_allows(role, act))
        return 0;
    log_info(LOG, "refused: %s (%s) may not %s%s%s", bare,
             desk_role_name(role), desk_action_name(act), q ? " in " : "",
             q ? q->name : "");
    desk_authz_refuse(err);
    return -1;
}

struct desk_staff *desk_staff_get(struct desk *d, const char *jid)
{
    struct desk_staff *s = NULL;
    HASH_FIND_STR(d->staff, jid, s);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s || !(s->jid = strdup(jid))) {
        free(s);
        return NULL;
    }
    s->idle_since_ms = loop_now(d->loop);
    HASH_ADD_KEYPTR(hh, d->staff, s->jid, strlen(s->jid), s);
    return s;
}
