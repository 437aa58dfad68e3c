/* Mail to customers (mail.c): transcripts and ticket replies. */
#ifndef MUCDESK_DESK_MAIL_H
#define MUCDESK_DESK_MAIL_H

struct desk;

int desk_mail_start(struct desk *d);
void desk_mail_free(struct desk *d);
/* A job was queued: look for it now rather than at the next poll. */
void desk_mail_poke(struct desk *d);
/* Subscribes to the chats' ends (events.h): the transcript mail, queued
 * if the queue or the customer wants it.  0 or -1. */
int desk_mail_subscribe(struct desk *d);

#endif
