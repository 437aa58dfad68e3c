/* Who may enter a chat as its customer (bare JIDs), the desk's index of
 * the chats by customer (d->by_customer: a request finds the customer's
 * open chat without a walk over all chats), and the small lists of names
 * chats keep (customers, declines, occupants, observers); the customer
 * among a chat room's occupants. */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "desk/chat.h"
#include "desk/state.h"
#include "muc/muc.h"

#define BARE_MAX (JID_TEXT_MAX + 1)

void desk_names_free(struct desk_name *n)
{
    while (n) {
        struct desk_name *next = n->next;
        free(n->jid);
        free(n);
        n = next;
    }
}

int desk_names_add(struct desk_name **list, const char *jid)
{
    for (struct desk_name *n = *list; n; n = n->next)
        if (strcmp(n->jid, jid) == 0)
            return 0;
    struct desk_name *n = calloc(1, sizeof *n);
    if (!n || !(n->jid = strdup(jid))) {
        free(n);
        return -1;
    }
    n->next = *list;
    *list = n;
    return 1;
}

bool desk_names_take(struct desk_name **list, const char *jid)
{
    for (struct desk_name **p = list; *p; p = &(*p)->next) {
        if (strcmp((*p)->jid, jid) == 0) {
            struct desk_name *n = *p;
            *p = n->next;
            free(n->jid);
            free(n);
            return true;
        }
    }
    return false;
}

static int customer_index_add(struct desk *d, const char *bare,
                              struct desk_chat *c)
{
    struct desk_customer *e = NULL;
    HASH_FIND_STR(d->by_customer, bare, e);
    if (!e) {
        size_t n = strlen(bare);
        if (!(e = calloc(1, sizeof *e + n + 1)))
            return -1;
        memcpy(e->jid, bare, n + 1);
        HASH_ADD_KEYPTR(hh, d->by_customer, e->jid, n, e);
    }
    if (e->n == e->cap) {
        unsigned cap = e->cap ? 2 * e->cap : 2;
        struct desk_chat **grown = realloc(e->chats, cap * sizeof *grown);
        if (!grown)
            return -1;
        e->chats = grown;
        e->cap = cap;
    }
    e->chats[e->n++] = c;
    return 0;
}

static void customer_index_del(struct desk *d, const char *bare,
                               const struct desk_chat *c)
{
    struct desk_customer *e = NULL;
    HASH_FIND_STR(d->by_customer, bare, e);
    if (!e)
        return;
    for (unsigned i = 0; i < e->n; i++)
        if (e->chats[i] == c) {
            e->chats[i] = e->chats[--e->n];
            break;
        }
    if (e->n == 0) {
        HASH_DEL(d->by_customer, e);
        free(e->chats);
        free(e);
    }
}

/* Adds bare to the chat's customers and to the index.  0 or -1. */
int desk_chat_customer_add(struct desk_chat *c, const char *bare)
{
    int rc = desk_names_add(&c->customers, bare);
    if (rc <= 0)
        return rc;
    if (customer_index_add(c->desk, bare, c) < 0) {
        desk_names_take(&c->customers, bare);
        return -1;
    }
    return 0;
}

bool desk_chat_is_customer(const struct desk_chat *c, const char *bare)
{
    for (const struct desk_name *n = c->customers; n; n = n->next)
        if (strcmp(n->jid, bare) == 0)
            return true;
    return false;
}

int desk_chat_add_customer(struct desk_chat *c, const char *bare)
{
    if (desk_chat_customer_add(c, bare) < 0)
        return -1;
    if (c->room)
        muc_room_set_affiliation(c->room, bare, MUC_AFFIL_MEMBER, NULL);
    return 0;
}

struct desk_chat *desk_chat_open_of(struct desk *d, const char *queue,
                                      const char *bare)
{
    struct desk_customer *e = NULL;
    HASH_FIND_STR(d->by_customer, bare, e);
    for (unsigned i = 0; e && i < e->n; i++) {
        struct desk_chat *c = e->chats[i];
        if (c->state != DESK_CHAT_ENDED && strcmp(c->queue, queue) == 0)
            return c;
    }
    return NULL;
}

void desk_chat_customers_forget(struct desk_chat *c)
{
    for (struct desk_name *n = c->customers; n; n = n->next)
        customer_index_del(c->desk, n->jid, c);
}

/* The chat's customer among the occupants: not staff, and one of its
 * customers' JIDs (staff who lost their rights stay in the room as
 * neither). */
bool desk_chat_customer_is(const struct desk_chat *c,
                           const struct muc_occupant *o)
{
    char bare[BARE_MAX];
    return !muc_occupant_privileged(o) &&
           desk_chat_is_customer(c, muc_occupant_bare_jid(o, bare, sizeof bare));
}

struct muc_occupant *desk_chat_customer_occupant(const struct desk_chat *c)
{
    if (!c->room)
        return NULL;
    for (struct muc_occupant *o = muc_room_first_occupant(c->room); o;
         o = muc_occupant_next(o))
        if (desk_chat_customer_is(c, o))
            return o;
    return NULL;
}
