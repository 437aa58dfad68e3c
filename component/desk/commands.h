/* The text commands (commands.c, one table; also run by the ad-hoc
 * commands) and the deferred answers of commands that wait. */
#ifndef MUCDESK_DESK_COMMANDS_H
#define MUCDESK_DESK_COMMANDS_H

#include <stdbool.h>

#include "desk/authz.h"
#include "xmpp/stanza.h"

struct adhoc_step;
struct buf;
struct desk;
struct desk_chat;
struct desk_queue;
struct muc_occupant;

enum desk_place { DESK_IN_QUEUE, DESK_IN_SESSION };

struct desk_call {
    struct desk *desk;
    const char *actor;            /* bare JID */
    struct muc_occupant *occ;     /* the caller's occupant, or NULL (ad-hoc) */
    enum desk_place place;
    struct desk_queue *queue;     /* the queue concerned */
    struct desk_chat *chat;       /* in a session room, or from `ticket` */
    struct buf *reply;            /* what to tell the caller */
    char room_jid[256];           /* set by commands that point to a room */
    struct adhoc_step *step;      /* run by an ad-hoc command, or NULL */
    bool deferred;                /* desk_call_defer() was called */
};

/* A command that must wait (for the database) takes a handle with
 * desk_call_defer() and returns 0 with nothing in call->reply; later it
 * answers exactly once through desk_later_reply() or desk_later_fail(),
 * which free the handle.  Text commands are answered with a notice in the
 * room (if the caller is still there), ad-hoc ones with a note.  NULL if
 * out of memory (the command then fails). */
struct desk_later;
struct desk_later *desk_call_defer(struct desk_call *call);
void desk_later_reply(struct desk_later *l, const char *text);
void desk_later_fail(struct desk_later *l, const struct xerr *err);
/* The command fails at once after all (returning -1 with its error):
 * forgets the handle without answering.  NULL is a no-op. */
void desk_later_cancel(struct desk_later *l);

/* Runs one command line ("/close resolved").  0, or -1 with *err (a
 * refusal, or bad input with a text naming what is wrong). */
int desk_command_run(struct desk_call *call, const char *line,
                     struct xerr *err);
/* For /help: the commands `role` may use in `place`. */
void desk_command_help(struct desk *d, enum desk_role role,
                       enum desk_place place, struct buf *out);

#endif
