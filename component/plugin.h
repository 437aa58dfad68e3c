/* The plugin ABI: what a shared object in [service] plugin_dir exports so
 * that mucdesk can load it by name.
 *
 * A plugin is one .so exporting one symbol, `mucdesk_plugin`, a const
 * struct mucdesk_plugin whose first member is MUCDESK_PLUGIN_ABI.  It
 * compiles against this header alone (plain C types, no mucdesk
 * structures), so the core may change freely behind it.  Hooks a plugin
 * does not implement are NULL.  Everything runs on the XMPP thread and
 * must not block.
 *
 * Two kinds, one descriptor: routing strategies, loaded by name when a
 * queue's `strategy` names them, and feature plugins, loaded at start from
 * [desk] plugins (the ratings plugin gives /rate).  Hooks:
 *  - pick_agent (strategies): given the chat and the agents who may take
 *    it now, the index of the one to offer it to, or -1 for nobody (the
 *    chat is announced and waits for an agent's /accept).  The desk asks
 *    again only for chats whose request may have changed (a candidate
 *    came or changed, an exclusion ended), never for all that wait on
 *    every change, so the answer must be a function of the request:
 *     (1) of the required skills and the candidates (order and fields)
 *         only: not of the ticket number, the time or state of the
 *         plugin's own (so equal requests get equal answers);
 *     (2) of a required skill only through which candidates have it (two
 *         skills no candidate has are alike);
 *     (3) nobody among some candidates means nobody among any fewer of
 *         them.
 *    The built-in strategies are all like that (desk/routing.c says why
 *    the desk needs it).
 *  - event: ticket life events (created, offered, accepted, requeued,
 *    closed, rated; since ABI 3 declined), a strategy hears those of its
 *    queues, a feature plugin all; and (ABI 3) an agent's availability
 *    (agent-state), feature plugins only.  They are the desk's own event
 *    bus (component/desk/events.h) seen through this header, delivered
 *    after the desk's bookkeeping and before it routes again.
 *  - commands + command: the text commands the plugin adds (/rate...).
 *    The desk lists them in /help, offers each as an ad-hoc command (with
 *    a `ticket` field for session commands, and `args`), checks that the
 *    caller is staff of the queue concerned (authz: DESK_ACT_SESSION), and
 *    only then calls `command`.
 *  - message: every groupchat message in a session room that is not a
 *    staff command, before it is archived and shown; may consume it.
 *  - attach: the desk's services (struct mucdesk_host), once after init.
 *
 * Versions: a plugin of another ABI is refused.  Members are only ever
 * added at the end, and the version is raised with every addition: an
 * older descriptor is shorter, and reading a member past its end would
 * read beyond the plugin's data.  ABI 2 added commands, attach and
 * message, and defined struct mucdesk_command_call.  ABI 3 added the
 * event kinds DECLINED and AGENT_STATE and struct mucdesk_event's
 * `rating`; the descriptor is ABI 2's, so a plugin of ABI 2 still loads
 * and hears only the kinds ABI 2 had. */
#ifndef MUCDESK_PLUGIN_H
#define MUCDESK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define MUCDESK_PLUGIN_ABI 3
/* The oldest ABI still loaded (its descriptor is a prefix of this one). */
#define MUCDESK_PLUGIN_ABI_OLDEST 2
#define MUCDESK_PLUGIN_SYMBOL "mucdesk_plugin"

/* One agent who could take the chat now: present in the queue room and
 * available (no <show/> or chat), below their maximum, not holding another
 * offer, and not having declined this chat recently.  In the queue's
 * membership order. */
struct mucdesk_candidate {
    const char *jid;            /* bare JID */
    int active_chats;           /* chats they own now, in every queue */
    int max_chats;
    uint64_t idle_since_ms;     /* monotonic ms of their last chat's end
                                   (or of their arrival): smaller = idle
                                   longer */
    uint64_t last_offer_ms;     /* monotonic ms of their last offer, 0 if
                                   none since they arrived */
    const char *const *skills;  /* lower-case */
    size_t skill_count;
};

struct mucdesk_route_request {
    const char *queue;
    int64_t ticket;
    const char *const *required_skills; /* lower-case; may be empty */
    size_t required_count;
    const struct mucdesk_candidate *candidates;
    size_t candidate_count;
};

enum mucdesk_event_kind {
    MUCDESK_EVENT_CREATED,
    MUCDESK_EVENT_OFFERED,
    MUCDESK_EVENT_ACCEPTED,
    MUCDESK_EVENT_REQUEUED,
    MUCDESK_EVENT_CLOSED,
    MUCDESK_EVENT_RATED,        /* by any path: command, form, plugin */
    /* ABI 3 */
    MUCDESK_EVENT_DECLINED,     /* actor_jid: the agent who declined */
    MUCDESK_EVENT_AGENT_STATE,  /* actor_jid: the agent; status: "busy" or
                                   "available"; queue NULL, ticket 0 */
};

struct mucdesk_event {
    enum mucdesk_event_kind kind;
    const char *queue;
    int64_t ticket;
    const char *actor_jid;      /* NULL if none */
    const char *status;         /* the ticket's status after the event */
    /* ABI 3 */
    int rating;                 /* RATED: 1 to 5; else 0 */
};

/* What the desk does for a plugin (attach).  Everything on the XMPP
 * thread; ctx is the desk's, to pass back. */
struct mucdesk_host {
    void *ctx;
    /* A status message from the ticket's session room to everyone in it,
     * archived (extra_xml: elements after <body/>, e.g. a <desk/> event or
     * a data form; NULL: none).  0, or -1 if the chat is not open. */
    int (*post)(void *ctx, int64_t ticket, const char *text,
                const char *extra_xml);
    /* A notice to the ticket's customer only, not archived.  0 or -1. */
    int (*tell_customer)(void *ctx, int64_t ticket, const char *text);
    /* Records the customer's rating (1 to 5) and comment (NULL: none) on
     * the ticket, with a rating event in its transcript.  0, or -1. */
    int (*rate)(void *ctx, int64_t ticket, int rating, const char *comment);
};

enum mucdesk_place { MUCDESK_IN_QUEUE, MUCDESK_IN_SESSION };

/* A text command a plugin adds; arrays end with name NULL. */
struct mucdesk_command_info {
    const char *name;            /* "rate": typed as /rate */
    const char *usage;           /* "/rate", for /help */
    enum mucdesk_place place;    /* where it is typed */
    const char *description;     /* the ad-hoc command's name */
};

/* One call of a plugin's command.  reply: what the caller is told (a
 * failure's text: "args: ..." names what is wrong). */
struct mucdesk_command_call {
    const char *name;
    const char *args;            /* after the name, blanks skipped; "" */
    const char *queue;
    int64_t ticket;              /* the session room's; 0 in a queue room */
    const char *actor_jid;       /* bare */
    const char *actor_nick;      /* NULL when run as an ad-hoc command */
    char reply[1024];
};

enum mucdesk_command_result {
    MUCDESK_COMMAND_DONE = 0,
    MUCDESK_COMMAND_FAILED = -1, /* bad input or state: reply says why */
};

/* A groupchat message with a body in a session room. */
struct mucdesk_message {
    const char *queue;
    int64_t ticket;
    const char *from_jid;        /* bare */
    const char *nick;
    int from_customer;           /* 1: the customer, 0: staff */
    const char *body;
};

enum mucdesk_message_verdict {
    MUCDESK_MESSAGE_PASS = 0,    /* archived and shown as usual */
    MUCDESK_MESSAGE_CONSUMED = 1,/* neither */
};

struct mucdesk_plugin {
    unsigned abi;               /* MUCDESK_PLUGIN_ABI */
    const char *name;           /* as in the configuration ("round-robin") */
    const char *description;
    /* Called once after loading; *state is handed to every hook.  0, or -1
     * to refuse loading (logged). */
    int (*init)(void **state);
    void (*fini)(void *state);
    int (*pick_agent)(void *state, const struct mucdesk_route_request *req);
    void (*event)(void *state, const struct mucdesk_event *ev);
    /* One of `commands`: enum mucdesk_command_result. */
    int (*command)(void *state, struct mucdesk_command_call *call);
    /* ABI 2 */
    const struct mucdesk_command_info *commands; /* NULL: none */
    void (*attach)(void *state, const struct mucdesk_host *host);
    /* enum mucdesk_message_verdict */
    int (*message)(void *state, const struct mucdesk_message *msg);
};

#endif
