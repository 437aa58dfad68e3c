/* Unit tests: the journal (store/journal.h) and its checksum: record
 * encoding, corruption detection, torn-tail recovery, segment rotation and
 * trimming, and reading everything back after a reopen (the replay). */
#include "cmocka_prelude.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "store/journal.h"

#define SEG 65536 /* the smallest segment size */

struct fixture {
    char dir[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_journal.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[512];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct journal *open_journal(const char *dir, struct journal_open_report *rep)
{
    struct journal_options opt = {.dir = dir, .segment_size = SEG, .sync = true};
    struct journal *j = NULL;
    char err[256];
    int rc = journal_open(&opt, &j, rep, err, sizeof err);
    if (rc < 0)
        fail_msg("journal_open: %s", err);
    return j;
}

/* Frames records first..first+n-1; payload i is "record <seq>" padded to
 * size bytes (at least the text). */
static void frame(struct buf *b, uint64_t first, unsigned n, size_t size)
{
    for (unsigned i = 0; i < n; i++) {
        char text[64];
        uint64_t seq = first + i;
        int len = snprintf(text, sizeof text, "record %llu", (unsigned long long)seq);
        size_t start = journal_record_begin(b);
        buf_append(b, text, (size_t)len);
        for (size_t k = (size_t)len; k < size; k++)
            buf_append_char(b, (char)('a' + (seq + k) % 26));
        journal_record_end(b, start, seq, 7);
    }
}

static void append(struct journal *j, uint64_t first, unsigned n, size_t size)
{
    struct buf b = BUF_INIT;
    size_t done;
    frame(&b, first, n, size);
    assert_int_equal(journal_append(j, (const uint8_t *)b.data, b.len, &done), 0);
    assert_int_equal(done, b.len);
    assert_int_equal(journal_sync(j), 0);
    buf_free(&b);
}

/* Reads every record from `from` and checks they follow one another with
 * the right payloads.  Returns how many were read. */
static uint64_t read_all(struct journal *j, uint64_t from, uint64_t limit)
{
    /* Readers never ask beyond what was written. */
    if (limit > journal_next_seq(j) - 1)
        limit = journal_next_seq(j) - 1;
    struct journal_reader *r = journal_reader_new(j);
    assert_non_null(r);
    uint64_t expect = journal_reader_seek(r, from), count = 0;
    struct journal_record rec;
    int rc;
    while ((rc = journal_reader_next(r, limit, &rec)) == 1) {
        char text[64];
        int len = snprintf(text, sizeof text, "record %llu", (unsigned long long)expect);
        assert_int_equal(rec.seq, expect);
        assert_int_equal(rec.type, 7);
        assert_true(rec.len >= (size_t)len);
        assert_memory_equal(rec.payload, text, (size_t)len);
        expect++;
        count++;
    }
    assert_int_equal(rc, 0);
    journal_reader_free(r);
    return count;
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len > sl && strcmp(e->d_name + len - sl, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void segment_path(char *out, size_t n, const char *dir, uint64_t first)
{
    snprintf(out, n, "%s/%016llx.mdj", dir, (unsigned long long)first);
}

/* ---- checksum and records ---------------------------------------------------- */

static void test_crc32c_known_values(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283u);
    assert_int_equal(crc32c(0, "", 0), 0);
    /* Continuation: the CRC of a whole equals the CRC continued over parts,
     * at every alignment (the word loop and the byte loops agree). */
    char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7 + 3);
    uint32_t whole = crc32c(0, data, sizeof data);
    for (size_t cut = 0; cut <= sizeof data; cut += 13)
        assert_int_equal(crc32c(crc32c(0, data, cut), data + cut, sizeof data - cut),
                         whole);
}

static void test_record_roundtrip(void **state)
{
    struct buf b = BUF_INIT;
    struct journal_record rec;
    size_t size;
    (void)state;
    size_t start = journal_record_begin(&b);
    buf_append_str(&b, "hello");
    journal_record_end(&b, start, 42, 3);
    assert_int_equal(b.len, JOURNAL_RECORD_HEADER + 5);
    assert_int_equal(journal_record_decode((const uint8_t *)b.data, b.len, &rec, &size),
                     JOURNAL_DECODE_OK);
    assert_int_equal(size, b.len);
    assert_int_equal(rec.seq, 42);
    assert_int_equal(rec.type, 3);
    assert_int_equal(rec.len, 5);
    assert_memory_equal(rec.payload, "hello", 5);

    /* Too few bytes: SHORT, with the size needed. */
    assert_int_equal(journal_record_decode((const uint8_t *)b.data, 10, &rec, &size),
                     JOURNAL_DECODE_SHORT);
    assert_int_equal(journal_record_decode((const uint8_t *)b.data, b.len - 1, &rec, &size),
                     JOURNAL_DECODE_SHORT);
    assert_int_equal(size, b.len);
    buf_free(&b);
}

static void test_record_corruption_detected(void **state)
{
    struct journal_record rec;
    size_t size;
    (void)state;
    struct buf b = BUF_INIT;
    frame(&b, 9, 1, 40);
    /* Every single flipped bit, anywhere in the record, is caught. */
    for (size_t i = 0; i < b.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            b.data[i] ^= (char)(1 << bit);
            assert_int_not_equal(journal_record_decode((const uint8_t *)b.data, b.len,
                                                       &rec, &size),
                                 JOURNAL_DECODE_OK);
            b.data[i] ^= (char)(1 << bit);
        }
    assert_int_equal(journal_record_decode((const uint8_t *)b.data, b.len, &rec, &size),
                     JOURNAL_DECODE_OK);
    /* Zeros (a preallocated tail) are not a record. */
    uint8_t zeros[64] = {0};
    assert_int_equal(journal_record_decode(zeros, sizeof zeros, &rec, &size),
                     JOURNAL_DECODE_BAD);
    /* A length beyond the limit is refused without waiting for the bytes. */
    uint32_t huge = JOURNAL_RECORD_MAX + 1;
    for (int k = 0; k < 4; k++)
        b.data[16 + k] = (char)(huge >> (8 * k));
    assert_int_equal(journal_record_decode((const uint8_t *)b.data, b.len, &rec, &size),
                     JOURNAL_DECODE_BAD);
    buf_free(&b);
}

/* ---- the journal --------------------------------------------------------------- */

static void test_fresh_open_append_reopen(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    assert_int_equal(rep.next_seq, 1);
    assert_int_equal(rep.first_seq, 1);
    assert_int_equal(rep.records, 0);
    assert_int_equal(rep.segments, 1);
    append(j, 1, 100, 50);
    assert_int_equal(journal_next_seq(j), 101);
    journal_close(j);

    j = open_journal(f->dir, &rep);
    assert_int_equal(rep.records, 100);
    assert_int_equal(rep.next_seq, 101);
    assert_int_equal(rep.cut_bytes, 0);
    assert_int_equal(rep.gaps, 0);
    assert_int_equal(read_all(j, 1, UINT64_MAX), 100);
    /* Appending continues where it stopped. */
    append(j, 101, 5, 50);
    journal_close(j);
    j = open_journal(f->dir, &rep);
    assert_int_equal(rep.records, 105);
    assert_int_equal(read_all(j, 1, UINT64_MAX), 105);
    journal_close(j);
}

/* A journal has one writer: opening it again while it is open fails with a
 * message naming the directory; once closed, it opens again. */
static void test_second_writer_is_refused(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    struct journal_options opt = {.dir = f->dir, .segment_size = SEG, .sync = true};
    struct journal *second = NULL;
    char err[256];
    assert_int_equal(journal_open(&opt, &second, &rep, err, sizeof err), -1);
    assert_null(second);
    assert_non_null(strstr(err, f->dir));
    assert_non_null(strstr(err, "in use by another mucdesk"));
    journal_close(j);
    j = open_journal(f->dir, &rep);
    assert_non_null(j);
    journal_close(j);
}

static void test_append_rejects_wrong_sequence(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    struct buf b = BUF_INIT;
    size_t done;
    frame(&b, 5, 1, 10); /* the journal expects 1 */
    assert_int_equal(journal_append(j, (const uint8_t *)b.data, b.len, &done), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(done, 0);
    assert_int_equal(journal_next_seq(j), 1);
    buf_free(&b);
    journal_close(j);
}

static void test_torn_tail_is_cut_and_zeroed(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    append(j, 1, 10, 100);
    journal_close(j);

    /* A crash in the middle of writing record 11: half of it on disk. */
    struct buf b = BUF_INIT;
    frame(&b, 11, 2, 100);
    char path[128];
    segment_path(path, sizeof path, f->dir, 1);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    off_t end = JOURNAL_SEGMENT_HEADER + 10 * (JOURNAL_RECORD_HEADER + 100);
    /* The second record complete, the first torn: a stale but valid record
     * behind garbage must not survive either. */
    memset(b.data + 30, 0x55, 20);
    assert_int_equal(pwrite(fd, b.data, b.len, end), (ssize_t)b.len);
    close(fd);

    j = open_journal(f->dir, &rep);
    assert_int_equal(rep.records, 10);
    assert_int_equal(rep.next_seq, 11);
    assert_int_equal(rep.cut_bytes, b.len);
    /* The cut bytes are zeros now. */
    fd = open(path, O_RDONLY);
    char back[512];
    assert_int_equal(pread(fd, back, b.len, end), (ssize_t)b.len);
    for (size_t i = 0; i < b.len; i++)
        assert_int_equal(back[i], 0);
    close(fd);

    /* New records take the torn ones' numbers and read back cleanly,
     * followed by nothing stale. */
    append(j, 11, 1, 30);
    journal_close(j);
    j = open_journal(f->dir, &rep);
    assert_int_equal(rep.records, 11);
    assert_int_equal(rep.cut_bytes, 0);
    assert_int_equal(rep.next_seq, 12);
    assert_int_equal(read_all(j, 1, UINT64_MAX), 11);
    journal_close(j);
    buf_free(&b);
}

static void test_truncated_file_tail(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    append(j, 1, 20, 100);
    journal_close(j);
    /* The file ends in the middle of record 20 (a filesystem that lost the
     * preallocation, or a copy cut short). */
    char path[128];
    segment_path(path, sizeof path, f->dir, 1);
    off_t cut = JOURNAL_SEGMENT_HEADER + 19 * (JOURNAL_RECORD_HEADER + 100) + 50;
    assert_int_equal(truncate(path, cut), 0);

    j = open_journal(f->dir, &rep);
    assert_int_equal(rep.records, 19);
    assert_int_equal(rep.next_seq, 20);
    assert_true(rep.cut_bytes > 0);
    append(j, 20, 3, 100);
    assert_int_equal(read_all(j, 1, UINT64_MAX), 22);
    journal_close(j);
}

static void test_rotation_reading_and_trim(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    /* 1000 records of ~1 KiB: about 16 segments of 64 KiB. */
    for (unsigned i = 0; i < 10; i++)
        append(j, 1 + i * 100, 100, 1000);
    uint64_t bytes;
    size_t segs = journal_segments(j, &bytes);
    assert_true(segs >= 15);
    assert_int_equal(count_files(f->dir, ".mdj"), segs);
    assert_int_equal(read_all(j, 1, UINT64_MAX), 1000);
    /* From the middle, and only up to a limit. */
    assert_int_equal(read_all(j, 500, UINT64_MAX), 501);
    assert_int_equal(read_all(j, 500, 600), 101);

    /* Trimming up to 500 deletes the segments wholly at or below it. */
    int deleted = journal_trim(j, 500);
    assert_true(deleted >= 6);
    assert_int_equal(journal_segments(j, NULL), segs - (size_t)deleted);
    uint64_t first = journal_first_seq(j);
    assert_true(first <= 501);
    assert_true(first > 400);
    /* A reader asked for trimmed records starts at the oldest kept. */
    struct journal_reader *r = journal_reader_new(j);
    assert_int_equal(journal_reader_seek(r, 1), first);
    journal_reader_free(r);
    assert_int_equal(read_all(j, first, UINT64_MAX), 1000 - first + 1);

    /* Trimming everything keeps the active segment. */
    journal_trim(j, 1000);
    assert_int_equal(journal_segments(j, NULL), 1);
    journal_close(j);

    /* Reopen: the journal goes on from 1001 (the replay reads what is
     * left: the active segment's records). */
    j = open_journal(f->dir, &rep);
    assert_int_equal(rep.next_seq, 1001);
    assert_int_equal(rep.segments, 1);
    assert_int_equal(rep.gaps, 0);
    assert_int_equal(read_all(j, rep.first_seq, UINT64_MAX), rep.records);
    append(j, 1001, 10, 1000);
    journal_close(j);
}

static void test_oversized_record_gets_its_own_segment(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    append(j, 1, 3, 100);
    append(j, 4, 1, 3 * SEG); /* larger than a segment */
    append(j, 5, 3, 100);
    journal_close(j);
    j = open_journal(f->dir, &rep);
    assert_int_equal(rep.records, 7);
    assert_int_equal(rep.next_seq, 8);
    assert_int_equal(rep.cut_bytes, 0);
    assert_int_equal(read_all(j, 1, UINT64_MAX), 7);
    journal_close(j);
}

static void test_reader_follows_the_writer(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    struct journal_reader *r = journal_reader_new(j);
    struct journal_record rec;
    journal_reader_seek(r, 1);
    assert_int_equal(journal_reader_next(r, 0, &rec), 0);
    uint64_t seen = 0;
    for (unsigned round = 0; round < 50; round++) {
        append(j, 1 + round * 10, 10, 700);
        uint64_t limit = (round + 1) * 10;
        while (journal_reader_next(r, limit, &rec) == 1) {
            assert_int_equal(rec.seq, seen + 1);
            seen = rec.seq;
        }
        assert_int_equal(seen, limit);
        /* Nothing beyond the limit, even though the next record may be in
         * the file already. */
        assert_int_equal(journal_reader_next(r, limit, &rec), 0);
    }
    struct journal_pos pos;
    journal_reader_tell(r, &pos);
    assert_int_equal(pos.next_seq, 501);
    journal_reader_restore(r, &pos);
    assert_int_equal(journal_reader_next(r, 500, &rec), 0);
    journal_reader_free(r);
    journal_close(j);
}

static void test_bad_segment_in_the_middle_is_set_aside(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    for (unsigned i = 0; i < 4; i++)
        append(j, 1 + i * 100, 100, 1000);
    journal_close(j);
    /* Wreck the header of the second segment. */
    DIR *d = opendir(f->dir);
    struct dirent *e;
    uint64_t firsts[64];
    size_t n = 0;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".mdj") && strlen(e->d_name) == 20)
            firsts[n++] = strtoull(e->d_name, NULL, 16);
    closedir(d);
    assert_true(n >= 3);
    uint64_t second = UINT64_MAX, min = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (firsts[i] < min)
            min = firsts[i];
    for (size_t i = 0; i < n; i++)
        if (firsts[i] > min && firsts[i] < second)
            second = firsts[i];
    char path[128];
    segment_path(path, sizeof path, f->dir, second);
    int fd = open(path, O_RDWR);
    assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
    close(fd);

    j = open_journal(f->dir, &rep);
    assert_int_equal(rep.gaps, 1);
    assert_int_equal(rep.next_seq, 401);
    assert_int_equal(count_files(f->dir, ".corrupt"), 1);
    /* The reader skips the lost stretch (and logs it). */
    uint64_t count = 0;
    struct journal_reader *r = journal_reader_new(j);
    struct journal_record rec;
    journal_reader_seek(r, 1);
    while (journal_reader_next(r, 400, &rec) == 1)
        count++;
    assert_true(count < 400);
    assert_int_equal(count, rep.records);
    journal_reader_free(r);
    journal_close(j);
}

static void test_segment_without_header_is_removed(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    append(j, 1, 5, 100);
    journal_close(j);
    /* A crash right after creating the next segment, before its header. */
    char path[128];
    segment_path(path, sizeof path, f->dir, 6);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    assert_int_equal(ftruncate(fd, SEG), 0);
    close(fd);
    j = open_journal(f->dir, &rep);
    assert_int_equal(rep.records, 5);
    assert_int_equal(rep.next_seq, 6);
    assert_int_equal(rep.gaps, 0);
    append(j, 6, 2, 100);
    assert_int_equal(read_all(j, 1, UINT64_MAX), 7);
    journal_close(j);
}

static void test_prepare_preallocates_the_next_segment(void **state)
{
    struct fixture *f = *state;
    struct journal_open_report rep;
    struct journal *j = open_journal(f->dir, &rep);
    assert_int_equal(journal_prepare(j), 0); /* not half full: nothing */
    assert_int_equal(count_files(f->dir, ".tmp"), 0);
    append(j, 1, 40, 1000); /* past half of 64 KiB */
    assert_int_equal(journal_prepare(j), 0);
    assert_int_equal(count_files(f->dir, ".tmp"), 1);
    append(j, 41, 40, 1000); /* rotates into the prepared file */
    assert_int_equal(count_files(f->dir, ".tmp"), 0);
    assert_int_equal(read_all(j, 1, UINT64_MAX), 80);
    journal_close(j);
    /* A leftover prepared file is removed on open. */
    char path[128];
    snprintf(path, sizeof path, "%s/next.mdj.tmp", f->dir);
    close(open(path, O_RDWR | O_CREAT, 0600));
    j = open_journal(f->dir, &rep);
    assert_int_equal(count_files(f->dir, ".tmp"), 0);
    assert_int_equal(rep.records, 80);
    journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_values),
        cmocka_unit_test(test_record_roundtrip),
        cmocka_unit_test(test_record_corruption_detected),
        cmocka_unit_test_setup_teardown(test_fresh_open_append_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_writer_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_rejects_wrong_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_is_cut_and_zeroed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_reading_and_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_record_gets_its_own_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_follows_the_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_segment_in_the_middle_is_set_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_without_header_is_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prepare_preallocates_the_next_segment, setup, teardown),
    };
    return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
