/* The tail: the records not shipped yet, kept in memory (a ring, oldest
 * first) so that reads see them before PostgreSQL does.  XMPP thread. */
#include "build-config.h"

#include "store/tail.h"

#include <stdlib.h>
#include <string.h>

const struct tail_entry *tail_at(const struct tail *t, size_t i)
{
    return &t->v[(t->head + i) % t->cap];
}

uint64_t tail_first_seq(const struct tail *t)
{
    return t->count ? t->v[t->head].seq : 0;
}

int tail_push(struct tail *t, uint64_t seq, uint8_t type,
                     const void *payload, size_t len)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        struct tail_entry *v = malloc(cap * sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < t->count; i++)
            v[i] = *tail_at(t, i);
        free(t->v);
        t->v = v;
        t->cap = cap;
        t->head = 0;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    memcpy(copy, payload, len);
    t->v[(t->head + t->count) % t->cap] =
        (struct tail_entry){seq, type, (uint32_t)len, copy};
    t->count++;
    t->bytes += len + sizeof(struct tail_entry);
    return 0;
}

void tail_pop(struct tail *t)
{
    struct tail_entry *e = &t->v[t->head];
    t->bytes -= e->len + sizeof(struct tail_entry);
    free(e->payload);
    t->head = (t->head + 1) % t->cap;
    t->count--;
}

void tail_free(struct tail *t)
{
    while (t->count)
        tail_pop(t);
    free(t->v);
    memset(t, 0, sizeof *t);
}
