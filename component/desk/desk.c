/* The desk's composition root: wiring (the event bus's subscribers, the
 * MUC's room disco and concealment, the ad-hoc commands), start-up
 * (directory, then open tickets), reload, the periodic tick (queue
 * subjects, position updates, directory changes) and the end.  The
 * lookups are in registry.c. */
#include "build-config.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "desk/authz.h"
#include "desk/canned.h"
#include "desk/chat.h"
#include "desk/counters.h"
#include "desk/dbops.h"
#include "desk/desk.h"
#include "desk/events.h"
#include "desk/forms.h"
#include "desk/limits.h"
#include "desk/mail.h"
#include "desk/plugins.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/routing.h"
#include "desk/state.h"
#include "desk/juggling.h"
#include "desk/transcript.h"
#include "desk/transcript_pdf.h"
#include "desk/tickets.h"
#include "muc/muc.h"
#include "store/tickets.h"
#include "xmpp/adhoc.h"
#include "xmpp/disco.h"
#include "xmpp/stamp.h"
#include "xmpp/stanza.h"

#define LOG "desk"

/* ---- the periodic tick ------------------------------------------------------- */

static void tick(void *ud)
{
    struct desk *d = ud;
    d->tick_timer = NULL;
    for (struct desk_queue *q = d->queues; q; q = q->hh.next) {
        desk_queue_update_subject(q);
        desk_push_positions(q, false);
    }
    desk_remind_due(d);
    d->tick_timer = loop_timer_add(
        d->loop, (uint64_t)d->cfg->desk.status_interval_s * 1000 / 3 + 1,
        tick, d, NULL);
}

static void poll_tick(void *ud)
{
    struct desk *d = ud;
    d->poll_timer = NULL;
    desk_dir_poll(d);
    d->poll_timer = loop_timer_add(
        d->loop, (uint64_t)d->cfg->desk.reload_interval_s * 1000, poll_tick, d,
        NULL);
}

/* ---- open tickets at start-up ------------------------------------------------ */

static void on_open_tickets(void *ud, const struct store_ticket_list *list);

/* The open tickets, and those that ended within closed_room_hours: their
 * rooms come back for staff (MAM) and for the customer's rating. */
static int load_open_tickets(struct desk *d)
{
    int64_t keep_us = (int64_t)d->cfg->desk.closed_room_hours * 3600 * 1000000;
    int64_t since = keep_us ? stamp_now_us() - keep_us : 0;
    return store_tickets_load_open(d->archive, since, on_open_tickets, d);
}

static void on_open_tickets(void *ud, const struct store_ticket_list *list)
{
    struct desk *d = ud;
    d->tickets_loading = false;
    if (list->failed) {
        log_warn(LOG, "cannot read the open tickets yet; trying again");
        if (load_open_tickets(d) == 0)
            d->tickets_loading = true;
        return;
    }
    size_t restored = 0, ended = 0;
    for (size_t i = 0; i < list->count; i++) {
        const struct desk_chat *c = desk_chat_restore(d, &list->tickets[i]);
        if (c && c->state == DESK_CHAT_ENDED)
            ended++;
        else if (c)
            restored++;
    }
    d->tickets_loaded = true;
    log_info(LOG, "%zu open ticket(s) restored; %zu ended chat room(s) kept "
                  "for staff", restored, ended);
    desk_route_all(d);
}

static void after_directory(struct desk *d)
{
    if (!d->tickets_loaded && !d->tickets_loading) {
        if (load_open_tickets(d) == 0)
            d->tickets_loading = true;
        else
            log_error(LOG, "cannot queue the read of open tickets");
    }
}


/* The ad-hoc commands of every file, in the order they are listed. */
static int register_commands(struct desk *d)
{
    if (desk_adhoc_register(d) < 0 || desk_adhoc_agent_register(d) < 0 ||
        desk_adhoc_library_register(d) < 0 ||
        desk_adhoc_reports_register(d) < 0 ||
        desk_adhoc_admin_register(d) < 0 ||
        desk_adhoc_webhooks_register(d) < 0 ||
        desk_adhoc_tickets_register(d) < 0 ||
        desk_adhoc_juggling_register(d) < 0 ||
        desk_adhoc_staff_register(d) < 0)
        return -1;
    return 0;
}

/* ---- life ------------------------------------------------------------------- */

/* Session rooms are concealed from whoever may not enter them (the MUC
 * answers item-not-found for them as for a room that does not exist), so
 * ticket numbers cannot be probed; and no plain room may take a session
 * room's name.  Until the open tickets are restored after a start, a
 * missing session room is left to the MUC's usual answers. */
static bool conceal(void *ud, const char *local, const char *bare)
{
    struct desk *d = ud;
    if (strncmp(local, DESK_ROOM_PREFIX, strlen(DESK_ROOM_PREFIX)) != 0)
        return false;
    struct desk_chat *c = desk_chat_by_room(d, local);
    if (!c || strcmp(c->room_name, local) != 0)
        return d->tickets_loaded;
    struct desk_queue *q = desk_queue_find(d, c->queue);
    return !desk_authz_allows(desk_role_for(d, bare, q, c),
                              DESK_ACT_ENTER_SESSION);
}

static const char *room_class(void *ud, const char *local)
{
    struct desk *d = ud;
    if (desk_queue_find(d, local))
        return "queue";
    if (desk_chat_by_room(d, local))
        return "session";
    return NULL;
}

static void room_features(void *ud, const struct muc_room *room,
                          struct buf *out)
{
    struct desk *d = ud;
    if (adhoc_room_has_commands(d->adhoc, muc_room_name(room)))
        disco_write_feature(out, NS_COMMANDS);
}

static int room_node_info(void *ud, const struct stanza_in *in,
                          const char *node, struct buf *out, struct xerr *err)
{
    struct desk *d = ud;
    return adhoc_room_node_info(d->adhoc, in, node, out, err);
}

static int room_node_items(void *ud, const struct stanza_in *in,
                           const char *node, struct buf *out,
                           struct xerr *err)
{
    struct desk *d = ud;
    return adhoc_room_node_items(d->adhoc, in, node, out, err);
}

/* Only admins and queue staff are privileged in any room (session rooms
 * ask desk_role_for for their queue, queue rooms likewise). */
static bool privileged_somewhere(void *ud, const char *bare)
{
    struct desk *d = ud;
    return config_is_admin(d->cfg, bare) || desk_is_staff_anywhere(d, bare);
}

struct desk *desk_new(struct loop *loop, struct router *router,
                      struct disco *disco, struct muc *muc,
                      struct store *store, struct archive *archive,
                      const struct config *cfg)
{
    struct desk *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->loop = loop;
    d->directory_loaded = after_directory;
    d->router = router;
    d->disco = disco;
    d->muc = muc;
    d->store = store;
    d->archive = archive;
    d->cfg = cfg;
    d->route_offer = desk_offer_make;
    d->withdraw_unentered = desk_chat_withdraw;
    desk_counters_init(&d->counters, (uint64_t)stamp_now_us());
    unsigned char rnd[6];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        free(d);
        return NULL;
    }
    snprintf(d->sid_prefix, sizeof d->sid_prefix, "d%02x%02x%02x%02x%02x%02x",
             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    const struct adhoc_limits lim = {
        .session_ttl_ms = (uint64_t)cfg->desk.command_timeout_s * 1000,
        .per_jid = (unsigned)cfg->desk.command_sessions_per_jid,
        .per_domain = (unsigned)cfg->desk.command_sessions_per_domain,
        .max_sessions = (unsigned)cfg->desk.command_sessions_max,
    };
    d->adhoc = adhoc_new(loop, router, disco, &lim);
    if (!d->adhoc) {
        log_error(LOG, "cannot set up ad-hoc commands");
        free(d);
        return NULL;
    }
    if (desk_limits_new(d) < 0) {
        log_error(LOG, "out of memory");
        adhoc_free(d->adhoc);
        free(d);
        return NULL;
    }
    adhoc_set_class_lookup(d->adhoc, room_class, d);
    struct muc_room_disco rd = {.node_info = room_node_info,
                                .node_items = room_node_items,
                                .features = room_features,
                                .privileged_somewhere = privileged_somewhere,
                                .ud = d};
    muc_set_room_disco(muc, &rd);
    muc_set_conceal(muc, conceal, d);
    /* MAM in session rooms: the transcript's joins, leaves, transfers. */
    muc_set_archive_events(muc, &(struct muc_archive_events){
                                    .kinds = desk_mam_event_kinds,
                                    .render = desk_mam_event_render,
                                    .ud = d});
    /* What follows a chat's change, in this order within a priority
     * (events.h): counts, offers; plugins, mail; routing. */
    if (!(d->events = desk_events_new()) || desk_metrics_subscribe(d) < 0 ||
        desk_queue_subscribe(d) < 0 || desk_plugins_subscribe(d) < 0 ||
        desk_mail_subscribe(d) < 0) {
        log_error(LOG, "out of memory");
        desk_free(d);
        return NULL;
    }
    if (desk_plugins_start(d) < 0 || register_commands(d) < 0) {
        log_error(LOG, "cannot register the desk's commands");
        desk_free(d);
        return NULL;
    }
    return d;
}

int desk_start(struct desk *d)
{
    desk_dir_load(d);
    d->poll_timer = loop_timer_add(
        d->loop, (uint64_t)d->cfg->desk.reload_interval_s * 1000, poll_tick, d,
        NULL);
    d->tick_timer = loop_timer_add(d->loop, 1000, tick, d, NULL);
    if (desk_mail_start(d) < 0 || desk_followup_start(d) < 0)
        return -1;
    return d->poll_timer && d->tick_timer ? 0 : -1;
}

void desk_reload(struct desk *d)
{
    log_info(LOG, "reloading queues and agents");
    desk_dir_load(d);
    /* The other [desk] and [mail] settings are read where they are used. */
    adhoc_set_session_ttl(d->adhoc,
                          (uint64_t)d->cfg->desk.command_timeout_s * 1000);
    if (d->cfg->mail.from && !d->mailer && desk_mail_start(d) < 0)
        log_error(LOG, "cannot start mailing transcripts");
}

void desk_free(struct desk *d)
{
    if (!d)
        return;
    d->stopping = true;
    loop_timer_cancel(d->loop, d->poll_timer);
    loop_timer_cancel(d->loop, d->tick_timer);
    desk_followup_stop(d);
    desk_transcript_pdf_stop(d);
    loop_timer_cancel(d->loop, d->purge_timer); /* frees a waiting purge */
    desk_mail_free(d);
    struct desk_chat *c, *ctmp;
    HASH_ITER(hh, d->chats, c, ctmp) {
        desk_chat_free(c);
    }
    struct desk_queue *q, *qtmp;
    HASH_ITER(hh, d->queues, q, qtmp) {
        HASH_DEL(d->queues, q);
        desk_routing_queue_free(q);
        desk_queue_free_fields(q);
        free(q);
    }
    struct desk_staff *s, *stmp;
    HASH_ITER(hh, d->staff, s, stmp) {
        HASH_DEL(d->staff, s);
        desk_routing_staff_free(s);
        free(s->jid);
        free(s);
    }
    desk_plugins_free(d);
    desk_canned_free(d);
    desk_limits_free(d);
    desk_staff_set_free(d);
    adhoc_free(d->adhoc);
    free(d->adhoc_data);
    free(d->plugin_cmd_data);
    desk_events_free(d->events);
    free(d);
}
