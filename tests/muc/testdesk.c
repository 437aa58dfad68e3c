/* mucdesk-testdesk: the mucdesk daemon with a scripted stand-in for the
 * desk, so that tests/harness and tests/integration can reach the MUC's
 * interface for the layer above (muc.h) through XMPP: programmatic rooms,
 * privileged and invisible occupants, room posts, notices, invitations.
 * Test code only; never installed.
 *
 *   mucdesk-testdesk -c mucdesk.conf -d rooms.txt
 *
 * rooms.txt, one room per line (# comments):
 *   NAME [hidden] [members_only] [moderated] [persistent] [semi_anonymous]
 *        [pm_privileged_only] [archived] [ticket=N] [history=N] [max=N]
 *        [voice=NICK]          (muc_room_set_voice)
 *
 * Who is who, by the local part of the real JID:
 *   agent*, admin*   privileged (staff)
 *   super*           privileged, and joins invisibly (an observer)
 *   banned*          refused by pre_join (registration-required)
 *   anyone else      a customer
 * Everyone admitted gets the member affiliation.
 *
 * Commands, groupchat messages from privileged occupants (consumed; each
 * answers with a notice "ok ..." to the sender):
 *   /visible  /invisible          change one's own visibility
 *   /post TEXT  /note TEXT        room status message (/note: staff only)
 *   /tell TEXT                    a notice to oneself
 *   /subject TEXT                 set the subject from the room
 *   /invite JID REASON            a mediated invitation from the room
 *   /kick NICK                    kick an occupant
 *   /destroy REASON               destroy the room
 *   /unprivilege NICK             make an occupant non-privileged
 *   /voice NICK  /voice -         set or remove the room's service voice
 * A private message to the voice is run as such a command if it is one
 * (else refused: feature-not-implemented, "not a command").
 * A message to the room from someone not in it is answered by an
 * invitation whose reason quotes it.  Declines are posted as staff-only
 * status messages.  Privileged occupants may invite staff (mediated
 * invitations); nobody else may invite.  Joins and leaves are logged ("testdesk: ..."). */
#include "build-config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "muc/muc.h"
#include "service.h"

#define LOG "testdesk"

static bool prefixed(const char *bare, const char *prefix)
{
    return strncmp(bare, prefix, strlen(prefix)) == 0;
}

static bool is_staff(const char *bare)
{
    return prefixed(bare, "agent") || prefixed(bare, "admin") ||
           prefixed(bare, "super");
}

static enum muc_join_verdict pre_join(void *ud, struct muc_room *room,
                                      struct muc_join *j, struct xerr *err)
{
    (void)ud;
    (void)room;
    if (prefixed(j->bare_jid, "banned")) {
        xerr_set(err, XERR_REGISTRATION_REQUIRED,
                 "You are not expected in this room");
        return MUC_JOIN_DENY;
    }
    j->privileged = is_staff(j->bare_jid);
    j->invisible = prefixed(j->bare_jid, "super");
    if (j->affiliation < MUC_AFFIL_MEMBER)
        j->affiliation = MUC_AFFIL_MEMBER;
    return MUC_JOIN_ALLOW;
}

static void joined(void *ud, struct muc_room *room, struct muc_occupant *occ)
{
    (void)ud;
    log_info(LOG, "%s joined %s%s", muc_occupant_nick(occ), muc_room_name(room),
             muc_occupant_invisible(occ) ? " (invisible)" : "");
}

static void left(void *ud, struct muc_room *room,
                 const struct muc_occupant *occ, enum muc_leave_reason why)
{
    (void)ud;
    log_info(LOG, "%s left %s (reason %d)", muc_occupant_nick(occ),
             muc_room_name(room), (int)why);
}

static void presence_changed(void *ud, struct muc_room *room,
                             struct muc_occupant *occ)
{
    (void)ud;
    log_info(LOG, "%s in %s is now '%s'", muc_occupant_nick(occ),
             muc_room_name(room), muc_show_name(muc_occupant_show(occ)));
}

static enum muc_message_verdict message(void *ud, struct muc_room *room,
                                        struct muc_occupant *from,
                                        const char *body,
                                        const struct stanza_in *in)
{
    (void)ud;
    (void)in;
    if (body[0] != '/' || !muc_occupant_privileged(from))
        return MUC_MESSAGE_PASS;
    char cmd[32] = "";
    const char *arg = strchr(body, ' ');
    size_t n = arg ? (size_t)(arg - body) : strlen(body);
    snprintf(cmd, sizeof cmd, "%.*s", (int)n, body);
    arg = arg ? arg + 1 : "";
    char reply[512];
    snprintf(reply, sizeof reply, "ok %s", cmd);

    if (strcmp(cmd, "/visible") == 0 || strcmp(cmd, "/invisible") == 0) {
        muc_room_tell(room, from, reply);
        muc_occupant_set_invisible(from, strcmp(cmd, "/invisible") == 0);
    } else if (strcmp(cmd, "/post") == 0 || strcmp(cmd, "/note") == 0) {
        muc_room_tell(room, from, reply);
        muc_room_post(room, arg, strcmp(cmd, "/note") == 0);
    } else if (strcmp(cmd, "/tell") == 0) {
        muc_room_tell(room, from, arg);
    } else if (strcmp(cmd, "/subject") == 0) {
        muc_room_tell(room, from, reply);
        muc_room_set_subject(room, arg);
    } else if (strcmp(cmd, "/invite") == 0) {
        char jid[256];
        const char *reason = strchr(arg, ' ');
        snprintf(jid, sizeof jid, "%.*s",
                 (int)(reason ? (size_t)(reason - arg) : strlen(arg)), arg);
        muc_room_tell(room, from, reply);
        muc_room_invite(room, jid, reason ? reason + 1 : NULL);
    } else if (strcmp(cmd, "/kick") == 0) {
        struct muc_occupant *o = muc_room_find_occupant(room, arg);
        muc_room_tell(room, from, o ? reply : "no such nick");
        if (o)
            muc_occupant_kick(o, "kicked by the desk");
    } else if (strcmp(cmd, "/unprivilege") == 0) {
        struct muc_occupant *o = muc_room_find_occupant(room, arg);
        muc_room_tell(room, from, o ? reply : "no such nick");
        if (o)
            muc_occupant_set_privileged(o, false);
    } else if (strcmp(cmd, "/voice") == 0) {
        int rc = muc_room_set_voice(room, strcmp(arg, "-") == 0 ? NULL : arg);
        muc_room_tell(room, from, rc < 0 ? "no voice" : reply);
    } else if (strcmp(cmd, "/destroy") == 0) {
        muc_room_tell(room, from, reply);
        muc_room_destroy(room, arg[0] ? arg : NULL, NULL);
    } else {
        muc_room_tell(room, from, "unknown command");
    }
    return MUC_MESSAGE_CONSUMED;
}

static int voice_message(void *ud, struct muc_room *room,
                         struct muc_occupant *from, const char *body,
                         const struct stanza_in *in, struct xerr *err)
{
    if (body[0] != '/') {
        xerr_set(err, XERR_FEATURE_NOT_IMPLEMENTED, "not a command");
        return -1;
    }
    message(ud, room, from, body, in);
    return 0;
}

static void outsider_message(void *ud, struct muc_room *room,
                             const struct stanza_in *in, const char *body)
{
    (void)ud;
    char reason[300];
    snprintf(reason, sizeof reason, "You wrote: %.200s", body ? body : "");
    muc_room_invite(room, in->from_text, reason);
}

static void invite_declined(void *ud, struct muc_room *room,
                            const char *from_jid, const char *reason)
{
    (void)ud;
    char text[300];
    snprintf(text, sizeof text, "declined by %.100s: %.100s", from_jid,
             reason ? reason : "");
    muc_room_post(room, text, true);
}

/* Staff may invite staff. */
static bool may_invite(void *ud, struct muc_room *room,
                       const struct muc_occupant *inviter,
                       const char *invitee_bare)
{
    (void)ud;
    (void)room;
    return muc_occupant_privileged(inviter) && is_staff(invitee_bare);
}

static bool is_privileged(void *ud, struct muc_room *room, const char *bare)
{
    (void)ud;
    (void)room;
    return is_staff(bare);
}

static bool privileged_somewhere(void *ud, const char *bare)
{
    (void)ud;
    return is_staff(bare);
}

static void destroyed(void *ud, struct muc_room *room)
{
    (void)ud;
    log_info(LOG, "%s destroyed", muc_room_name(room));
}

static const struct muc_room_hooks hooks = {
    .pre_join = pre_join,
    .joined = joined,
    .left = left,
    .presence_changed = presence_changed,
    .message = message,
    .voice_message = voice_message,
    .outsider_message = outsider_message,
    .may_invite = may_invite,
    .invite_declined = invite_declined,
    .is_privileged = is_privileged,
    .destroyed = destroyed,
};

static int create_rooms(struct muc *muc, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "testdesk: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *name = strtok_r(line, " \t\r\n", &save);
        if (!name || name[0] == '#')
            continue;
        struct muc_room_options o = {0};
        const char *voice = NULL;
        for (char *w = strtok_r(NULL, " \t\r\n", &save); w;
             w = strtok_r(NULL, " \t\r\n", &save)) {
            if (strcmp(w, "hidden") == 0) o.hidden = true;
            else if (strcmp(w, "members_only") == 0) o.members_only = true;
            else if (strcmp(w, "moderated") == 0) o.moderated = true;
            else if (strcmp(w, "persistent") == 0) o.persistent = true;
            else if (strcmp(w, "semi_anonymous") == 0) o.semi_anonymous = true;
            else if (strcmp(w, "pm_privileged_only") == 0) o.pm_privileged_only = true;
            else if (strcmp(w, "archived") == 0) o.archived = true;
            else if (strncmp(w, "ticket=", 7) == 0) o.ticket_id = atoll(w + 7);
            else if (strncmp(w, "history=", 8) == 0) o.history_size = atoi(w + 8);
            else if (strncmp(w, "max=", 4) == 0) o.max_occupants = atoi(w + 4);
            else if (strncmp(w, "voice=", 6) == 0) voice = w + 6;
            else {
                fprintf(stderr, "testdesk: unknown room option %s\n", w);
                fclose(f);
                return -1;
            }
        }
        struct muc_room *room = muc_room_create(muc, name, &o, &hooks, NULL);
        if (!room || (voice && muc_room_set_voice(room, voice) < 0)) {
            fprintf(stderr, "testdesk: cannot create room %s\n", name);
            fclose(f);
            return -1;
        }
        log_info(LOG, "room %s created", name);
    }
    fclose(f);
    return 0;
}

static void on_signal(void *ud, int fd, uint32_t events)
{
    struct signalfd_siginfo info;
    (void)events;
    while (read(fd, &info, sizeof info) == (ssize_t)sizeof info)
        loop_stop(ud);
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *desk_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "c:d:")) != -1) {
        if (opt == 'c')
            config_path = optarg;
        else if (opt == 'd')
            desk_path = optarg;
        else
            return 2;
    }
    if (!config_path) {
        fprintf(stderr, "usage: mucdesk-testdesk -c CONFIG [-d ROOMS]\n");
        return 2;
    }
    struct config cfg;
    struct config_error cerr;
    if (config_load(config_path, &cfg, &cerr) < 0) {
        fprintf(stderr, "%s\n", cerr.text);
        return 2;
    }
    log_setup(cfg.log.level, false, cfg.log.file);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

    int status = 1;
    struct loop *loop = loop_new();
    struct service *svc = service_new(loop, &cfg, SERVICE_NO_DESK);
    if (!svc || sfd < 0)
        goto out;
    if (desk_path && create_rooms(service_muc(svc), desk_path) < 0)
        goto out;
    /* As the desk does: only staff may be privileged somewhere, so the
     * room list of anyone else comes from the index of public rooms. */
    const struct muc_room_disco rd = {.privileged_somewhere =
                                          privileged_somewhere};
    muc_set_room_disco(service_muc(svc), &rd);
    if (loop_io_add(loop, sfd, EPOLLIN, on_signal, loop) < 0)
        goto out;
    if (service_start(svc) < 0)
        goto out;
    loop_run(loop);
    service_stop(svc);
    status = 0;
out:
    service_free(svc);
    if (sfd >= 0)
        close(sfd);
    loop_free(loop);
    config_free(&cfg);
    log_shutdown();
    return status;
}
