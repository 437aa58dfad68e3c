#include "build-config.h"

#include "muc/history.h"

#include <stdlib.h>
#include <string.h>

#include "muc/room.h"

/* Record layout, packed (read and written with memcpy: no alignment):
 *   u32 size (whole record)  i64 at_us  u32 payload_len
 *   u8 nick_len  u8 stanza_id_len  u8 occupant_id_len  u8 flags
 *   u8 message_id_len
 *   nick  stanza_id  occupant_id  message_id  payload */
#define HDR 21
#define FLAG_STAFF_ONLY 1
#define FLAG_VOICED 2

static void put32(char *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void drop_front(struct muc_history *h, size_t bytes_needed,
                       unsigned count_needed)
{
    size_t off = 0;
    unsigned dropped = 0;
    while (off < h->len && (off < bytes_needed || dropped < count_needed)) {
        off += get32(h->data + off);
        dropped++;
    }
    memmove(h->data, h->data + off, h->len - off);
    h->len -= (uint32_t)off;
    h->count = (uint16_t)(h->count - dropped);
}

void muc_history_add(struct muc_history *h,
                     const struct muc_history_entry *e, unsigned max_count,
                     size_t max_bytes)
{
    if (max_count == 0 || e->nick_len > 255 || e->stanza_id_len > 255 ||
        e->occupant_id_len > 255)
        return;
    if (max_count > UINT16_MAX)
        max_count = UINT16_MAX;
    /* A sender's id longer than any client makes is not worth refusing
     * the message for: it is replayed without one. */
    size_t message_id_len = e->message_id_len > 255 ? 0 : e->message_id_len;
    size_t size = HDR + e->nick_len + e->stanza_id_len + e->occupant_id_len +
                  message_id_len + e->payload_len;
    if (size > max_bytes || size > UINT32_MAX)
        return;

    /* Make room.  When full, drop a quarter of the ring at once so that a
     * busy room moves its buffer only now and then. */
    if (h->len + size > max_bytes || h->count >= max_count) {
        size_t need_bytes = h->len + size > max_bytes
                                ? h->len + size - max_bytes + max_bytes / 4
                                : 0;
        unsigned need_count = h->count >= max_count
                                  ? h->count - max_count + 1 + max_count / 4
                                  : 0;
        drop_front(h, need_bytes, need_count);
    }
    if (h->len + size > h->cap) {
        size_t cap = h->cap ? h->cap : 256;
        while (cap < h->len + size)
            cap *= 2;
        if (cap > max_bytes)
            cap = max_bytes;
        char *p = realloc(h->data, cap);
        if (!p)
            return;
        h->data = p;
        h->cap = (uint32_t)cap;
    }
    char *r = h->data + h->len;
    put32(r, (uint32_t)size);
    memcpy(r + 4, &e->at_us, 8);
    put32(r + 12, (uint32_t)e->payload_len);
    r[16] = (char)e->nick_len;
    r[17] = (char)e->stanza_id_len;
    r[18] = (char)e->occupant_id_len;
    r[19] = (char)((e->staff_only ? FLAG_STAFF_ONLY : 0) |
                   (e->voiced ? FLAG_VOICED : 0));
    r[20] = (char)message_id_len;
    char *p = r + HDR;
    memcpy(p, e->nick, e->nick_len);
    p += e->nick_len;
    memcpy(p, e->stanza_id, e->stanza_id_len);
    p += e->stanza_id_len;
    memcpy(p, e->occupant_id, e->occupant_id_len);
    p += e->occupant_id_len;
    if (message_id_len)
        memcpy(p, e->message_id, message_id_len);
    p += message_id_len;
    memcpy(p, e->payload, e->payload_len);
    h->len += (uint32_t)size;
    h->count++;
}

bool muc_history_next(const struct muc_history *h, size_t *pos,
                      struct muc_history_entry *e)
{
    if (*pos >= h->len)
        return false;
    const char *r = h->data + *pos;
    memcpy(&e->at_us, r + 4, 8);
    e->payload_len = get32(r + 12);
    e->nick_len = (unsigned char)r[16];
    e->stanza_id_len = (unsigned char)r[17];
    e->occupant_id_len = (unsigned char)r[18];
    e->staff_only = (r[19] & FLAG_STAFF_ONLY) != 0;
    e->voiced = (r[19] & FLAG_VOICED) != 0;
    e->message_id_len = (unsigned char)r[20];
    const char *p = r + HDR;
    e->nick = p;
    p += e->nick_len;
    e->stanza_id = p;
    p += e->stanza_id_len;
    e->occupant_id = p;
    p += e->occupant_id_len;
    e->message_id = p;
    p += e->message_id_len;
    e->payload = p;
    *pos += get32(r);
    return true;
}

void muc_history_free(struct muc_history *h)
{
    free(h->data);
    h->data = NULL;
    h->len = h->cap = 0;
    h->count = 0;
}

size_t muc_history_bytes(const struct muc_history *h)
{
    return h->cap;
}
