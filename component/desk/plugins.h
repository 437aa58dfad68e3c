/* Plugins (plugins.c): loading, the host services, events, commands and
 * messages (component/plugin.h is the ABI). */
#ifndef MUCDESK_DESK_PLUGINS_H
#define MUCDESK_DESK_PLUGINS_H

#include <stdbool.h>

#include "desk/commands.h"
#include "plugin.h"

struct buf;
struct desk;
struct desk_chat;
struct muc_occupant;

/* A loaded plugin (one per name, shared by the queues using it). */
struct desk_plugin_ref {
    char *name;
    void *handle;                 /* dlopen */
    const struct mucdesk_plugin *plugin;
    void *state;
    bool feature;                 /* from [desk] plugins: hears everything */
    struct desk_plugin_ref *next;
};

/* Loads (once) and attaches plugin `name`; NULL if it cannot (logged). */
struct desk_plugin_ref *desk_plugin_load(struct desk *d, const char *name);
/* The host services and the feature plugins of [desk] plugins. */
int desk_plugins_start(struct desk *d);
void desk_plugins_free(struct desk *d);
/* Subscribes the plugins' `event` hook to the desk's events.  0 or -1. */
int desk_plugins_subscribe(struct desk *d);
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

#endif
