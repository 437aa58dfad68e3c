/* Per-sender budgets (budget.h): a uthash table of digests, an LRU list of
 * the entries that hold nothing, and per entry a token bucket and a list of
 * holders. */
#include "build-config.h"

#include "core/budget.h"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define DIGEST_SIZE 16
#define SALT_SIZE 16
/* Idle entries forgotten per call: more than one, so that the list shrinks
 * faster than a steady stream of new keys can grow it. */
#define EXPIRE_PER_CALL 2

struct budget_entry {
    uint8_t key[DIGEST_SIZE];
    struct rate_bucket bucket;
    uint32_t held;
    uint64_t last_ms;
    struct budget_holder *oldest, *newest;
    struct budget_entry *lru_prev, *lru_next; /* only while held == 0 */
    UT_hash_handle hh;
};

struct budget {
    struct budget_entry *entries;
    struct budget_entry *lru_head, *lru_tail; /* least recently used first */
    size_t count, max_entries;
    uint32_t per_window, window_ms, max_held;
    uint8_t salt[SALT_SIZE];
};

struct budget *budget_new(uint32_t per_window, uint32_t window_ms,
                          uint32_t max_held, size_t max_entries)
{
    struct budget *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    if (RAND_bytes(b->salt, sizeof b->salt) != 1) {
        free(b);
        return NULL;
    }
    b->per_window = per_window;
    b->window_ms = window_ms;
    b->max_held = max_held;
    b->max_entries = max_entries ? max_entries : 1;
    return b;
}

static void lru_unlink(struct budget *b, struct budget_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else if (b->lru_head == e)
        b->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else if (b->lru_tail == e)
        b->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_append(struct budget *b, struct budget_entry *e)
{
    e->lru_prev = b->lru_tail;
    e->lru_next = NULL;
    if (b->lru_tail)
        b->lru_tail->lru_next = e;
    else
        b->lru_head = e;
    b->lru_tail = e;
}

static void entry_free(struct budget *b, struct budget_entry *e)
{
    for (struct budget_holder *h = e->oldest; h; h = h->next)
        h->entry = NULL;
    if (e->held == 0)
        lru_unlink(b, e);
    HASH_DEL(b->entries, e);
    b->count--;
    free(e);
}

void budget_free(struct budget *b)
{
    if (!b)
        return;
    struct budget_entry *e, *tmp;
    HASH_ITER(hh, b->entries, e, tmp) {
        entry_free(b, e);
    }
    free(b);
}

static void digest(const struct budget *b, const char *key,
                   uint8_t out[DIGEST_SIZE])
{
    /* SHA-256(salt || key); a JID is at most 3071 bytes. */
    unsigned char buf[SALT_SIZE + 3072];
    size_t n = strlen(key);
    if (n > sizeof buf - SALT_SIZE)
        n = sizeof buf - SALT_SIZE;
    memcpy(buf, b->salt, SALT_SIZE);
    memcpy(buf + SALT_SIZE, key, n);
    unsigned char full[SHA256_DIGEST_LENGTH];
    SHA256(buf, SALT_SIZE + n, full);
    memcpy(out, full, DIGEST_SIZE);
}

/* An entry that holds nothing can be forgotten once its bucket is full
 * again (a whole window idle); without a rate, at once. */
static bool forgettable(const struct budget *b, const struct budget_entry *e,
                        uint64_t now)
{
    return e->held == 0 &&
           (b->per_window == 0 || now - e->last_ms >= b->window_ms);
}

static void expire(struct budget *b, uint64_t now)
{
    for (int i = 0; i < EXPIRE_PER_CALL && b->lru_head &&
                    forgettable(b, b->lru_head, now);
         i++)
        entry_free(b, b->lru_head);
}

static struct budget_entry *find(struct budget *b, const char *key)
{
    uint8_t k[DIGEST_SIZE];
    digest(b, key, k);
    struct budget_entry *e = NULL;
    HASH_FIND(hh, b->entries, k, DIGEST_SIZE, e);
    return e;
}

static void touch(struct budget *b, struct budget_entry *e, uint64_t now)
{
    e->last_ms = now;
    if (e->held == 0 && b->lru_tail != e) {
        lru_unlink(b, e);
        lru_append(b, e);
    }
}

/* The key's entry, made if need be: NULL when the table is full of
 * entries that hold something (or out of memory). */
static struct budget_entry *get(struct budget *b, const char *key,
                                uint64_t now)
{
    expire(b, now);
    uint8_t k[DIGEST_SIZE];
    digest(b, key, k);
    struct budget_entry *e = NULL;
    HASH_FIND(hh, b->entries, k, DIGEST_SIZE, e);
    if (e) {
        touch(b, e, now);
        return e;
    }
    if (b->count >= b->max_entries) {
        if (!b->lru_head)
            return NULL;
        entry_free(b, b->lru_head); /* lenient: that sender starts afresh */
    }
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    memcpy(e->key, k, DIGEST_SIZE);
    e->last_ms = now;
    HASH_ADD(hh, b->entries, key, DIGEST_SIZE, e);
    b->count++;
    lru_append(b, e);
    return e;
}

enum budget_verdict budget_take(struct budget *b, const char *key,
                                uint64_t now_ms)
{
    if (b->per_window == 0)
        return BUDGET_OK;
    struct budget_entry *e = get(b, key, now_ms);
    if (!e)
        return BUDGET_FULL;
    return rate_bucket_take(&e->bucket, b->per_window, b->window_ms,
                            (uint32_t)now_ms)
               ? BUDGET_OK
               : BUDGET_EXCEEDED;
}

void budget_give_back(struct budget *b, const char *key, uint64_t now_ms)
{
    if (b->per_window == 0)
        return;
    struct budget_entry *e = find(b, key);
    if (!e)
        return; /* forgotten: its bucket is full anyway */
    touch(b, e, now_ms);
    rate_bucket_give(&e->bucket, b->per_window);
}

enum budget_verdict budget_hold(struct budget *b, const char *key,
                                struct budget_holder *h, uint64_t now_ms)
{
    struct budget_entry *e = get(b, key, now_ms);
    if (!e)
        return BUDGET_FULL;
    if (b->max_held && e->held >= b->max_held)
        return BUDGET_EXCEEDED;
    if (e->held == 0)
        lru_unlink(b, e);
    e->held++;
    h->entry = e;
    h->next = NULL;
    h->prev = e->newest;
    if (e->newest)
        e->newest->next = h;
    else
        e->oldest = h;
    e->newest = h;
    return BUDGET_OK;
}

void budget_release(struct budget *b, struct budget_holder *h,
                    uint64_t now_ms)
{
    struct budget_entry *e = h->entry;
    if (!e)
        return;
    if (h->prev)
        h->prev->next = h->next;
    else
        e->oldest = h->next;
    if (h->next)
        h->next->prev = h->prev;
    else
        e->newest = h->prev;
    h->entry = NULL;
    h->prev = h->next = NULL;
    e->last_ms = now_ms;
    if (--e->held == 0) {
        if (b->per_window == 0) {
            HASH_DEL(b->entries, e);
            b->count--;
            free(e);
            return;
        }
        lru_append(b, e);
    }
}

struct budget_holder *budget_oldest(struct budget *b, const char *key)
{
    struct budget_entry *e = find(b, key);
    return e ? e->oldest : NULL;
}

uint32_t budget_held(struct budget *b, const char *key)
{
    struct budget_entry *e = find(b, key);
    return e ? e->held : 0;
}

size_t budget_entries(const struct budget *b)
{
    return b->count;
}
