/* The deferred answers of commands that wait (commands.h's desk_later):
 * an ad-hoc command's deferred iq, or a notice to the caller in the room
 * where they typed the command, if they are still there. */
#include "build-config.h"

#include <stdlib.h>

#include "core/buf.h"
#include "core/jid.h"
#include "core/utf8.h"
#include "desk/chat.h"
#include "desk/commands.h"
#include "desk/queue.h"
#include "desk/state.h"
#include "muc/muc.h"
#include "xmpp/adhoc.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define BARE_MAX (JID_TEXT_MAX + 1)

struct desk_later {
    struct desk *desk;
    struct adhoc_reply *adhoc;    /* ad-hoc: the deferred iq */
    char room[64];                /* text: where the caller typed it */
    char actor[BARE_MAX];
};

struct desk_later *desk_call_defer(struct desk_call *call)
{
    struct desk_later *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->desk = call->desk;
    if (call->step) {
        l->adhoc = adhoc_defer(call->step);
        if (!l->adhoc) {
            free(l);
            return NULL;
        }
    } else {
        const char *room = call->place == DESK_IN_SESSION && call->chat
                               ? call->chat->room_name
                           : call->queue ? call->queue->name
                                         : "";
        utf8_snprintf(l->room, sizeof l->room, "%s", room);
        utf8_snprintf(l->actor, sizeof l->actor, "%s", call->actor);
    }
    call->deferred = true;
    return l;
}

void desk_later_cancel(struct desk_later *l)
{
    /* An ad-hoc reply still being deferred is freed by the framework when
     * the step returns -1. */
    free(l);
}

static void tell_later(struct desk_later *l, const char *text)
{
    struct muc_room *room = muc_room_find(l->desk->muc, l->room);
    struct muc_occupant *o = room ? muc_room_find_user(room, l->actor) : NULL;
    if (o)
        muc_room_tell(room, o, text);
}

void desk_later_reply(struct desk_later *l, const char *text)
{
    if (l->adhoc) {
        struct buf *b = adhoc_reply_payload(l->adhoc);
        if (text && *text) {
            buf_append_str(b, "<note type='info'>");
            xml_text(b, text);
            buf_append_str(b, "</note>");
        }
        adhoc_finish(l->adhoc);
    } else if (text && *text) {
        tell_later(l, text);
    }
    free(l);
}

void desk_later_fail(struct desk_later *l, const struct xerr *err)
{
    if (l->adhoc)
        adhoc_fail(l->adhoc, err);
    else
        tell_later(l, err->text[0] ? err->text : "That failed.");
    free(l);
}
