/* Per-sender budgets: a bounded table of keys (a bare JID, or a domain),
 * each with a token bucket (events per window: tickets, ratings) and a
 * list of the things it holds at once (command sessions, archive queries,
 * chats nobody joined), capped.
 *
 * Outside input chooses the keys, so the table is bounded and cheap:
 *  - Keys are kept as 16 bytes of a salted SHA-256, not as text: an entry
 *    costs the same (about 130 bytes) whatever the JID's length, and
 *    nobody can aim a collision at another sender's budget.
 *  - At most max_entries entries.  Entries that hold nothing sit in a
 *    least-recently-used list; every call forgets up to two of them that
 *    have been idle for a whole window (their bucket is full again:
 *    forgetting them changes nothing).  A table that is full forgets its
 *    least recently used entry to make room (that sender starts afresh:
 *    the table errs on the side of letting people in).  Entries that hold
 *    something are never forgotten; a table full of them refuses a new
 *    key (BUDGET_FULL).  No call walks the table: O(1) each.
 *
 * Holders are embedded in the caller's objects (struct budget_holder);
 * the table links them per key, oldest first, so that a caller at the
 * cap may shed the oldest (budget_oldest) instead of refusing.
 *
 * Single-threaded (the XMPP thread), like everything that uses it. */
#ifndef MUCDESK_CORE_BUDGET_H
#define MUCDESK_CORE_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ratelimit.h"

struct budget;
struct budget_entry;

/* Embedded in an object that counts against a key.  Zeroed: not held. */
struct budget_holder {
    struct budget_entry *entry;       /* NULL: not held */
    struct budget_holder *prev, *next; /* the key's holders, oldest first */
};

enum budget_verdict {
    BUDGET_OK,
    BUDGET_EXCEEDED, /* the key's rate or cap is reached */
    BUDGET_FULL,     /* no room for another key (every entry holds something) */
};

/* A table: per_window events per window_ms for each key (per_window 0: no
 * rate), and at most max_held holders per key (0: no cap).  NULL if out of
 * memory.  Free with budget_free (holders still linked are unlinked:
 * their `entry` becomes NULL). */
struct budget *budget_new(uint32_t per_window, uint32_t window_ms,
                          uint32_t max_held, size_t max_entries);
void budget_free(struct budget *b);

/* Takes one event from key's bucket: BUDGET_OK, or BUDGET_EXCEEDED (nothing
 * taken), or BUDGET_FULL.  A table without a rate always says OK. */
enum budget_verdict budget_take(struct budget *b, const char *key,
                                uint64_t now_ms);
/* Gives one event back to key's bucket (a chat whose customer came: it
 * was no phantom), if the key is still known. */
void budget_give_back(struct budget *b, const char *key, uint64_t now_ms);

/* Links h (not held) to key: BUDGET_OK, or BUDGET_EXCEEDED if key holds
 * max_held already (h untouched), or BUDGET_FULL. */
enum budget_verdict budget_hold(struct budget *b, const char *key,
                                struct budget_holder *h, uint64_t now_ms);
/* Unlinks h; a holder not held is a no-op. */
void budget_release(struct budget *b, struct budget_holder *h,
                    uint64_t now_ms);
/* The oldest holder of key, or NULL. */
struct budget_holder *budget_oldest(struct budget *b, const char *key);
/* How many holders key has now. */
uint32_t budget_held(struct budget *b, const char *key);

/* Entries in the table (tests, the benchmark). */
size_t budget_entries(const struct budget *b);

/* The object holding h, from the holder's member name. */
#define BUDGET_OWNER(h, type, member)                                          \
    ((type *)(void *)((char *)(h) - offsetof(type, member)))

#endif
