/* Writing MUC stanzas into the link's output: occupant presence (with the
 * muc#user item, status codes, occupant-id and the observer marker),
 * errors from rooms, and the per-recipient loop of a fan-out.
 *
 * Presence goes out through muc_presence_broadcast(), which asks
 * visibility.c for every recipient; nothing else writes occupant presence
 * to other occupants. */
#ifndef MUCDESK_MUC_SEND_H
#define MUCDESK_MUC_SEND_H

#include <stdbool.h>

#include "muc/room.h"

#define MUC_MAX_CODES 6

/* What a presence says beyond the occupant's current state. */
struct muc_pres {
    const char *type;        /* NULL (available) or "unavailable" */
    const char *self_id;     /* id on the self-presence (the join's id) */
    const char *new_nick;    /* item nick (303) */
    const char *actor_nick;  /* item actor (307, 301) */
    const char *reason;      /* item reason */
    const char *status_text; /* unavailable: the leaver's <status/> */
    bool destroy;            /* a <destroy/> element */
    const char *destroy_jid;
    const char *destroy_reason;
    int codes[MUC_MAX_CODES];      /* to everyone; 0-terminated */
    int self_codes[MUC_MAX_CODES]; /* only to the subject (besides 110) */
};

/* Writes `subject`'s presence to one session of `viewer` (viewer may be the
 * subject: then 110 and the self codes are added).  The caller has decided
 * visibility; this decides the jid attribute. */
void muc_presence_write(struct buf *out, const struct muc_room *room,
                        const struct muc_occupant *subject,
                        const struct muc_occupant *viewer, const char *to_jid,
                        const struct muc_pres *p);

/* Writes `subject`'s presence to every session of every occupant allowed
 * to see it (visibility.c), the subject included unless skip_self. */
void muc_presence_broadcast(const struct muc_room *room,
                            const struct muc_occupant *subject,
                            const struct muc_pres *p, bool skip_self);

/* An error reply to `in`, from the address it was sent to, with by='room'
 * and, for presence, the muc <x/> (§7.2).  type NULL: the condition's
 * usual type. */
void muc_error_write(struct buf *out, const struct stanza_in *in,
                     const struct xerr *err, const char *by,
                     const char *type);

/* A groupchat message with a body from the room JID to every session of
 * one occupant (notices: never archived). */
void muc_notice_write(struct buf *out, const struct muc_room *room,
                      const struct muc_occupant *to, const char *text,
                      const char *extra_xml);

/* A room record told again to every session of one occupant, as history
 * replays it: from the room (its voice, for a privileged one), with the
 * record's stanza id and a delay of its time. */
void muc_record_again_write(struct buf *out, const struct muc_room *room,
                            const struct muc_occupant *to, const char *text,
                            const struct muc_said *said);

/* Appends an int as text. */
void muc_buf_int(struct buf *out, long long v);

#endif
