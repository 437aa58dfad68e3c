#include "build-config.h"

#include "store/records.h"

#include <string.h>
#include <time.h>

#include "core/utf8.h"

#define NULL_LEN 0xffffffffu
/* Version 2 added message_id at the end; version 1 records (journals
 * written before it) still decode, without one. */
#define EVENT_VERSION 2
/* Version 2 added the follow-up fields at the end (a flag, then five
 * strings and merged_into); version 1 records decode without them
 * (followup_known false). */
#define TICKET_VERSION 2

static void put_u8(struct buf *b, uint8_t v)
{
    buf_append(b, &v, 1);
}

static void put_u32(struct buf *b, uint32_t v)
{
    uint8_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    buf_append(b, p, sizeof p);
}

static void put_i64(struct buf *b, int64_t sv)
{
    uint64_t v = (uint64_t)sv;
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    buf_append(b, p, sizeof p);
}

/* Text is journaled as PostgreSQL will take it: a record it refuses would
 * be a dead letter, a transcript line lost.  So ill-formed UTF-8 (a cut
 * that split a character, bytes from a file) becomes U+FFFD here, where
 * text enters the store; the check costs one pass, mostly eight ASCII
 * bytes at a time. */
static void put_str(struct buf *b, const char *s)
{
    if (!s) {
        put_u32(b, NULL_LEN);
        return;
    }
    size_t n = strlen(s);
    if (utf8_valid_len(s, n) == n) {
        put_u32(b, (uint32_t)n);
        buf_append(b, s, n + 1);
        return;
    }
    struct buf clean = BUF_INIT;
    utf8_sanitize(&clean, s, n);
    if (buf_failed(&clean)) {
        b->failed = true;
        return;
    }
    put_u32(b, (uint32_t)clean.len);
    buf_append(b, buf_cstr(&clean), clean.len + 1);
    buf_free(&clean);
}

struct reader {
    const uint8_t *p;
    size_t left;
    int failed;
};

static uint8_t get_u8(struct reader *r)
{
    if (r->left < 1) {
        r->failed = 1;
        return 0;
    }
    r->left--;
    return *r->p++;
}

static uint32_t get_u32(struct reader *r)
{
    if (r->left < 4) {
        r->failed = 1;
        return 0;
    }
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | r->p[i];
    r->p += 4;
    r->left -= 4;
    return v;
}

static int64_t get_i64(struct reader *r)
{
    if (r->left < 8) {
        r->failed = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | r->p[i];
    r->p += 8;
    r->left -= 8;
    return (int64_t)v;
}

static const char *get_str(struct reader *r)
{
    uint32_t n = get_u32(r);
    if (r->failed || n == NULL_LEN)
        return NULL;
    if ((size_t)n + 1 > r->left || r->p[n] != '\0' ||
        memchr(r->p, '\0', n) != NULL) {
        r->failed = 1;
        return NULL;
    }
    const char *s = (const char *)r->p;
    r->p += (size_t)n + 1;
    r->left -= (size_t)n + 1;
    return s;
}

void record_encode_event(struct buf *out, const struct archive_event *ev)
{
    put_u8(out, EVENT_VERSION);
    put_u8(out, (uint8_t)ev->kind);
    put_u8(out, ev->staff_only ? 1 : 0);
    put_i64(out, ev->ticket_id);
    put_i64(out, ev->at_us);
    put_str(out, ev->stanza_id);
    put_str(out, ev->room);
    put_str(out, ev->actor_jid);
    put_str(out, ev->actor_nick);
    put_str(out, ev->occupant_id);
    put_str(out, ev->body);
    put_str(out, ev->payload);
    put_str(out, ev->message_id);
}

int record_decode_event(const uint8_t *p, size_t len, struct archive_event *ev)
{
    struct reader r = {p, len, 0};
    memset(ev, 0, sizeof *ev);
    uint8_t version = get_u8(&r);
    if (version != 1 && version != EVENT_VERSION)
        return -1;
    uint8_t kind = get_u8(&r);
    uint8_t flags = get_u8(&r);
    ev->ticket_id = get_i64(&r);
    ev->at_us = get_i64(&r);
    ev->stanza_id = get_str(&r);
    ev->room = get_str(&r);
    ev->actor_jid = get_str(&r);
    ev->actor_nick = get_str(&r);
    ev->occupant_id = get_str(&r);
    ev->body = get_str(&r);
    ev->payload = get_str(&r);
    if (version >= 2)
        ev->message_id = get_str(&r);
    if (r.failed || r.left || kind > ARCHIVE_SUBJECT || flags > 1 ||
        !ev->stanza_id || !ev->room)
        return -1;
    ev->kind = (enum archive_kind)kind;
    ev->staff_only = flags & 1;
    return 0;
}

void record_encode_ticket(struct buf *out, const struct store_ticket *t)
{
    put_u8(out, TICKET_VERSION);
    put_u8(out, (uint8_t)t->status);
    put_u8(out, (uint8_t)t->priority);
    put_u8(out, (uint8_t)t->rating);
    put_i64(out, t->id);
    put_i64(out, t->created_us);
    put_i64(out, t->accepted_us);
    put_i64(out, t->ended_us);
    put_i64(out, t->chat_seconds);
    put_str(out, t->queue);
    put_str(out, t->subject);
    put_str(out, t->customer_jid);
    put_str(out, t->customer_name);
    put_str(out, t->customer_email);
    put_str(out, t->owner_jid);
    put_str(out, t->rating_comment);
    put_str(out, t->room);
    put_str(out, t->details);
    put_u8(out, t->has_token_hash ? 1 : 0);
    if (t->has_token_hash)
        buf_append(out, t->token_hash, sizeof t->token_hash);
    put_u8(out, t->followup_known ? 1 : 0);
    put_str(out, t->impact);
    put_str(out, t->ci);
    put_str(out, t->tags);
    put_str(out, t->solution);
    put_str(out, t->customer_phone);
    put_i64(out, t->merged_into);
}

int record_decode_ticket(const uint8_t *p, size_t len, struct store_ticket *t)
{
    struct reader r = {p, len, 0};
    memset(t, 0, sizeof *t);
    uint8_t version = get_u8(&r);
    if (version != 1 && version != TICKET_VERSION)
        return -1;
    uint8_t status = get_u8(&r);
    t->priority = get_u8(&r);
    t->rating = get_u8(&r);
    t->id = get_i64(&r);
    t->created_us = get_i64(&r);
    t->accepted_us = get_i64(&r);
    t->ended_us = get_i64(&r);
    int64_t secs = get_i64(&r);
    t->queue = get_str(&r);
    t->subject = get_str(&r);
    t->customer_jid = get_str(&r);
    t->customer_name = get_str(&r);
    t->customer_email = get_str(&r);
    t->owner_jid = get_str(&r);
    t->rating_comment = get_str(&r);
    t->room = get_str(&r);
    t->details = get_str(&r);
    t->has_token_hash = get_u8(&r) == 1;
    if (t->has_token_hash) {
        if (r.left < sizeof t->token_hash)
            return -1;
        memcpy(t->token_hash, r.p, sizeof t->token_hash);
        r.p += sizeof t->token_hash;
        r.left -= sizeof t->token_hash;
    }
    uint8_t known = 0;
    if (version >= 2) {
        known = get_u8(&r);
        t->impact = get_str(&r);
        t->ci = get_str(&r);
        t->tags = get_str(&r);
        t->solution = get_str(&r);
        t->customer_phone = get_str(&r);
        t->merged_into = get_i64(&r);
    }
    t->followup_known = known == 1;
    if (known > 1 || t->merged_into < 0 || r.failed || r.left || status > TICKET_RESOLVED || !t->queue ||
        secs < 0 || secs > INT32_MAX || t->id <= 0)
        return -1;
    t->status = (enum ticket_status)status;
    t->chat_seconds = (int)secs;
    return 0;
}

/* ---- kinds' names, and the clock records are stamped with ----------------- */

static const char *const kind_text[] = {
    [ARCHIVE_MESSAGE] = "message", [ARCHIVE_JOIN] = "join",
    [ARCHIVE_LEAVE] = "leave",     [ARCHIVE_STATUS] = "status",
    [ARCHIVE_NOTE] = "note",       [ARCHIVE_TRANSFER] = "transfer",
    [ARCHIVE_FILE] = "file",       [ARCHIVE_RATING] = "rating",
    [ARCHIVE_SYSTEM] = "system",   [ARCHIVE_SUBJECT] = "subject",
};

const char *archive_kind_name(enum archive_kind kind)
{
    if (kind == ARCHIVE_SUBJECT)
        return "system";
    return archive_kind_text(kind);
}

const char *archive_kind_text(enum archive_kind kind)
{
    if ((unsigned)kind > ARCHIVE_SUBJECT)
        return "system";
    return kind_text[kind];
}

int archive_kind_parse(const char *text, enum archive_kind *out)
{
    for (unsigned k = 0; k <= ARCHIVE_SUBJECT; k++)
        if (text && strcmp(text, kind_text[k]) == 0) {
            *out = (enum archive_kind)k;
            return 0;
        }
    return -1;
}

uint64_t archive_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
