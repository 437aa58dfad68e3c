/* Fuzz target: the journal (store/journal.c) and what its records hold
 * (store/records.c).
 *
 * The input says which records to write and how to damage the files:
 *   byte 0        number of damage operations (low 2 bits)
 *   5 bytes each  u24 offset (little-endian) into the segment files taken
 *                 end to end, u8 operation (< 0x80: XOR the byte with the
 *                 value; else cut the file there), u8 value
 *   then records  u8 type, u16 length (little-endian), then the payload;
 *                 or, if the type has bit 7 set, one byte that the payload
 *                 (of type & 0x7f) repeats `length` times, so that a short
 *                 input can fill segments (256 KiB at most per input)
 * The records are written with the journal's own writer (64 KiB segments,
 * so larger inputs rotate), the files damaged, and the journal opened
 * again (recovery), read, closed and opened once more.
 *
 * Checks: without damage every record comes back as written; with it,
 * whatever comes back is a record exactly as written (the CRC is there
 * for that), in order; recovery is idempotent (a second open cuts nothing
 * and reads the same); every payload that decodes as an event or a ticket
 * encodes and decodes back to the same fields. */
#include "build-config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/utf8.h"
#include "fuzz_check.h"
#include "store/journal.h"
#include "store/records.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 256

static char dir[4096];

struct rec {
    uint8_t type;
    const uint8_t *payload;
    size_t len;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/mucdesk-fuzz-journal-%ld", base,
             (long)getpid());
    /* Recovery reports what it cut and set aside: not for the fuzzer's
     * terminal. */
    log_setup(LOG_LEVEL_ERROR, false, "/dev/null");
    return 0;
}

static void clear_dir(void)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[8192];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Applies one damage operation at `offset` of the segments end to end. */
static void damage(size_t offset, uint8_t op, uint8_t value)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".mdj") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        struct stat sb;
        if (stat(p, &sb) < 0)
            continue;
        if (offset >= (size_t)sb.st_size) {
            offset -= (size_t)sb.st_size;
            continue;
        }
        if (op & 0x80) {
            if (truncate(p, (off_t)offset) < 0)
                fuzz_fail("truncate %s", p);
        } else {
            FILE *f = fopen(p, "r+b");
            if (f && fseek(f, (long)offset, SEEK_SET) == 0) {
                int c = fgetc(f);
                fseek(f, (long)offset, SEEK_SET);
                fputc((c ^ value) & 0xff, f);
            }
            if (f)
                fclose(f);
        }
        break;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
}

/* The text read back equals the text written once the store has made it
 * valid UTF-8: a damaged journal may hold ill-formed bytes, which the
 * encoder turns into U+FFFD (records.c: put_str) so that PostgreSQL takes
 * the row. */
static bool str_same(const char *was, const char *now)
{
    if (!was || !now)
        return !was && !now;
    size_t n = strlen(was);
    if (utf8_valid_len(was, n) == n)
        return strcmp(was, now) == 0;
    struct buf clean = BUF_INIT;
    utf8_sanitize(&clean, was, n);
    bool same = !buf_failed(&clean) && strcmp(buf_cstr(&clean), now) == 0;
    buf_free(&clean);
    return same;
}

static void check_payload(const struct journal_record *r)
{
    struct buf b = BUF_INIT;
    if (r->type == RECORD_EVENT) {
        struct archive_event ev, again;
        if (record_decode_event(r->payload, r->len, &ev) < 0)
            return;
        record_encode_event(&b, &ev);
        if (record_decode_event((const uint8_t *)b.data, b.len, &again) < 0)
            fuzz_fail("an event that decoded does not decode once re-encoded");
        if (ev.kind != again.kind || ev.staff_only != again.staff_only ||
            ev.ticket_id != again.ticket_id || ev.at_us != again.at_us ||
            !str_same(ev.stanza_id, again.stanza_id) ||
            !str_same(ev.room, again.room) ||
            !str_same(ev.actor_jid, again.actor_jid) ||
            !str_same(ev.actor_nick, again.actor_nick) ||
            !str_same(ev.occupant_id, again.occupant_id) ||
            !str_same(ev.body, again.body) ||
            !str_same(ev.payload, again.payload) ||
            !str_same(ev.message_id, again.message_id))
            fuzz_fail("an event changed through encode and decode");
    } else if (r->type == RECORD_TICKET) {
        struct store_ticket t, again;
        if (record_decode_ticket(r->payload, r->len, &t) < 0)
            return;
        record_encode_ticket(&b, &t);
        if (record_decode_ticket((const uint8_t *)b.data, b.len, &again) < 0)
            fuzz_fail("a ticket that decoded does not decode once re-encoded");
        if (t.id != again.id || t.status != again.status ||
            t.priority != again.priority || t.rating != again.rating ||
            t.created_us != again.created_us ||
            t.accepted_us != again.accepted_us ||
            t.ended_us != again.ended_us ||
            t.chat_seconds != again.chat_seconds ||
            t.has_token_hash != again.has_token_hash ||
            (t.has_token_hash &&
             memcmp(t.token_hash, again.token_hash, sizeof t.token_hash)) ||
            !str_same(t.queue, again.queue) ||
            !str_same(t.subject, again.subject) ||
            !str_same(t.customer_jid, again.customer_jid) ||
            !str_same(t.customer_name, again.customer_name) ||
            !str_same(t.customer_email, again.customer_email) ||
            !str_same(t.owner_jid, again.owner_jid) ||
            !str_same(t.rating_comment, again.rating_comment) ||
            !str_same(t.room, again.room) || !str_same(t.details, again.details))
            fuzz_fail("a ticket changed through encode and decode");
    }
    buf_free(&b);
}

/* Opens the journal and reads everything; the records read go to
 * seqs/lens (up to MAX_RECORDS).  -1 if the journal does not open. */
static int recover(struct journal_open_report *rep, uint64_t *seqs,
                   size_t *count, const struct rec *written, size_t nw)
{
    struct journal_options opt = {.dir = dir, .segment_size = 65536};
    struct journal *j;
    char err[512];
    if (journal_open(&opt, &j, rep, err, sizeof err) < 0) {
        if (!err[0])
            fuzz_fail("journal_open failed without a reason");
        return -1;
    }
    struct journal_reader *r = journal_reader_new(j);
    journal_reader_seek(r, 1);
    struct journal_record rec;
    uint64_t last = 0;
    *count = 0;
    int rc;
    /* Readers read up to what the writer has finished: all of it. */
    while ((rc = journal_reader_next(r, rep->next_seq - 1, &rec)) == 1) {
        if (rec.seq <= last)
            fuzz_fail("records out of order: %llu after %llu",
                      (unsigned long long)rec.seq, (unsigned long long)last);
        last = rec.seq;
        if (rec.seq == 0 || rec.seq > nw)
            fuzz_fail("record %llu was never written",
                      (unsigned long long)rec.seq);
        const struct rec *w = &written[rec.seq - 1];
        if (rec.type != w->type || rec.len != w->len ||
            memcmp(rec.payload, w->payload, w->len) != 0)
            fuzz_fail("record %llu came back different",
                      (unsigned long long)rec.seq);
        check_payload(&rec);
        if (*count < MAX_RECORDS)
            seqs[(*count)++] = rec.seq;
    }
    if (rc < 0)
        fuzz_fail("journal_reader_next: I/O error");
    if (rep->next_seq < rep->first_seq)
        fuzz_fail("next_seq %llu before first_seq %llu",
                  (unsigned long long)rep->next_seq,
                  (unsigned long long)rep->first_seq);
    journal_reader_free(r);
    journal_close(j);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_set_input(data, size);
    size_t ndamage = data[0] & 3, at = 1;
    if (size < at + 5 * ndamage)
        return 0;
    const uint8_t *dmg = data + at;
    at += 5 * ndamage;
    static struct rec recs[MAX_RECORDS];
    static uint8_t *fill[MAX_RECORDS];
    size_t n = 0, nfill = 0, filled = 0;
    while (at + 3 <= size && n < MAX_RECORDS) {
        size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
        if (data[at] & 0x80) {
            /* Generated: a cheap way to big records and rotation (a few
             * segments' worth per input, to stay quick). */
            if (filled + len > 4 * 65536)
                len = 4 * 65536 - filled;
            filled += len;
            uint8_t byte = at + 3 < size ? data[at + 3] : 0;
            uint8_t *p = fill[nfill++] = malloc(len + 1);
            memset(p, byte, len);
            recs[n++] = (struct rec){data[at] & 0x7f, p, len};
            at += 4;
            continue;
        }
        if (len > size - at - 3)
            len = size - at - 3;
        recs[n++] = (struct rec){data[at], data + at + 3, len};
        at += 3 + len;
    }

    clear_dir();
    struct journal_options opt = {.dir = dir, .segment_size = 65536};
    struct journal *j;
    struct journal_open_report rep;
    char err[512];
    if (journal_open(&opt, &j, &rep, err, sizeof err) < 0)
        fuzz_fail("a fresh journal does not open: %s", err);
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        size_t start = journal_record_begin(&b);
        buf_append(&b, recs[i].payload, recs[i].len);
        journal_record_end(&b, start, i + 1, recs[i].type);
    }
    size_t done;
    if (b.len && journal_append(j, (const uint8_t *)b.data, b.len, &done) < 0)
        fuzz_fail("journal_append failed");
    buf_free(&b);
    journal_close(j);

    for (size_t i = 0; i < ndamage; i++) {
        const uint8_t *d = dmg + 5 * i;
        damage((size_t)d[0] | (size_t)d[1] << 8 | (size_t)d[2] << 16, d[3],
               d[4]);
    }

    static uint64_t first[MAX_RECORDS], second[MAX_RECORDS];
    size_t n1, n2;
    struct journal_open_report rep1, rep2;
    if (recover(&rep1, first, &n1, recs, n) == 0) {
        if (ndamage == 0 && (n1 != (n < MAX_RECORDS ? n : MAX_RECORDS) ||
                             rep1.cut_bytes || rep1.gaps))
            fuzz_fail("an undamaged journal of %zu records read back %zu "
                      "(cut %llu, gaps %u)", n, n1,
                      (unsigned long long)rep1.cut_bytes, rep1.gaps);
        if (recover(&rep2, second, &n2, recs, n) < 0)
            fuzz_fail("a recovered journal does not open again");
        if (rep2.cut_bytes || n2 != n1 || memcmp(first, second, n1 * sizeof *first) ||
            rep2.next_seq != rep1.next_seq)
            fuzz_fail("recovery is not idempotent: %zu then %zu records, cut "
                      "%llu the second time", n1, n2,
                      (unsigned long long)rep2.cut_bytes);
    }
    /* The payloads as given, decoded directly too. */
    for (size_t i = 0; i < n; i++) {
        struct journal_record r = {i + 1, recs[i].type, recs[i].payload,
                                   recs[i].len};
        check_payload(&r);
    }
    clear_dir();
    for (size_t i = 0; i < nfill; i++)
        free(fill[i]);
    fuzz_set_input(NULL, 0);
    return 0;
}
