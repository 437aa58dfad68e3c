/* Ad-hoc commands (XEP-0050), generic: knows nothing of the desk.
 *
 * A module registers each command with one call and a descriptor: its
 * node, its name, where it lives (the service D, or room JIDs of a class
 * that a lookup callback tells), who may see it (a visibility callback,
 * used for disco#items on the commands node and before every step), and
 * one step function.
 *
 * The framework keeps the sessions (ids, expiry, the stage reached, the
 * actions offered), answers the XEP-0050 actions (execute, next, prev,
 * complete, cancel) and their errors (bad-action, malformed-action,
 * bad-sessionid, session-expired), and writes the <command/> element.  A
 * command only says, for each step, what happens at its stage:
 *
 *   stage 0, no form          first execute: write the first form (status
 *                             EXECUTING) or complete at once
 *   stage N, form submitted   check it; EXECUTING with the next stage's
 *                             form (next_stage = N + 1), or COMPLETED
 *   stage N, no form          "prev" came back to stage N: write its form
 *                             again (from what step->data remembers)
 *
 * An execute without a session that already carries a submitted form (a
 * script) runs stage 0 and then the submit, in one round trip.
 *
 * Errors: a step returns -1 with *err set (forbidden, bad-request with a
 * text naming the field...): the iq gets that error and the session ends.
 * Or it completes with an error note (adhoc_note) and no form.
 *
 * All functions run on the XMPP thread. */
#ifndef MUCDESK_XMPP_ADHOC_H
#define MUCDESK_XMPP_ADHOC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/budget.h"
#include "core/buf.h"
#include "core/loop.h"
#include "xmpp/disco.h"
#include "xmpp/router.h"

#define NS_COMMANDS "http://jabber.org/protocol/commands"

struct adhoc;

enum adhoc_status { ADHOC_EXECUTING, ADHOC_COMPLETED, ADHOC_CANCELED };

/* Actions a step offers for the next request (a bit set). */
enum adhoc_action_bit {
    ADHOC_ACT_NEXT = 1,
    ADHOC_ACT_PREV = 2,
    ADHOC_ACT_COMPLETE = 4,
};

struct adhoc_step {
    /* in */
    const struct stanza_in *in;   /* the iq */
    const char *node;
    const char *asker;            /* bare JID of the requester (prepared) */
    const char *target;           /* room local part, or NULL for D */
    unsigned stage;
    xmpp_stanza_t *form;          /* the submitted form, or NULL */
    void *data;                   /* the session's state: set by the command,
                                     freed with the descriptor's free_data */
    /* out */
    enum adhoc_status status;     /* default COMPLETED */
    unsigned next_stage;          /* with EXECUTING */
    unsigned actions;             /* with EXECUTING: default COMPLETE */
    unsigned default_action;      /* one of actions; 0: COMPLETE or NEXT */
    struct buf *payload;          /* notes and the form go here */
    /* the framework's */
    void *adhoc;
    bool deferred_out;
};

/* Where a command lives. */
struct adhoc_command {
    const char *node;
    const char *name;             /* disco item name */
    /* NULL: on the service D.  Otherwise a room class: the command lives on
     * the room JIDs for which the lookup callback answers this class. */
    const char *target_class;
    /* Whether `asker` (bare JID) may see and run it at `target` (NULL: D).
     * NULL: everyone may. */
    bool (*visible)(void *ud, const char *asker, const char *target);
    /* One step (above).  0, or -1 with *err set. */
    int (*step)(void *ud, struct adhoc_step *step, struct xerr *err);
    void (*free_data)(void *data); /* NULL: free() */
    void *ud;
};

/* The class of room `local` ("queue", "session"...), or NULL if it is not a
 * room commands live on. */
typedef const char *(*adhoc_class_fn)(void *ud, const char *local);

/* Limits on sessions, which outside input opens (every customer may
 * execute request-chat).  A session expires after session_ttl_ms without
 * a request (and is remembered one more period, to answer
 * session-expired); a new session beyond a cap ends the oldest session of
 * the same bare JID, of the same domain, or of all, in that order: a
 * sender who opens many sessions only ever loses its own, and a burst from
 * many fresh JIDs of one domain sheds that domain's oldest, not everyone's.
 * 0: no cap. */
struct adhoc_limits {
    uint64_t session_ttl_ms;
    unsigned per_jid;
    unsigned per_domain;
    unsigned max_sessions;
};

/* Registers the iq handlers (on D and room JIDs) and disco on D.  NULL on
 * failure. */
struct adhoc *adhoc_new(struct loop *loop, struct router *router,
                        struct disco *disco, const struct adhoc_limits *lim);
void adhoc_free(struct adhoc *a);
void adhoc_set_class_lookup(struct adhoc *a, adhoc_class_fn fn, void *ud);
/* How long a session lives from now on (SIGHUP: [desk] command_timeout). */
void adhoc_set_session_ttl(struct adhoc *a, uint64_t session_ttl_ms);

/* Copies the descriptor (strings are borrowed: use literals).  0, or -1 if
 * a command with this node already lives at the same target. */
int adhoc_register(struct adhoc *a, const struct adhoc_command *cmd);
/* A table of n commands, in its order.  0, or -1 at the first refused. */
int adhoc_register_all(struct adhoc *a, const struct adhoc_command *cmds,
                       size_t n);

/* For the MUC's room disco (muc_set_room_disco): disco#items on the
 * commands node and disco#info on command nodes of a room JID; the
 * commands feature for rooms that have commands. */
int adhoc_room_node_items(void *ud, const struct stanza_in *in,
                          const char *node, struct buf *out, struct xerr *err);
int adhoc_room_node_info(void *ud, const struct stanza_in *in,
                         const char *node, struct buf *out, struct xerr *err);
bool adhoc_room_has_commands(const struct adhoc *a, const char *local);

/* <note type='info|warn|error'>TEXT</note> into the step's payload. */
void adhoc_note(struct adhoc_step *step, const char *type, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

/* A step that must wait (for the database) calls adhoc_defer() and returns
 * 0 with nothing written.  Later exactly one of these answers the iq and
 * frees the handle:
 *  - adhoc_finish(): completed, with the notes/result form written into
 *    adhoc_reply_payload(); the session ends;
 *  - adhoc_fail(): the error; the session ends;
 *  - adhoc_continue(): executing, with the next stage's form written into
 *    the payload; the session goes on at next_stage with those actions (as
 *    a step's EXECUTING would), or, if it expired meanwhile, the
 *    session-expired error.
 * Until then a request on the same session is refused (unexpected-request).
 * adhoc_free() answers pending ones with an error. */
struct adhoc_reply;
struct adhoc_reply *adhoc_defer(struct adhoc_step *step);
struct buf *adhoc_reply_payload(struct adhoc_reply *r);
void adhoc_finish(struct adhoc_reply *r);
void adhoc_fail(struct adhoc_reply *r, const struct xerr *err);
void adhoc_continue(struct adhoc_reply *r, unsigned next_stage,
                    unsigned actions, unsigned default_action);
/* The session's step->data, or NULL if the session is gone. */
void *adhoc_reply_data(struct adhoc_reply *r);

/* Live sessions (tests). */
unsigned adhoc_session_count(const struct adhoc *a);
/* Sessions looked at by the expiry sweeps and ended to respect a cap,
 * since the start (tests, the flood benchmark): the sweep looks at each
 * expired session once, plus one per new session. */
void adhoc_session_stats(const struct adhoc *a, uint64_t *swept,
                         uint64_t *shed);

#endif
