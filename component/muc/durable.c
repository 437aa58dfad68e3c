/* Durable before shown: the FIFO that holds room messages until the
 * archive says they are durable, so that nothing anyone saw can be lost in
 * a crash; then they go to the fan-out, in order. */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "muc/archiving.h"
#include "muc/durable.h"
#include "muc/fanout.h"
#include "muc/room.h"

struct muc_held {
    struct muc_held *next;
    uint64_t seq;
    struct muc_msg msg; /* strings point into data */
    char data[];
};

static struct muc_held *hold(const struct muc_msg *m, uint64_t seq)
{
    size_t nick = m->nick ? strlen(m->nick) + 1 : 0;
    size_t id = m->id ? strlen(m->id) + 1 : 0;
    size_t oid = m->occupant_id ? strlen(m->occupant_id) + 1 : 0;
    struct muc_held *h = malloc(sizeof *h + nick + id + oid + m->payload_len + 1);
    if (!h)
        return NULL;
    h->next = NULL;
    h->seq = seq;
    h->msg = *m;
    char *p = h->data;
    if (nick) {
        memcpy(p, m->nick, nick);
        h->msg.nick = p;
        p += nick;
    }
    if (id) {
        memcpy(p, m->id, id);
        h->msg.id = p;
        p += id;
    }
    if (oid) {
        memcpy(p, m->occupant_id, oid);
        h->msg.occupant_id = p;
        p += oid;
    }
    memcpy(p, m->payload, m->payload_len);
    p[m->payload_len] = '\0';
    h->msg.payload = p;
    return h;
}

static void release_durable(struct muc *muc, uint64_t durable)
{
    while (muc->held_head && muc->held_head->seq <= durable) {
        struct muc_held *h = muc->held_head;
        muc->held_head = h->next;
        if (!muc->held_head)
            muc->held_tail = NULL;
        if (h->msg.room) {
            h->msg.room->held--;
            muc_msg_fanout(&h->msg);
        }
        free(h);
    }
}

static void on_durable(void *ud, uint64_t seq)
{
    release_durable(ud, seq);
}

int muc_msg_release(struct muc_msg *msg, uint64_t seq)
{
    struct muc *muc = msg->room->muc;
    if (seq == 0 || !muc_archiving(msg->room)) {
        muc_msg_fanout(msg);
        return 0;
    }
    uint64_t durable = muc->archive.durable(muc->archive.archive);
    if (!muc->held_head && durable >= seq) {
        muc_msg_fanout(msg); /* async mode, or already fsynced */
        return 0;
    }
    struct muc_held *h = hold(msg, seq);
    if (!h)
        return -1;
    msg->room->held++;
    if (muc->held_tail)
        muc->held_tail->next = h;
    else
        muc->held_head = h;
    muc->held_tail = h;
    release_durable(muc, durable);
    return 0;
}

void muc_held_drop_room(struct muc *muc, struct muc_room *room)
{
    if (!room->held)
        return;
    for (struct muc_held *h = muc->held_head; h; h = h->next)
        if (h->msg.room == room)
            h->msg.room = NULL; /* archived, but nobody left to show it to */
    room->held = 0;
}

void muc_archiving_start(struct muc *muc)
{
    if (muc->archive.archive && muc->archive.on_durable)
        muc->archive.on_durable(muc->archive.archive, on_durable, muc);
}

void muc_held_free_all(struct muc *muc)
{
    while (muc->held_head) {
        struct muc_held *h = muc->held_head;
        muc->held_head = h->next;
        free(h);
    }
    muc->held_tail = NULL;
}
