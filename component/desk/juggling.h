/* Helping agents juggle several chats (juggling.c, issue 13): the answer
 * clock of each chat (how long its customer has waited for an answer),
 * the staff-only reminder past the queue's answer_reminder, `my-chats`
 * and `!chats` (my chats, the longest unanswered first), and the
 * supervisors' `board` and `!board`. */
#ifndef MUCDESK_DESK_JUGGLING_H
#define MUCDESK_DESK_JUGGLING_H

#include <stdint.h>

#include "xmpp/stanza.h"

struct adhoc_step;
struct buf;
struct desk;
struct desk_call;
struct desk_chat;
struct muc_occupant;

/* A message passed in the chat's room (typed, or a canned response or
 * article staff sent): staff writing answers the customer. */
void desk_chat_heard(struct desk_chat *c, const struct muc_occupant *from);
/* Seconds the customer has waited for an answer (0: nobody waits). */
int64_t desk_chat_unanswered_s(const struct desk_chat *c, int64_t now_us);
/* From the desk's tick: reminders that are due. */
void desk_remind_due(struct desk *d);

/* The text commands (commands.c's table). */
int desk_cmd_chats(struct desk_call *call, const char *args, struct xerr *err);
int desk_cmd_board(struct desk_call *call, const char *args, struct xerr *err);

/* The ad-hoc commands: my-chats (staff) and board (supervisors). */
int desk_adhoc_juggling_register(struct desk *d);

#endif
