/* COPY text for PostgreSQL: the escaping of values, timestamps, and the
 * two tables archive events are shipped into.  Each table's columns are
 * one list (name, SQL type, which field of the event) from which both the
 * statements (COPY, the staging table, the INSERT from it) and the row
 * encoder are made: a column cannot be in one and not the other. */
#include "build-config.h"

#include "store/copy_rows.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/utf8.h"
#include "store/records.h"


void pgtext_copy_str(struct buf *b, const char *s)
{
    if (!s) {
        buf_append(b, "\\N", 2);
        return;
    }
    /* records.c journals valid UTF-8 only; a record from an older journal
     * may not be, and COPY would refuse the whole batch (22021). */
    size_t n = strlen(s);
    if (utf8_valid_len(s, n) != n) {
        struct buf clean = BUF_INIT;
        utf8_sanitize(&clean, s, n);
        if (buf_failed(&clean))
            b->failed = true;
        else
            pgtext_copy_str(b, buf_cstr(&clean));
        buf_free(&clean);
        return;
    }
    for (;;) {
        size_t run = strcspn(s, "\\\n\r\t");
        buf_append(b, s, run);
        s += run;
        if (!*s)
            return;
        char esc[2] = {'\\', *s == '\\' ? '\\' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : 't'};
        buf_append(b, esc, 2);
        s++;
    }
}

static void digits(char *out, unsigned v, int n)
{
    while (n--) {
        out[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* "YYYY-MM-DD HH:MM:SS.uuuuuu+00".  The part up to the second changes once
 * a second: it is kept per thread (formatting it with gmtime_r and
 * snprintf was a third of archiving's cost per message). */
void pgtext_timestamp(char out[64], int64_t us)
{
    static _Thread_local int64_t cached_secs = INT64_MIN;
    static _Thread_local char cached[48];
    if (!us) {
        out[0] = '\0';
        return;
    }
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    if (secs != cached_secs) {
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(cached, sizeof cached, "%04d-%02d-%02d %02d:%02d:%02d",
                 (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
                 tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
                 tm.tm_sec % 100);
        cached_secs = secs;
    }
    memcpy(out, cached, 19);
    out[19] = '.';
    digits(out + 20, (unsigned)frac, 6);
    memcpy(out + 26, "+00", 4);
}

int64_t pgtext_parse_us(const char *text)
{
    return text ? strtoll(text, NULL, 10) : 0;
}

/* ---- the tables ----------------------------------------------------------------- */

enum copy_value {
    COPY_TICKET_ID, /* ev->ticket_id */
    COPY_AT,        /* ev->at_us, or now */
    COPY_KIND_NAME, /* archive_kind_name(): "subject" stored as "system" */
    COPY_KIND_TEXT, /* archive_kind_text() */
    COPY_STAFF,     /* ev->staff_only, "t" or "f" */
    COPY_STR,       /* the const char * at `off` in the event (NULL: \N) */
};

struct copy_col {
    const char *name;
    const char *type; /* for the staging table */
    enum copy_value value;
    size_t off;
};

#define STR(field) "text", COPY_STR, offsetof(struct archive_event, field)

static const struct copy_col ticket_event_cols[] = {
    {"ticket_id", "bigint", COPY_TICKET_ID, 0},
    {"at", "timestamptz", COPY_AT, 0},
    {"kind", "text", COPY_KIND_NAME, 0},
    {"actor_jid", STR(actor_jid)},
    {"actor_nick", STR(actor_nick)},
    {"body", STR(body)},
    {"stanza_id", STR(stanza_id)},
    {"staff_only", "boolean", COPY_STAFF, 0},
    {"occupant_id", STR(occupant_id)},
    {"payload", STR(payload)},
    {"mam_kind", "text", COPY_KIND_TEXT, 0},
    {"message_id", STR(message_id)},
};

static const struct copy_col room_event_cols[] = {
    {"room", STR(room)},
    {"stanza_id", STR(stanza_id)},
    {"at", "timestamptz", COPY_AT, 0},
    {"kind", "text", COPY_KIND_TEXT, 0},
    {"nick", STR(actor_nick)},
    {"actor_jid", STR(actor_jid)},
    {"occupant_id", STR(occupant_id)},
    {"body", STR(body)},
    {"payload", STR(payload)},
    {"staff_only", "boolean", COPY_STAFF, 0},
    {"message_id", STR(message_id)},
};

struct copy_table {
    const char *table;
    const char *stage; /* the temporary staging table */
    const struct copy_col *cols;
    size_t n;
};

const struct copy_table copy_ticket_events = {
    "ticket_events", "md_stage_events", ticket_event_cols,
    sizeof ticket_event_cols / sizeof ticket_event_cols[0]};
const struct copy_table copy_room_events = {
    "muc_archive", "md_stage_rooms", room_event_cols,
    sizeof room_event_cols / sizeof room_event_cols[0]};

/* ---- statements ------------------------------------------------------------- */

static void col_list(struct buf *b, const struct copy_table *t, bool types)
{
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            buf_append_str(b, ", ");
        buf_append_str(b, t->cols[i].name);
        if (types) {
            buf_append_char(b, ' ');
            buf_append_str(b, t->cols[i].type);
        }
    }
}

void copy_sql_copy(struct buf *b, const struct copy_table *t, bool staging)
{
    buf_reset(b);
    buf_printf(b, "COPY %s (%s", staging ? t->stage : t->table,
               staging ? "ord, " : "");
    col_list(b, t, false);
    buf_append_str(b, ") FROM STDIN");
}

void copy_sql_insert(struct buf *b, const struct copy_table *t)
{
    buf_reset(b);
    buf_printf(b, "INSERT INTO %s (", t->table);
    col_list(b, t, false);
    buf_append_str(b, ") SELECT ");
    col_list(b, t, false);
    buf_printf(b, " FROM %s ORDER BY ord ON CONFLICT (stanza_id) DO NOTHING",
               t->stage);
}

void copy_sql_stage(struct buf *b, const struct copy_table *t)
{
    buf_reset(b);
    buf_printf(b, "CREATE TEMP TABLE IF NOT EXISTS %s ( ord bigint, ", t->stage);
    col_list(b, t, true);
    buf_append_str(b, ") ON COMMIT DELETE ROWS");
}

void copy_sql_clear(struct buf *b, const struct copy_table *t)
{
    buf_reset(b);
    buf_printf(b, "DELETE FROM %s", t->stage);
}

/* ---- rows ----------------------------------------------------------------------- */

static void copy_value(struct buf *b, const struct copy_col *c,
                       const struct archive_event *ev, const char *ts)
{
    char num[24];
    switch (c->value) {
    case COPY_TICKET_ID:
        snprintf(num, sizeof num, "%" PRId64, ev->ticket_id);
        buf_append_str(b, num);
        break;
    case COPY_AT:
        buf_append_str(b, ts);
        break;
    case COPY_KIND_NAME:
        buf_append_str(b, archive_kind_name(ev->kind));
        break;
    case COPY_KIND_TEXT:
        buf_append_str(b, archive_kind_text(ev->kind));
        break;
    case COPY_STAFF:
        buf_append_str(b, ev->staff_only ? "t" : "f");
        break;
    case COPY_STR:
        pgtext_copy_str(b, *(const char *const *)((const char *)ev + c->off));
        break;
    }
}

void copy_row(struct buf *b, const struct copy_table *t, bool staging,
              uint64_t seq, const struct archive_event *ev)
{
    char ts[64];
    pgtext_timestamp(ts, ev->at_us ? ev->at_us : (int64_t)archive_now_us());
    if (staging) {
        char num[24];
        snprintf(num, sizeof num, "%" PRIu64, seq);
        buf_append_str(b, num);
        buf_append_char(b, '\t');
    }
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            buf_append_char(b, '\t');
        copy_value(b, &t->cols[i], ev, ts);
    }
    buf_append_char(b, '\n');
}
