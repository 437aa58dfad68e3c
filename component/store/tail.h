/* The in-memory ring of unshipped records (tail.c). */
#ifndef MUCDESK_STORE_TAIL_H
#define MUCDESK_STORE_TAIL_H

#include <stddef.h>
#include <stdint.h>

/* One unshipped record kept in memory (payload owned). */
struct tail_entry {
    uint64_t seq;
    uint8_t type;
    uint32_t len;
    uint8_t *payload;
};

/* A ring of tail entries, oldest first. */
struct tail {
    struct tail_entry *v;
    size_t cap, head, count;
    size_t bytes;
};

const struct tail_entry *tail_at(const struct tail *t, size_t i);
uint64_t tail_first_seq(const struct tail *t); /* 0 if empty */
/* Appends a copy of the payload.  0 or -1 (out of memory: nothing kept). */
int tail_push(struct tail *t, uint64_t seq, uint8_t type, const void *payload,
              size_t len);
/* Drops the oldest entry (the tail must not be empty). */
void tail_pop(struct tail *t);
void tail_free(struct tail *t);

#endif
