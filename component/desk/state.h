/* The desk's live state (struct desk), owned by desk.c, and the stanza
 * ids. */
#ifndef MUCDESK_DESK_STATE_H
#define MUCDESK_DESK_STATE_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uthash.h>

#include "core/ratelimit.h"
#include "desk/counters.h"
#include "desk/events.h"
#include "desk/files.h"
#include "plugin.h"

#define NS_DESK "urn:mucdesk:0"
#define FORM_RATE "urn:mucdesk:rate-chat" /* rate-chat and the /rate form */
/* The nick the desk speaks from to staff in its rooms (muc_room_set_voice():
 * some clients show nothing from a room's bare JID); customers never see
 * it. */
#define DESK_VOICE_NICK "desk"

struct budget;
struct desk_canned;
struct desk_chat;
struct desk_customer;
struct desk_mailer;
struct desk_plugin_ref;
struct desk_queue;
struct desk_staff;
struct pdf_job;
struct purge_job;

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

struct desk {
    struct loop *loop;
    struct router *router;
    struct disco *disco;
    struct muc *muc;
    struct store *store;
    struct archive *archive;
    const struct config *cfg;
    struct desk_events *events;   /* the event bus (events.h) */
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
    struct loop_timer *followup_timer; /* followup.c */
    bool followup_claiming;
    /* routing.c: makes an offer (desk_offer_make; unit tests put theirs) */
    int (*route_offer)(struct desk_chat *c, const char *jid);
    bool routing_stale;           /* members being replaced: rebuild next */
    /* limits.c: ends a chat nobody entered (desk_chat_withdraw; set by
     * desk_new, so that limits.c, below chat.c, need not call up) */
    void (*withdraw_unentered)(struct desk_chat *c, const char *why);
    /* desk.c: what follows a directory load applied by dbops.c */
    void (*directory_loaded)(struct desk *d);
    char sid_prefix[20];
    uint64_t sid_counter;
    bool stopping;
    void (*files_purged)(void *ud); /* files.c: the upload service's hook */
    struct desk_file_store file_store; /* files.c: lent by the upload service */
    bool has_file_store;
    unsigned pdf_running;         /* transcript_pdf.c: renders at once */
    struct pdf_job *pdf_jobs;
    void *files_purged_ud;
};

/* A fresh stanza id (the desk's prefix and a counter). */
static inline void desk_make_stanza_id(struct desk *d, char *out, size_t size)
{
    snprintf(out, size, "%s-%" PRIu64, d->sid_prefix, ++d->sid_counter);
}

#endif
