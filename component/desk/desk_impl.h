/* The desk's inner structures, shared by the files of desk/ only. */
#ifndef MUCDESK_DESK_IMPL_H
#define MUCDESK_DESK_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "core/budget.h"
#include "core/ratelimit.h"
#include "core/tz.h"
#include "desk/authz.h"
#include "desk/desk.h"
#include "desk/directory.h"
#include "desk/hours.h"
#include "desk/prechat.h"
#include "desk/counters.h"
#include "desk/text.h"
#include "plugin.h"
#include "store/tickets.h"
#include "xmpp/adhoc.h"

#define NS_DESK "urn:mucdesk:0"
#define FORM_RATE "urn:mucdesk:rate-chat" /* rate-chat and the /rate form */
#define DESK_ROOM_PREFIX "ticket-"
#define DESK_TOKEN_BYTES 20   /* 160 bits */

struct desk_chat;
struct desk_queue;
struct desk_staff;

/* A loaded plugin (one per name, shared by the queues using it). */
struct desk_plugin_ref {
    char *name;
    void *handle;                 /* dlopen */
    const struct mucdesk_plugin *plugin;
    void *state;
    bool feature;                 /* from [desk] plugins: hears everything */
    struct desk_plugin_ref *next;
};

/* One agent's membership of a queue (the agents table). */
struct desk_member {
    char *jid;
    enum desk_role role;          /* AGENT or SUPERVISOR */
    int max_chats;
    char **skills;
    size_t skill_count;
    UT_hash_handle hh;            /* the queue's member_index, by jid */
    /* routing (routing.c); set up by desk_routing_rebuild() */
    struct desk_queue *queue;
    struct desk_staff *staff;     /* never NULL once rebuilt (or no routing) */
    size_t index;                 /* in the queue's membership order */
    int occupants;                /* queue room occupants with this bare JID */
    bool shown;                   /* the first of them: no <show/> or chat */
    bool available;               /* shown, not busy, below max_chats */
    bool eligible;                /* available and holding no offer */
    bool excluded;                /* scratch: left out of one request */
    bool dirty;                   /* in the queue's dirty_members */
    struct desk_member *dirty_next;
};

/* Routable waiting chats of a queue that need the same skills (as far as
 * the queue's members have them: see routing.c), in queue order. */
struct desk_route_class {
    char *key;
    struct desk_chat **heap;      /* a binary min-heap by desk_chat.order */
    size_t len, cap;
    bool rejected;                /* scratch of a full pass */
    UT_hash_handle hh;
};

/* A skill some member of a queue has (routing.c). */
struct desk_skill {
    char *name;
    UT_hash_handle hh;
};

struct desk_queue {
    struct desk *desk;
    char *name;
    char *title;
    char *strategy;
    char *greeting;
    char *offline_message;
    char *closed_message;         /* outside business hours; NULL: none */
    char *prechat_text;           /* the admin's texts, for the forms */
    char *hours_text;
    char *timezone;
    struct desk_prechat *prechat; /* extra pre-chat fields (never NULL) */
    struct desk_hours *hours;     /* never NULL (always open if none) */
    struct tz *tz;                /* the hours' time zone (never NULL) */
    bool transcript_email;        /* mail every transcript */
    int offer_timeout_s;
    int max_wait_s;
    struct desk_member *members;
    size_t member_count;
    struct desk_member *member_index; /* the same, by jid (uthash) */
    struct muc_room *room;
    struct desk_plugin_ref *plugin; /* NULL: could not load: manual */
    struct desk_chat *wait_head, *wait_tail; /* waiting chats, in order */
    /* Its waiting chats nobody has entered yet and not held (limits.c). */
    struct desk_chat *unentered_head;
    /* routing.c's incremental state */
    unsigned waiting_count;
    struct desk_chat *age_head, *age_tail; /* waiting, by enqueued_ms */
    int64_t order_front, order_back; /* desk_chat.order at either end */
    size_t *eligible;             /* eligible members' indices, ascending */
    size_t eligible_count, eligible_cap;
    unsigned available_count;     /* members available (offer or not) */
    struct desk_route_class *classes;
    struct desk_skill *known_skills;
    struct desk_chat *dirty_chats; /* routable chats to ask again */
    struct desk_member *dirty_members; /* members newly eligible */
    bool pending;                 /* dirty_* not empty */
    bool subject_stale;           /* counts changed since the subject */
    struct desk_rolling waits;    /* seconds from request to accept */
    bool seen;                    /* during a directory reload */
    UT_hash_handle hh;
};

/* Live state of a staff member, across queues (by bare JID). */
struct desk_staff {
    char *jid;
    int active;                   /* chats they own and are in */
    uint64_t idle_since_ms;
    uint64_t last_offer_ms;
    struct desk_chat *offer;      /* the chat offered to them now */
    bool busy;                    /* set-availability: no new chats */
    struct desk_member **memberships; /* routing.c: theirs in every queue */
    size_t membership_count, membership_cap;
    UT_hash_handle hh;
};

enum desk_chat_state {
    DESK_CHAT_WAITING,            /* QUEUED, in its queue's waiting list */
    DESK_CHAT_ACTIVE,             /* an agent owns it and talks */
    DESK_CHAT_ENDED,              /* over for the customer; room kept */
};

struct desk_name {
    char *jid;
    uint64_t until_ms;            /* declines: skipped until then */
    struct desk_name *next;
};

struct desk_chat {
    struct desk *desk;
    int64_t id;
    char room_name[40];
    struct muc_room *room;
    enum desk_chat_state state;
    /* the ticket row */
    char *queue;
    enum ticket_status status;
    char *subject;
    char *customer_jid;
    char *customer_name;
    char *customer_email;
    char *owner_jid;
    bool owner_counted;           /* counted in the owner's active chats */
    int priority;
    int64_t created_us, accepted_us, ended_us;
    int rating;
    char *rating_comment;
    bool has_token;
    uint8_t token_hash[TICKET_TOKEN_HASH_SIZE];
    char *details;                /* JSON: question, page, browser... */
    char *question;
    char *skills;                 /* required, comma-separated */
    /* who may enter as the customer (bare JIDs) */
    struct desk_name *customers;
    /* routing */
    char *offered_to;
    struct loop_timer *offer_timer;
    struct desk_name *declines;   /* decline skips (some maybe ended) */
    struct loop_timer *skip_timer; /* the first skip's end */
    struct desk_name *in_room;    /* one per occupant of its room (bare) */
    int64_t order;                /* its place in waiting_in's list */
    char *route_key;              /* its class (routing.c) */
    struct desk_route_class *rclass; /* while routable: in its heap */
    size_t heap_index;
    bool dirty;                   /* in waiting_in's dirty_chats */
    struct desk_chat *dprev, *dnext;
    struct desk_chat *aprev, *anext; /* waiting_in's age list */
    uint64_t enqueued_ms;
    bool no_agents_told;
    /* Abuse limits (admin guide, "Abuse and limits"): a chat whose
     * customer has not entered yet counts against its domain (and ends
     * after [desk] unjoined_timeout); one accepted while the domain was
     * over its budget is held: announced and offered only once the
     * customer enters. */
    bool joined_once;             /* the customer has entered the room */
    bool held;                    /* not routable (routing.c) meanwhile */
    struct desk_chat *uprev, *unext; /* in unentered_q->unentered_head */
    struct desk_queue *unentered_q;
    bool charged_domain;          /* given back when the customer enters */
    struct budget_holder unjoined; /* in d->tickets_by_domain */
    struct loop_timer *unjoined_timer;
    int reannounced;              /* re-announcements so far */
    bool customer_present;
    bool customer_left_explicitly;
    bool responded;               /* an agent wrote (desk_count_message) */
    bool replacing_customer;      /* resume-chat removes a stale session */
    struct loop_timer *grace_timer;
    struct loop_timer *maxwait_timer;
    struct loop_timer *announce_timer;
    struct loop_timer *expire_timer;
    struct loop_timer *rejoin_timer; /* after a restart: people come back */
    int last_position, last_wait;
    uint64_t last_status_ms;
    /* chat time */
    int chat_seconds;             /* accumulated while not running */
    bool clock_running;
    uint64_t clock_since_ms;
    /* supervisors who asked to observe (join invisibly) */
    struct desk_name *observers;
    struct desk_chat *wprev, *wnext;
    struct desk_queue *waiting_in; /* the list it is in, or NULL */
    UT_hash_handle hh;
    UT_hash_handle hh_token;      /* d->by_token, key token_hash */
    bool token_indexed;
};

/* A bare JID that is a member of some queue (d->staff_set, rebuilt with
 * each directory load), so that "is this staff anywhere?" is one lookup,
 * not a walk over every queue's members for each outsider's stanza. */
struct desk_staff_name {
    UT_hash_handle hh;
    char jid[];
};

/* The chats a customer (bare JID) may enter: d->by_customer, so that a
 * request finds the customer's open chat without a walk over all chats. */
struct desk_customer {
    UT_hash_handle hh;
    struct desk_chat **chats;
    unsigned n, cap;
    char jid[];
};

/* A canned response (the directory's canned_responses). */
struct desk_canned {
    char *queue;                  /* "" for every queue */
    char *name;
    char *body;
};

struct desk {
    struct loop *loop;
    struct router *router;
    struct disco *disco;
    struct muc *muc;
    struct store *store;
    struct archive *archive;
    const struct config *cfg;
    struct adhoc *adhoc;
    void *adhoc_data;             /* adhoc_cmds.c's per-command data */
    struct desk_queue *queues;
    struct desk_staff *staff;
    struct desk_chat *chats;
    struct desk_chat *by_token;   /* chats with a token, by its hash */
    struct desk_customer *by_customer;
    struct desk_staff_name *staff_set; /* members of any queue */
    struct desk_plugin_ref *plugins;
    struct mucdesk_host host;     /* what plugins may ask (plugins.c) */
    void *plugin_cmd_data;        /* adhoc_agent.c's, freed with the desk */
    struct desk_canned *canned;
    size_t canned_count;
    struct purge_job *purge;      /* adhoc_admin.c: at most one at a time */
    struct desk_mailer *mailer;   /* mail.c; NULL without [mail] from */
    struct loop_timer *purge_timer;
    struct rate_bucket new_tickets; /* [desk] new_tickets_per_minute */
    /* Per-sender budgets ([desk] jid_*, domain_*): new tickets per JID;
     * per domain, tickets nobody entered (a rate, and the chats held at
     * once); ratings per JID and per domain. */
    struct budget *tickets_by_jid, *tickets_by_domain;
    struct budget *ratings_by_jid, *ratings_by_domain;
    uint64_t budget_refused;      /* per-sender refusals since the last log */
    uint64_t budget_logged_ms;
    uint64_t tickets_refused;     /* by that limit, since the last warning */
    struct desk_counters counters; /* for the metrics (desk/metrics.c) */
    uint64_t refused_logged_ms;
    int64_t dir_version;
    bool dir_loaded;
    bool dir_loading;
    bool dir_again;
    bool tickets_loading;
    bool tickets_loaded;
    struct loop_timer *poll_timer;
    struct loop_timer *tick_timer;
    /* routing.c: makes an offer (desk_offer_make; unit tests put theirs) */
    int (*route_offer)(struct desk_chat *c, const char *jid);
    bool routing_stale;           /* members being replaced: rebuild next */
    char sid_prefix[20];
    uint64_t sid_counter;
    bool stopping;
    void (*files_purged)(void *ud); /* files.c: the upload service's hook */
    void *files_purged_ud;
};

/* ---- desk.c ------------------------------------------------------------------- */

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
/* authz: 0, or -1 with *err set to forbidden. */
int desk_authorize(struct desk *d, const char *bare, enum desk_action act,
                   const struct desk_queue *q, const struct desk_chat *chat,
                   struct xerr *err);
struct desk_staff *desk_staff_get(struct desk *d, const char *jid);
void desk_make_stanza_id(struct desk *d, char *out, size_t size);
void desk_reload_soon(struct desk *d);
int desk_int(const struct desk *d, const char *key);

/* ---- queue.c: queue rooms, routing, offers --------------------------------------- */

int desk_queue_open_room(struct desk_queue *q);
void desk_queue_update_subject(struct desk_queue *q);
void desk_queue_announce(struct desk_queue *q, const char *text);
/* Routing after a change (routing.c decides what to ask again): pending
 * offers are made, then stale queue subjects and q's are updated. */
void desk_route(struct desk_queue *q);
void desk_route_pending(struct desk *d);
/* Everything again (after a directory load or the restore of tickets):
 * presence read from the queue rooms, desk_routing_rebuild(). */
void desk_route_all(struct desk *d);
/* Chats offered to jid: withdrawn; declined marks it skipped for a while. */
void desk_offer_withdraw(struct desk_chat *c, bool declined);
/* Makes `jid` the chat's offer target and invites them. */
int desk_offer_make(struct desk_chat *c, const char *jid);
unsigned desk_queue_available_count(const struct desk_queue *q);
unsigned desk_queue_online_count(const struct desk_queue *q);
/* Within the queue's business hours now (always, if it has none). */
bool desk_queue_open_now(const struct desk_queue *q);
/* What customers read outside business hours. */
const char *desk_queue_closed_text(const struct desk_queue *q);
void desk_push_positions(struct desk_queue *q, bool force);
int desk_chat_position(const struct desk_chat *c);

/* ---- routing.c: which agent is offered which waiting chat ------------------------ */

/* The waiting list: c goes to the back of q's (or the front: it waited
 * already), out of any other; and out. */
void desk_wait_add(struct desk_queue *q, struct desk_chat *c, bool front);
void desk_wait_remove(struct desk_chat *c);
/* Tell routing what changed; desk_route_pending() then acts on it.
 *  - member_shown: m's first occupant in the queue room is (not) there
 *    with no <show/> or chat (queue.c counts m->occupants);
 *  - staff_changed: busy, active, offer or (fields) a candidate field
 *    (active chats, idle since) of s changed;
 *  - chat_changed: c's room appeared or went;
 *  - chat_occupant: `bare` entered (in) or left one occupant of c's room;
 *  - offer_started/ended: the bookkeeping of desk_offer_make/withdraw
 *    (c->offered_to, s->offer, last_offer_ms; a decline skip until
 *    skip_until_ms, 0 for none). */
void desk_routing_member_shown(struct desk_member *m, bool shown);
void desk_routing_staff_changed(struct desk *d, struct desk_staff *s,
                                bool fields);
void desk_routing_chat_changed(struct desk_chat *c);
int desk_routing_chat_occupant(struct desk_chat *c, const char *bare, bool in);
int desk_routing_offer_started(struct desk_chat *c, struct desk_staff *s,
                               const char *jid);
void desk_routing_offer_ended(struct desk_chat *c, struct desk_staff *s,
                              uint64_t skip_until_ms);
/* Forgets the skips that ended; when the first pending one ends (0: none). */
void desk_routing_skips_expired(struct desk_chat *c);
uint64_t desk_routing_next_skip(const struct desk_chat *c);
/* Offers what the changes since the last run allow (through
 * d->route_offer); O(what changed), see routing.c. */
void desk_routing_run(struct desk *d);
/* Recomputes everything from the members (their `shown` and `staff` set)
 * and the waiting lists, then runs the full pass over every waiting chat. */
void desk_routing_rebuild(struct desk *d);
void desk_routing_queue_free(struct desk_queue *q);
void desk_routing_staff_free(struct desk_staff *s);

/* ---- chat.c: tickets and session rooms -------------------------------------------- */

struct desk_request {
    const char *customer_full;    /* the requesting JID */
    const char *name;
    const char *email;
    const char *question;
    const char *page;
    const char *browser;
    const char *skills;
    const char *nick;
    const char *extra_json;       /* more "key":"value" members, or NULL */
};

/* Creates the ticket and its room, or returns the customer's open chat in
 * this queue (*existing set).  *token_out gets a new token (hex) for a new
 * chat, "" for an existing one.  0, or -1 with *err. */
int desk_chat_request(struct desk_queue *q, const struct desk_request *r,
                      struct desk_chat **out, bool *existing,
                      char *token_out, size_t token_size, struct xerr *err);
/* A ticket without a live chat (a message left while no agent is there). */
int desk_chat_leave_message(struct desk_queue *q, const struct desk_request *r,
                            int64_t *ticket_out, struct xerr *err);
struct desk_chat *desk_chat_restore(struct desk *d,
                                    const struct store_ticket *t);
void desk_chat_free(struct desk_chat *c);
void desk_chat_save(struct desk_chat *c);
void desk_chat_event(struct desk_chat *c, enum archive_kind kind,
                     const char *actor_jid, const char *actor_nick,
                     const char *body, bool staff_only);
void desk_chat_accept(struct desk_chat *c, const char *agent,
                      const char *nick);
/* Back to waiting in `q` (requeue, forward to a queue, last agent gone). */
void desk_chat_requeue(struct desk_chat *c, struct desk_queue *q,
                       const char *actor, const char *why);
/* Ends the chat for the customer with the ticket's final status. */
void desk_chat_end(struct desk_chat *c, enum ticket_status status,
                   const char *actor, const char *note, const char *text);
/* Ends a chat nobody entered (limits.c): its announcement withdrawn in the
 * queue room, its offer withdrawn, the ticket RESOLVED with `why` as a
 * staff note. */
void desk_chat_withdraw(struct desk_chat *c, const char *why);
int desk_chat_seconds(const struct desk_chat *c);
/* The customer's rating (1 to 5, comment NULL: none): on the ticket, and a
 * rating event.  0, or -1 for a rating out of range. */
int desk_chat_rate(struct desk_chat *c, int rating, const char *comment,
                   const char *actor);
void desk_chat_clock(struct desk_chat *c, bool run);
bool desk_chat_is_customer(const struct desk_chat *c, const char *bare);
int desk_chat_add_customer(struct desk_chat *c, const char *bare);
/* The chat whose token hashes to `hash` (constant-time compares). */
struct desk_chat *desk_chat_by_token(struct desk *d, const char *token);
bool desk_chat_token_matches(const struct desk_chat *c, const char *token);
void desk_chat_details_text(const struct desk_chat *c, struct buf *out);
struct muc_occupant *desk_chat_customer_occupant(const struct desk_chat *c);
bool desk_chat_has_staff(const struct desk_chat *c);
/* Re-evaluates every occupant's staff rights in the chat's room (after a
 * directory change or a move to another queue): see chat.c. */
void desk_chat_review_staff(struct desk_chat *c);

/* ---- commands.c: text commands (shared with ad-hoc commands) ----------------------- */

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
struct desk *desk_later_desk(const struct desk_later *l);
/* The command fails at once after all (returning -1 with its error):
 * forgets the handle without answering.  NULL is a no-op. */
void desk_later_cancel(struct desk_later *l);

/* ---- canned_kb.c: /canned and /kb ------------------------------------------------ */

int desk_cmd_canned(struct desk_call *call, const char *args,
                    struct xerr *err);
int desk_cmd_kb(struct desk_call *call, const char *args, struct xerr *err);
/* The canned response `name` for a queue: the queue's own, else the
 * global one; NULL if none. */
const struct desk_canned *desk_canned_find(const struct desk *d,
                                           const char *queue,
                                           const char *name);

/* Runs one command line ("/close resolved").  0, or -1 with *err (a
 * refusal, or bad input with a text naming what is wrong). */
int desk_command_run(struct desk_call *call, const char *line,
                     struct xerr *err);
/* For /help: the commands `role` may use in `place`. */
void desk_command_help(struct desk *d, enum desk_role role,
                       enum desk_place place, struct buf *out);

/* ---- mail.c: transcripts by mail ------------------------------------------------ */

int desk_mail_start(struct desk *d);
void desk_mail_free(struct desk *d);
/* Queues the transcript mail if the queue or the customer wants it. */
void desk_mail_chat_ended(struct desk_chat *c);

/* ---- plugins.c -------------------------------------------------------------------- */

/* Loads (once) and attaches plugin `name`; NULL if it cannot (logged). */
struct desk_plugin_ref *desk_plugin_load(struct desk *d, const char *name);
/* The host services and the feature plugins of [desk] plugins. */
int desk_plugins_start(struct desk *d);
void desk_plugins_free(struct desk *d);
void desk_plugin_event(struct desk_chat *c, enum mucdesk_event_kind kind,
                       const char *actor);
const struct mucdesk_command_info *
desk_plugin_command_find(struct desk *d, const char *name,
                         struct desk_plugin_ref **owner);
/* Runs plugin command `name` (authz first).  0, -1 with *err, or 1 if no
 * plugin has it. */
int desk_plugin_command_run(struct desk_call *call, const char *name,
                            const char *args, struct xerr *err);
/* Appends the plugins' usages for `place` (one per line) for /help. */
void desk_plugin_help(struct desk *d, enum desk_place place, struct buf *out);
/* Offers a session room message to the plugins; true if one consumed it. */
bool desk_plugin_message(struct desk_chat *c, struct muc_occupant *from,
                         const char *body);


/* ---- adhoc_cmds.c ---------------------------------------------------------------- */

int desk_adhoc_register(struct desk *d);
/* Shared by the ad-hoc command files.  A submitted field's first value
 * ("" if none); all its values joined with sep (text-multi lines, list
 * items) appended to out. */
const char *desk_form_text(xmpp_stanza_t *form, const char *var);
void desk_form_lines(xmpp_stanza_t *form, const char *var, const char *sep,
                     struct buf *out);
/* The step goes on at next_stage (actions: complete). */
void desk_step_executing(struct adhoc_step *st, unsigned next_stage);
/* Opens a result form in the step's payload (close with form_close). */
void desk_result_open(struct adhoc_step *st);
/* Who sees a command (struct adhoc_command's visible; ud is the desk). */
bool desk_visible_admin(void *ud, const char *asker, const char *target);
bool desk_visible_staff(void *ud, const char *asker, const char *target);
bool desk_visible_supervisor(void *ud, const char *asker, const char *target);
/* Runs a command line for an ad-hoc step (the ticket's chat, or NULL in
 * queue places): its reply becomes an info note, a room it points to a
 * `room` result field; a deferred command answers later.  0 or -1. */
int desk_adhoc_run_line(struct desk *d, struct adhoc_step *st,
                        struct desk_chat *chat, enum desk_place place,
                        const char *line, struct xerr *err);
/* The queues as list options (name, title pairs, NULL-terminated; the
 * strings are the queues'): free() the array.  NULL if out of memory. */
const char **desk_queue_options(struct desk *d);

/* ---- adhoc_agent.c, adhoc_admin.c: more commands ----------------------------------- */

int desk_adhoc_agent_register(struct desk *d);
int desk_adhoc_admin_register(struct desk *d);

/* ---- dbops.c: the directory on the DB thread --------------------------------------- */

void desk_dir_load(struct desk *d);
void desk_dir_poll(struct desk *d);
typedef void (*desk_db_done_fn)(void *ud, int rc, const char *err);
/* kind: "queue-create", "queue-configure", "queue-delete", "agent-add",
 * "agent-remove"; the rows are copied. */
int desk_dir_write(struct desk *d, const char *kind,
                   const struct desk_queue_row *q,
                   const struct desk_agent_row *a, desk_db_done_fn fn,
                   void *ud);
/* Takes what it keeps (the time zones) out of dir. */
void desk_dir_apply(struct desk *d, struct desk_directory *dir);

/* Any SQL on the DB thread: run(conn, ud, err) there (a desk_db_result;
 * retried after a reconnection if the connection was lost), then
 * after(d, ud, rc, err) on the XMPP thread, which owns ud (rc is
 * DESK_DB_FAILED if the database did not answer within timeout_ms; 0:
 * wait as long as it takes).  0, or -1 if nothing was queued (the caller
 * keeps ud). */
typedef int (*desk_db_run_fn)(PGconn *conn, void *ud, char *err,
                              size_t errlen);
typedef void (*desk_db_after_fn)(struct desk *d, void *ud, int rc,
                                 const char *err);
int desk_db_submit(struct desk *d, desk_db_run_fn run, desk_db_after_fn after,
                   void *ud, uint64_t timeout_ms);
#define DESK_DB_TIMEOUT_MS 15000
/* Frees a queue's settings and members (not the queue, its room or its
 * waiting list). */
void desk_queue_free_fields(struct desk_queue *q);
void desk_canned_free(struct desk *d);

#endif
