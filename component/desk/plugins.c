/* Plugins (component/plugin.h): loading by name from [service]
 * plugin_dir, routing strategies (queue.c calls pick_agent), feature
 * plugins from [desk] plugins, and what the desk offers them: events,
 * their text commands (after authz), the messages of session rooms, and
 * the host services (post, tell the customer, rate). */
#include "build-config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/jid.h"
#include "core/log.h"
#include "desk/authz.h"
#include "desk/chat.h"
#include "desk/commands.h"
#include "desk/events.h"
#include "desk/plugins.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "muc/muc.h"
#include "plugin.h"
#include "store/tickets.h"
#include "xmpp/stanza.h"

#define LOG "desk"

/* ---- the host ------------------------------------------------------------------ */

static struct desk_chat *open_chat(void *ctx, int64_t ticket)
{
    struct desk_chat *c = desk_chat_find(ctx, ticket);
    return c && c->room && c->state != DESK_CHAT_ENDED ? c : NULL;
}

static int host_post(void *ctx, int64_t ticket, const char *text,
                     const char *extra_xml)
{
    struct desk_chat *c = open_chat(ctx, ticket);
    return c ? muc_room_post_with(c->room, text, extra_xml, false) : -1;
}

static int host_tell_customer(void *ctx, int64_t ticket, const char *text)
{
    struct desk_chat *c = open_chat(ctx, ticket);
    struct muc_occupant *o = c ? desk_chat_customer_occupant(c) : NULL;
    if (!o)
        return -1;
    muc_room_tell(c->room, o, text);
    return 0;
}

static int host_rate(void *ctx, int64_t ticket, int rating,
                     const char *comment)
{
    struct desk_chat *c = desk_chat_find(ctx, ticket);
    return c ? desk_chat_rate(c, rating, comment, c->customer_jid) : -1;
}

/* ---- loading -------------------------------------------------------------------- */

struct desk_plugin_ref *desk_plugin_load(struct desk *d, const char *name)
{
    for (struct desk_plugin_ref *p = d->plugins; p; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    if (strchr(name, '/') || name[0] == '.' || !name[0]) {
        log_error(LOG, "plugin name '%s' is not valid", name);
        return NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.so", d->cfg->service.plugin_dir, name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        log_error(LOG, "cannot load plugin %s: %s", path, dlerror());
        return NULL;
    }
    const struct mucdesk_plugin *pl = dlsym(h, MUCDESK_PLUGIN_SYMBOL);
    /* Only the ABI is read before it is known to match. */
    if (!pl || pl->abi < MUCDESK_PLUGIN_ABI_OLDEST ||
        pl->abi > MUCDESK_PLUGIN_ABI || !pl->name ||
        strcmp(pl->name, name) != 0) {
        log_error(LOG, "%s is not a mucdesk plugin of ABI %d to %d named %s",
                  path, MUCDESK_PLUGIN_ABI_OLDEST, MUCDESK_PLUGIN_ABI, name);
        dlclose(h);
        return NULL;
    }
    struct desk_plugin_ref *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(name))) {
        free(p);
        dlclose(h);
        return NULL;
    }
    p->handle = h;
    p->plugin = pl;
    if (pl->init && pl->init(&p->state) < 0) {
        log_error(LOG, "plugin %s refused to start", name);
        free(p->name);
        free(p);
        dlclose(h);
        return NULL;
    }
    if (pl->attach)
        pl->attach(p->state, &d->host);
    p->next = d->plugins;
    d->plugins = p;
    log_info(LOG, "plugin %s loaded from %s", name, path);
    return p;
}

void desk_plugins_free(struct desk *d)
{
    while (d->plugins) {
        struct desk_plugin_ref *p = d->plugins;
        d->plugins = p->next;
        if (p->plugin->fini)
            p->plugin->fini(p->state);
        /* Keep the code mapped under AddressSanitizer, whose leak reports
         * need it: dlclose at exit gains nothing. */
        free(p->name);
        free(p);
    }
}

int desk_plugins_start(struct desk *d)
{
    d->host.ctx = d;
    d->host.post = host_post;
    d->host.tell_customer = host_tell_customer;
    d->host.rate = host_rate;
    const char *list = d->cfg->desk.plugins;
    if (!list || strcmp(list, "none") == 0)
        return 0;
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return -1;
    for (char *name = strtok_r(copy, ", \t", &save); name;
         name = strtok_r(NULL, ", \t", &save)) {
        struct desk_plugin_ref *p = desk_plugin_load(d, name);
        if (p)
            p->feature = true;
        /* else logged: the desk runs without it */
    }
    free(copy);
    return 0;
}

/* ---- events ---------------------------------------------------------------------- */

/* The desk's events as the ABI's (0: not told to plugins). */
static enum mucdesk_event_kind abi_kind(enum desk_event_kind k,
                                        unsigned *since)
{
    *since = 2;
    switch (k) {
    case DESK_EV_REQUESTED: return MUCDESK_EVENT_CREATED;
    case DESK_EV_OFFERED: return MUCDESK_EVENT_OFFERED;
    case DESK_EV_ACCEPTED: return MUCDESK_EVENT_ACCEPTED;
    case DESK_EV_REQUEUED: return MUCDESK_EVENT_REQUEUED;
    case DESK_EV_ENDED: return MUCDESK_EVENT_CLOSED;
    case DESK_EV_RATED: return MUCDESK_EVENT_RATED;
    case DESK_EV_DECLINED: *since = 3; return MUCDESK_EVENT_DECLINED;
    case DESK_EV_AGENT_STATE: *since = 3; return MUCDESK_EVENT_AGENT_STATE;
    default: *since = 0; return 0;
    }
}

/* A chat's event goes to its queue's strategy and every feature plugin;
 * an agent's to the feature plugins.  A plugin of an older ABI hears only
 * the kinds its ABI had. */
static void plugin_event(void *ud, const struct desk_event *ev)
{
    struct desk *d = ud;
    unsigned since;
    enum mucdesk_event_kind kind = abi_kind(ev->kind, &since);
    if (!since)
        return;
    struct desk_chat *c = ev->chat;
    struct desk_queue *q = c ? desk_queue_find(d, c->queue) : NULL;
    struct mucdesk_event out = {
        .kind = kind,
        .queue = c ? c->queue : NULL,
        .ticket = c ? c->id : 0,
        .actor_jid = ev->actor,
        .status = c ? ticket_status_name(c->status) : NULL,
    };
    if (ev->kind == DESK_EV_RATED)
        out.rating = ev->rated.rating;
    if (ev->kind == DESK_EV_AGENT_STATE) {
        out.actor_jid = ev->agent_state.staff->jid;
        out.status = ev->agent_state.busy ? "busy" : "available";
    }
    for (struct desk_plugin_ref *p = d->plugins; p; p = p->next)
        if (p->plugin->event && p->plugin->abi >= since &&
            (p->feature || (q && q->plugin == p)))
            p->plugin->event(p->state, &out);
}

int desk_plugins_subscribe(struct desk *d)
{
    for (int k = 0; k < DESK_EV_COUNT; k++) {
        unsigned since;
        abi_kind((enum desk_event_kind)k, &since);
        if (since && desk_events_subscribe(d, (enum desk_event_kind)k,
                                           DESK_PRIO_NOTIFY, plugin_event,
                                           d) < 0)
            return -1;
    }
    return 0;
}

/* ---- commands ---------------------------------------------------------------------- */

const struct mucdesk_command_info *
desk_plugin_command_find(struct desk *d, const char *name,
                         struct desk_plugin_ref **owner)
{
    for (struct desk_plugin_ref *p = d->plugins; p; p = p->next) {
        if (!p->feature || !p->plugin->commands || !p->plugin->command)
            continue;
        for (const struct mucdesk_command_info *i = p->plugin->commands;
             i->name; i++)
            if (strcmp(i->name, name) == 0) {
                if (owner)
                    *owner = p;
                return i;
            }
    }
    return NULL;
}

void desk_plugin_help(struct desk *d, enum desk_place place, struct buf *out)
{
    for (struct desk_plugin_ref *p = d->plugins; p; p = p->next) {
        if (!p->feature || !p->plugin->commands || !p->plugin->command)
            continue;
        for (const struct mucdesk_command_info *i = p->plugin->commands;
             i->name; i++)
            if ((i->place == MUCDESK_IN_SESSION) == (place == DESK_IN_SESSION))
            {
                /* Plugins write "/rate": shown in the "!" form. */
                const char *u = i->usage ? i->usage : i->name;
                buf_printf(out, "\n!%s - %s", u[0] == '/' ? u + 1 : u,
                           i->description ? i->description : i->name);
            }
    }
}

int desk_plugin_command_run(struct desk_call *call, const char *name,
                            const char *args, struct xerr *err)
{
    struct desk_plugin_ref *p = NULL;
    const struct mucdesk_command_info *info =
        desk_plugin_command_find(call->desk, name, &p);
    if (!info)
        return 1; /* not a plugin's */
    enum desk_place place = info->place == MUCDESK_IN_SESSION
                                ? DESK_IN_SESSION
                                : DESK_IN_QUEUE;
    if (place != call->place) {
        xerr_set(err, XERR_BAD_REQUEST, "!%s works in %s rooms", name,
                 place == DESK_IN_QUEUE ? "queue" : "chat");
        return -1;
    }
    struct desk_queue *q = place == DESK_IN_SESSION
                               ? desk_queue_find(call->desk, call->chat->queue)
                               : call->queue;
    if (desk_authorize(call->desk, call->actor, DESK_ACT_SESSION, q, NULL,
                       err) < 0)
        return -1;
    struct mucdesk_command_call cc = {
        .name = info->name,
        .args = args,
        .queue = q ? q->name : "",
        .ticket = place == DESK_IN_SESSION ? call->chat->id : 0,
        .actor_jid = call->actor,
        .actor_nick = call->occ ? muc_occupant_nick(call->occ) : NULL,
    };
    int rc = p->plugin->command(p->state, &cc);
    if (rc != MUCDESK_COMMAND_DONE) {
        xerr_set(err, XERR_BAD_REQUEST, "%s",
                 cc.reply[0] ? cc.reply : "That failed");
        return -1;
    }
    buf_append_str(call->reply, cc.reply);
    return 0;
}

/* ---- messages --------------------------------------------------------------------- */

bool desk_plugin_message(struct desk_chat *c, struct muc_occupant *from,
                         const char *body)
{
    char bare[JID_TEXT_MAX + 1];
    muc_occupant_bare_jid(from, bare, sizeof bare);
    bool customer = !muc_occupant_privileged(from) &&
                    desk_chat_is_customer(c, bare);
    struct mucdesk_message m = {c->queue, c->id, bare,
                                muc_occupant_nick(from), customer, body};
    for (struct desk_plugin_ref *p = c->desk->plugins; p; p = p->next)
        if (p->feature && p->plugin->message &&
            p->plugin->message(p->state, &m) == MUCDESK_MESSAGE_CONSUMED)
            return true;
    return false;
}
