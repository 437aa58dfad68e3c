/* Pure parsing for the "tickets after the chat" commands (tickets.c,
 * mucdeskctl): the `field=value` words of the text commands, the `age`
 * filter, ticket numbers and statuses.  Unit-tested in
 * tests/unit/test_desk_ticket_args.c. */
#ifndef MUCDESK_DESK_TICKET_ARGS_H
#define MUCDESK_DESK_TICKET_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desk/ticketdb.h"

/* The next `field=value` of *args: field (lower-cased; letters, digits,
 * '-', '_'), value up to the next blank, or "quoted with blanks" (\" and
 * \\ inside quotes stand for " and \).  *args moves past it.  1: one read;
 * 0: nothing left; -1: not field=value (no '=', an empty or over-long
 * field, an unterminated quote, a value longer than vsize - 1: nothing is
 * silently cut); *args then points at the bad word. */
int desk_kv_next(const char **args, char *field, size_t fsize, char *value,
                 size_t vsize);

/* The `age` filter: "30m", "12h", "3d", "2w" (at most that old), or the
 * same after '>' (older than that).  0 with *seconds and *older, or -1. */
int desk_parse_age(const char *text, int64_t *seconds, bool *older);

/* A ticket number, "42" or "#42".  0 or -1. */
int desk_parse_ticket(const char *text, int64_t *id);

/* "queued", "InProgress"... as the upper-case name into out (size >= 11).
 * 0 or -1. */
int desk_parse_status(const char *text, char *out, size_t size);

/* An age as "45s", "12m", "3h", "5d" (the largest unit that fits). */
void desk_age_text(int64_t seconds, char *out, size_t size);

/* One field=value of ticket-update into *c: status (queued, inprogress,
 * resolved), owner (me, none or "-", a JID; me needs asker), queue,
 * priority (1-5), impact, ci, tags, solution ("-" clears them), note,
 * merge-into.  Strings kept in *c come from keep(ud, s) (a copy the
 * caller owns, or s itself if it lives long enough).  0; -1 with why
 * naming the field; -2 if keep failed. */
typedef const char *(*desk_keep_fn)(void *ud, const char *s);
int desk_ticket_change_set(struct desk_ticket_change *c, const char *asker,
                           const char *field, const char *value,
                           desk_keep_fn keep, void *ud, char *why,
                           size_t whylen);
/* "me", "none" (or "-"), "any", or a JID into out as a bare JID ("" for
 * none and any; *none, *any say which).  0 or -1. */
int desk_owner_arg(const char *asker, const char *v, char *out, size_t size,
                   bool *none, bool *any);

#endif
