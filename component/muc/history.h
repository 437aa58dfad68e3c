/* Recent room messages for discussion history on join (§7.2.15), kept in
 * one contiguous buffer per room, bounded both in count and in bytes: with
 * 100k rooms the ring is most of a room's memory.  Older messages are
 * served by MAM from the archive. */
#ifndef MUCDESK_MUC_HISTORY_H
#define MUCDESK_MUC_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct muc_history;

/* One message as stored.  Strings are not NUL-terminated: use the lengths.
 * payload is the message's children as XML (body and extensions, already
 * escaped), without the stanza-id and occupant-id, written on replay. */
struct muc_history_entry {
    int64_t at_us;
    const char *nick;        /* empty: from the room itself */
    size_t nick_len;
    const char *stanza_id;
    size_t stanza_id_len;
    const char *occupant_id; /* may be empty */
    size_t occupant_id_len;
    const char *message_id;  /* the sender's id attribute; may be empty */
    size_t message_id_len;
    const char *payload;
    size_t payload_len;
    bool staff_only;
    bool voiced;             /* the room's own words (nick empty): from its
                                service voice to privileged viewers */
};

/* Appends an entry, dropping the oldest ones to stay within max_count
 * entries and max_bytes bytes.  An entry larger than max_bytes alone is not
 * kept.  Never fails visibly: history is best effort. */
void muc_history_add(struct muc_history *h,
                     const struct muc_history_entry *e, unsigned max_count,
                     size_t max_bytes);
void muc_history_free(struct muc_history *h);

/* Iteration, oldest first: start with *pos = 0; returns false at the end. */
bool muc_history_next(const struct muc_history *h, size_t *pos,
                      struct muc_history_entry *e);

/* The bytes the ring holds (for memory accounting). */
size_t muc_history_bytes(const struct muc_history *h);

#endif
