/* Lookups (registry.c): queues, chats, members and staff by name, roles
 * and the authz check on them. */
#ifndef MUCDESK_DESK_REGISTRY_H
#define MUCDESK_DESK_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "desk/authz.h"
#include "xmpp/stanza.h"

struct desk;
struct desk_chat;
struct desk_member;
struct desk_queue;
struct desk_staff;

struct desk_queue *desk_queue_find(struct desk *d, const char *name);
struct desk_chat *desk_chat_find(struct desk *d, int64_t id);
/* The chat of a session room's local part ("ticket-N"), or NULL. */
struct desk_chat *desk_chat_by_room(struct desk *d, const char *local);
const struct desk_member *desk_member_find(const struct desk_queue *q,
                                           const char *jid);
/* The asker's role for a queue (and, for customers, a chat). */
enum desk_role desk_role_for(struct desk *d, const char *bare,
                             const struct desk_queue *q,
                             const struct desk_chat *chat);
/* Whether bare JID is staff (agent or supervisor) of any queue. */
bool desk_is_staff_anywhere(struct desk *d, const char *bare);
/* Rebuilds that answer from the queues' members (after a directory load). */
void desk_staff_set_rebuild(struct desk *d);
void desk_staff_set_free(struct desk *d);
/* authz: 0, or -1 with *err set to forbidden. */
int desk_authorize(struct desk *d, const char *bare, enum desk_action act,
                   const struct desk_queue *q, const struct desk_chat *chat,
                   struct xerr *err);
struct desk_staff *desk_staff_get(struct desk *d, const char *jid);

#endif
