/* muc#owner (§10): creating plain rooms (admins only; instant or reserved),
 * the room configuration form, configuration changes and their
 * notifications, and destroying a room on its owner's request.  Rooms the
 * desk manages (those with hooks) are not configurable over XMPP: their
 * settings are policy. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jid.h"
#include "core/log.h"
#include "muc/fanout.h"
#include "muc/owner.h"
#include "muc/persist.h"
#include "muc/roles.h"
#include "muc/room.h"
#include "muc/send.h"
#include "xmpp/form.h"
#include "xmpp/xml.h"

#define LOG "muc"

/* ---- the form ------------------------------------------------------------------------- */

static const char *const whois_options[] = {
    "moderators", "Moderators only", "anyone", "Anyone", NULL};
static const char *const allowpm_options[] = {
    "anyone", "Anyone", "participants", "Anyone with voice",
    "moderators", "Moderators only", "none", "Nobody", NULL};
static const char *const maxusers_options[] = {
    "10", "10", "20", "20", "30", "30", "50", "50", "100", "100",
    "200", "200", NULL};

static const char *pm_value(enum muc_pm_policy p)
{
    switch (p) {
    case MUC_PM_ANYONE: return "anyone";
    case MUC_PM_PARTICIPANTS: return "participants";
    case MUC_PM_MODERATORS: return "moderators";
    default: return "none";
    }
}

static void write_form(struct buf *out, const struct muc_room *room)
{
    const struct muc_room_config *c = &room->cfg;
    char num[16];
    form_open(out, "form", NS_MUC_ROOMCONFIG, "Room configuration",
              "Configure the room; submit an empty form to accept the "
              "defaults.");
    form_add(out, "muc#roomconfig_roomname", "text-single", "Room name",
             c->title ? c->title : "");
    form_add(out, "muc#roomconfig_roomdesc", "text-single", "Description",
             c->description ? c->description : "");
    form_add_bool(out, "muc#roomconfig_persistentroom",
                  "Keep the room when it is empty", c->persistent);
    form_add_bool(out, "muc#roomconfig_publicroom",
                  "List the room in the directory", !c->hidden);
    form_add_bool(out, "muc#roomconfig_membersonly", "Members only",
                  c->members_only);
    form_add_bool(out, "muc#roomconfig_moderatedroom", "Moderated",
                  c->moderated);
    form_add_list(out, "muc#roomconfig_whois", "Who may see real JIDs",
                  c->semi_anonymous ? "moderators" : "anyone", whois_options);
    form_add_list(out, "muc#roomconfig_allowpm",
                  "Who may send private messages",
                  pm_value((enum muc_pm_policy)c->allow_pm), allowpm_options);
    form_add_bool(out, "muc#roomconfig_changesubject",
                  "Occupants may change the subject", c->change_subject);
    form_add_bool(out, "muc#roomconfig_allowinvites",
                  "Members may invite others", c->allow_invites);
    snprintf(num, sizeof num, "%d", muc_room_max_occupants(room));
    form_add_list(out, "muc#roomconfig_maxusers", "Maximum number of occupants",
                  num, maxusers_options);
    if (room->muc->archive.archive)
        form_add_bool(out, "muc#roomconfig_enablelogging",
                      "Archive messages (message archive, XEP-0313)",
                      c->archived);
    form_add_bool(out, "muc#roomconfig_passwordprotectedroom",
                  "Password protected", c->password != NULL);
    form_add(out, "muc#roomconfig_roomsecret", "text-private", "Password",
             c->password ? c->password : "");
    snprintf(num, sizeof num, "%d", muc_room_history_size(room));
    form_add(out, "muc#maxhistoryfetch", "text-single",
             "Messages sent as history on joining", num);
    form_close(out);
}

static int parse_bool_field(xmpp_stanza_t *form, const char *var, bool current,
                            bool *out, struct xerr *err)
{
    const char *v = form_value(form, var);
    *out = current;
    if (!v)
        return 0;
    if (form_parse_bool(v, out) < 0) {
        xerr_set(err, XERR_NOT_ACCEPTABLE, "%s must be true or false", var);
        return -1;
    }
    return 0;
}

static int parse_int_field(xmpp_stanza_t *form, const char *var, int current,
                           int min, int max, int *out, struct xerr *err)
{
    const char *v = form_value(form, var);
    *out = current;
    if (!v || !*v)
        return 0;
    if (strcmp(v, "none") == 0) {
        *out = 0;
        return 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < min || n > max) {
        xerr_set(err, XERR_NOT_ACCEPTABLE, "%s must be a number from %d to %d",
                 var, min, max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int set_string(char **dst, const char *v)
{
    if (!v)
        return 0;
    char *copy = v[0] ? strdup(v) : NULL;
    if (v[0] && !copy)
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

/* The room's yes/no settings of a submitted form.  0, or -1 with *err. */
static int read_flags(xmpp_stanza_t *form, struct muc_room_config *c,
                      struct xerr *err)
{
    bool b;
    if (parse_bool_field(form, "muc#roomconfig_persistentroom", c->persistent,
                         &b, err) < 0)
        return -1;
    c->persistent = b;
    if (parse_bool_field(form, "muc#roomconfig_publicroom", !c->hidden, &b,
                         err) < 0)
        return -1;
    c->hidden = !b;
    if (parse_bool_field(form, "muc#roomconfig_membersonly", c->members_only,
                         &b, err) < 0)
        return -1;
    c->members_only = b;
    if (parse_bool_field(form, "muc#roomconfig_moderatedroom", c->moderated,
                         &b, err) < 0)
        return -1;
    c->moderated = b;
    if (parse_bool_field(form, "muc#roomconfig_changesubject",
                         c->change_subject, &b, err) < 0)
        return -1;
    c->change_subject = b;
    if (parse_bool_field(form, "muc#roomconfig_allowinvites", c->allow_invites,
                         &b, err) < 0)
        return -1;
    c->allow_invites = b;
    if (parse_bool_field(form, "muc#roomconfig_enablelogging", c->archived, &b,
                         err) < 0)
        return -1;
    c->archived = b;
    return 0;
}

/* Who sees real JIDs, who may send private messages.  0, or -1 with *err. */
static int read_choices(xmpp_stanza_t *form, struct muc_room_config *c,
                        struct xerr *err)
{
    const char *whois = form_value(form, "muc#roomconfig_whois");
    if (whois) {
        if (strcmp(whois, "anyone") == 0)
            c->semi_anonymous = false;
        else if (strcmp(whois, "moderators") == 0)
            c->semi_anonymous = true;
        else {
            xerr_set(err, XERR_NOT_ACCEPTABLE,
                     "muc#roomconfig_whois must be moderators or anyone");
            return -1;
        }
    }
    const char *pm = form_value(form, "muc#roomconfig_allowpm");
    if (pm) {
        static const char *const names[] = {"anyone", "participants",
                                            "moderators", "none"};
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(pm, names[i]) == 0)
                found = i;
        if (found < 0) {
            xerr_set(err, XERR_NOT_ACCEPTABLE,
                     "muc#roomconfig_allowpm must be anyone, participants, "
                     "moderators or none");
            return -1;
        }
        c->allow_pm = (uint8_t)found;
    }
    return 0;
}

/* Password protection and the password.  0, or -1 with *err. */
static int read_password(xmpp_stanza_t *form, struct muc_room_config *c,
                         struct xerr *err)
{
    bool protect = c->password != NULL;
    if (parse_bool_field(form, "muc#roomconfig_passwordprotectedroom", protect,
                         &protect, err) < 0)
        return -1;
    const char *secret = form_value(form, "muc#roomconfig_roomsecret");
    if (protect) {
        if (secret && set_string(&c->password, secret) < 0) {
            xerr_set(err, XERR_INTERNAL_SERVER_ERROR, NULL);
            return -1;
        }
        if (!c->password) {
            xerr_set(err, XERR_NOT_ACCEPTABLE,
                     "A password-protected room needs a password");
            return -1;
        }
    } else {
        free(c->password);
        c->password = NULL;
    }
    return 0;
}

/* Reads a submitted form into a copy of the configuration; nothing is
 * applied unless all of it is acceptable. */
static int read_form(const struct muc_room *room, xmpp_stanza_t *form,
                     struct muc_room_config *c, struct xerr *err)
{
    const struct muc *muc = room->muc;
    int n;
    if (muc_room_config_copy(c, &room->cfg) < 0) {
        xerr_set(err, XERR_INTERNAL_SERVER_ERROR, NULL);
        return -1;
    }
    const char *ft = form_form_type(form);
    if (ft && strcmp(ft, NS_MUC_ROOMCONFIG) != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "This is not a room configuration");
        goto fail;
    }
    if (set_string(&c->title, form_value(form, "muc#roomconfig_roomname")) ||
        set_string(&c->description,
                   form_value(form, "muc#roomconfig_roomdesc"))) {
        xerr_set(err, XERR_INTERNAL_SERVER_ERROR, NULL);
        goto fail;
    }
    if (read_flags(form, c, err) < 0 || read_choices(form, c, err) < 0)
        goto fail;
    if (parse_int_field(form, "muc#roomconfig_maxusers", c->max_occupants, 1,
                        muc->cfg->muc.max_occupants, &n, err) < 0)
        goto fail;
    c->max_occupants = n;
    if (parse_int_field(form, "muc#maxhistoryfetch", c->history_size, 0,
                        muc->cfg->muc.history_max, &n, err) < 0)
        goto fail;
    c->history_size = n == 0 && form_value(form, "muc#maxhistoryfetch") ? -1
                                                                         : n;
    if (read_password(form, c, err) < 0)
        goto fail;
    return 0;
fail:
    muc_room_config_free(c);
    return -1;
}

static void notify_changes(struct muc_room *room,
                           const struct muc_room_config *old)
{
    const struct muc_room_config *c = &room->cfg;
    int codes[MUC_MAX_CODES] = {0};
    int n = 0;
    if (old->archived != c->archived)
        codes[n++] = c->archived ? 170 : 171;
    if (old->semi_anonymous != c->semi_anonymous)
        codes[n++] = c->semi_anonymous ? 173 : 172;
    if (n == 0)
        codes[n++] = 104;
    muc_status_message_broadcast(room, codes);
}

static int submit(struct muc_room *room, const struct stanza_in *in,
                  xmpp_stanza_t *form, struct xerr *err)
{
    struct muc_room_config c, old;
    if (strcmp(form_type(form), "cancel") == 0) {
        struct buf *out = router_out(room->muc->router);
        stanza_open_reply(out, in, "result");
        buf_append_str(out, "/>");
        if (room->locked) /* §10.1.3: cancelling creation destroys */
            muc_room_destroy(room, NULL, NULL);
        return 0;
    }
    if (strcmp(form_type(form), "submit") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "Submit the form or cancel it");
        return -1;
    }
    if (read_form(room, form, &c, err) < 0)
        return -1;
    old = room->cfg;
    room->cfg = c;
    muc_room_index_public(room);
    bool was_locked = room->locked;
    room->locked = false;

    struct buf *out = router_out(room->muc->router);
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "/>");

    if (!was_locked)
        notify_changes(room, &old);
    if (c.members_only && !old.members_only)
        muc_enforce_members_only(room);
    if (room->cfg.persistent)
        muc_persist_room(room);
    else if (room->stored)
        muc_persist_delete(room);
    log_info(LOG, "%s: configured by its owner", room->jid);
    muc_room_config_free(&old);
    if (!room->cfg.persistent && room->occupant_count == 0)
        muc_room_destroy(room, NULL, NULL);
    return 0;
}

int muc_iq_owner(void *ud, const struct stanza_in *in, xmpp_stanza_t *payload,
                 struct xerr *err)
{
    struct muc *muc = ud;
    struct muc_room *room = muc_room_addressed(muc, in, err);
    if (!room)
        return -1;
    char bare[JID_TEXT_MAX + 1];
    jid_bare_text(&in->from, bare, sizeof bare);
    if (muc_room_affiliation(room, bare) != MUC_AFFIL_OWNER) {
        xerr_set(err, XERR_FORBIDDEN, "Only the room's owners may do that");
        return -1;
    }
    if (room->hooks) {
        xerr_set(err, XERR_NOT_ALLOWED,
                 "This room is managed by the service and cannot be "
                 "reconfigured");
        return -1;
    }
    struct buf *out = router_out(muc->router);
    if (strcmp(in->type, "get") == 0) {
        stanza_open_reply(out, in, "result");
        buf_append_str(out, "><query xmlns='" NS_MUC_OWNER "'>");
        write_form(out, room);
        buf_append_str(out, "</query></iq>");
        return 0;
    }
    xmpp_stanza_t *destroy = stanza_child(payload, "destroy", NULL);
    if (destroy) {
        xmpp_stanza_t *reason = stanza_child(destroy, "reason", NULL);
        const char *alt = stanza_attr(destroy, "jid");
        muc_room_destroy(room, reason ? stanza_text(reason) : NULL, alt);
        stanza_open_reply(out, in, "result");
        buf_append_str(out, "/>");
        return 0;
    }
    xmpp_stanza_t *form = form_find(payload);
    if (!form) {
        xerr_set(err, XERR_BAD_REQUEST, "Expected a form or a destroy request");
        return -1;
    }
    return submit(room, in, form, err);
}
