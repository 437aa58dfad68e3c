/* Canned responses and the knowledge base (canned_kb.c): /canned, /kb. */
#ifndef MUCDESK_DESK_CANNED_H
#define MUCDESK_DESK_CANNED_H

#include <stddef.h>

#include "xmpp/stanza.h"

struct desk;
struct desk_call;

/* A canned response (the directory's canned_responses). */
struct desk_canned {
    char *queue;                  /* "" for every queue */
    char *name;
    char *body;
};

int desk_cmd_canned(struct desk_call *call, const char *args,
                    struct xerr *err);
int desk_cmd_kb(struct desk_call *call, const char *args, struct xerr *err);
/* The canned response `name` for a queue: the queue's own, else the
 * global one; NULL if none. */
const struct desk_canned *desk_canned_find(const struct desk *d,
                                           const char *queue,
                                           const char *name);
/* Frees the canned responses (dbops.c loads them). */
void desk_canned_free(struct desk *d);

#endif
