#include "build-config.h"

#include "store/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/log.h"

#define LOG "journal"

#define RECORD_MAGIC 0x524a444du /* "MDJR" little-endian */
static const char SEGMENT_MAGIC[8] = {'M', 'D', 'J', 'S', 'E', 'G', '0', '1'};
#define PREPARED_SUFFIX ".mdj.tmp" /* prepared segments: prep-N.mdj.tmp */
#define ZERO_CHUNK (1u << 20)
#define READ_CHUNK (1u << 20)

/* ---- little-endian helpers ---------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- records -------------------------------------------------------------------- */

/* Header: magic u32 | crc u32 | seq u64 | len u32 | type u8 | 3 zero bytes.
 * The CRC covers bytes 8..24 of the header and the payload. */

size_t journal_record_begin(struct buf *out)
{
    static const uint8_t zero[JOURNAL_RECORD_HEADER];
    size_t start = out->len;
    buf_append(out, zero, sizeof zero);
    return start;
}

void journal_record_end(struct buf *out, size_t start, uint64_t seq,
                        uint8_t type)
{
    if (buf_failed(out))
        return;
    uint8_t *h = (uint8_t *)out->data + start;
    size_t len = out->len - start - JOURNAL_RECORD_HEADER;
    put32(h, RECORD_MAGIC);
    put64(h + 8, seq);
    put32(h + 16, (uint32_t)len);
    h[20] = type;
    h[21] = h[22] = h[23] = 0;
    put32(h + 4, crc32c(0, h + 8, out->len - start - 8));
}

enum journal_decode journal_record_decode(const uint8_t *data, size_t avail,
                                          struct journal_record *rec,
                                          size_t *size)
{
    if (avail < JOURNAL_RECORD_HEADER) {
        *size = JOURNAL_RECORD_HEADER;
        /* A header that does not even start right is not worth waiting for. */
        if (avail >= 4 && get32(data) != RECORD_MAGIC)
            return JOURNAL_DECODE_BAD;
        return JOURNAL_DECODE_SHORT;
    }
    if (get32(data) != RECORD_MAGIC)
        return JOURNAL_DECODE_BAD;
    uint32_t len = get32(data + 16);
    if (len > JOURNAL_RECORD_MAX || data[21] || data[22] || data[23])
        return JOURNAL_DECODE_BAD;
    size_t total = JOURNAL_RECORD_HEADER + (size_t)len;
    *size = total;
    if (avail < total)
        return JOURNAL_DECODE_SHORT;
    if (crc32c(0, data + 8, total - 8) != get32(data + 4))
        return JOURNAL_DECODE_BAD;
    rec->seq = get64(data + 8);
    rec->type = data[20];
    rec->payload = data + JOURNAL_RECORD_HEADER;
    rec->len = len;
    return JOURNAL_DECODE_OK;
}

/* ---- the journal ---------------------------------------------------------------- */

struct segment {
    uint64_t first;
    uint64_t bytes; /* size on disk */
};

struct journal {
    char *dir;
    int dirfd;
    uint64_t segment_size;
    bool sync;

    pthread_mutex_t lock;     /* guards the segment list */
    struct segment *segs;     /* by first seq */
    size_t nsegs, cap;

    /* writer state */
    int fd;                   /* active segment */
    uint64_t active_first;
    uint64_t active_size;     /* its allocated size */
    uint64_t offset;          /* where the next record goes */
    uint64_t next_seq;
    _Atomic uint64_t fill;    /* offset, for journal_prepare */
    _Atomic uint64_t active_cap;

    pthread_mutex_t prep_lock;   /* guards the three below */
    int prepared_fd;          /* zero-filled next segment, or -1 */
    char prepared_name[32];
    bool preparing;
    unsigned prep_counter;
};

static void segment_name(char *out, size_t n, uint64_t first)
{
    snprintf(out, n, "%016" PRIx64 ".mdj", first);
}

static bool parse_segment_name(const char *name, uint64_t *first)
{
    if (strlen(name) != 20 || strcmp(name + 16, ".mdj") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        int d = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                         : -1;
        if (d < 0)
            return false;
        v = (v << 4) | (uint64_t)d;
    }
    *first = v;
    return v > 0;
}

static int cmp_segment(const void *a, const void *b)
{
    const struct segment *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int segs_push(struct journal *j, uint64_t first, uint64_t bytes)
{
    if (j->nsegs == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 16;
        struct segment *s = realloc(j->segs, cap * sizeof *s);
        if (!s)
            return -1;
        j->segs = s;
        j->cap = cap;
    }
    j->segs[j->nsegs++] = (struct segment){first, bytes};
    return 0;
}

static void segs_remove(struct journal *j, size_t i)
{
    memmove(j->segs + i, j->segs + i + 1, (j->nsegs - i - 1) * sizeof *j->segs);
    j->nsegs--;
}

static int full_pwrite(int fd, const void *data, size_t len, uint64_t off)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static ssize_t full_pread(int fd, void *data, size_t len, uint64_t off)
{
    uint8_t *p = data;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static void segment_header(uint8_t *h, uint64_t first)
{
    memset(h, 0, JOURNAL_SEGMENT_HEADER);
    memcpy(h, SEGMENT_MAGIC, sizeof SEGMENT_MAGIC);
    put64(h + 8, first);
    uint32_t crc = crc32c(0, h, 16);
    crc = crc32c(crc, h + 20, JOURNAL_SEGMENT_HEADER - 20);
    put32(h + 16, crc);
}

static bool segment_header_ok(const uint8_t *h, uint64_t first)
{
    if (memcmp(h, SEGMENT_MAGIC, sizeof SEGMENT_MAGIC) != 0 ||
        get64(h + 8) != first)
        return false;
    uint32_t crc = crc32c(0, h, 16);
    crc = crc32c(crc, h + 20, JOURNAL_SEGMENT_HEADER - 20);
    return crc == get32(h + 16);
}

/* Writes zeros over [from, size): the blocks are then allocated *and*
 * initialised, so records written there later are plain overwrites and
 * fdatasync flushes data only, no filesystem metadata (ext4 would otherwise
 * commit its journal, entangled with every other writer on the disk: the
 * measured p99 of a sync went from ~4.7 ms to ~1.8 ms under PostgreSQL
 * load).  PostgreSQL zero-fills its WAL segments for the same reason. */
static int zero_fill(int fd, uint64_t from, uint64_t size, bool sync)
{
    static const uint8_t zeros[ZERO_CHUNK];
    for (uint64_t off = from; off < size;) {
        size_t n = size - off < ZERO_CHUNK ? (size_t)(size - off) : ZERO_CHUNK;
        if (full_pwrite(fd, zeros, n, off) < 0)
            return -1;
        off += n;
    }
    return sync ? fdatasync(fd) : 0;
}

/* zero_fill for a segment prepared ahead: written and flushed a chunk at a
 * time, at most PREPARE_BYTES_PER_S, so that the journal's own syncs never
 * queue behind tens of megabytes of zeros (they did: p99.9 ~110 ms). */
#define PREPARE_CHUNK (256u << 10)
#define PREPARE_BYTES_PER_S (64u << 20)

static int zero_fill_paced(int fd, uint64_t size, bool sync)
{
    static const uint8_t zeros[PREPARE_CHUNK];
    struct timespec pause = {0, (long)(1000000000ull * PREPARE_CHUNK /
                                       PREPARE_BYTES_PER_S)};
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < PREPARE_CHUNK ? (size_t)(size - off) : PREPARE_CHUNK;
        if (full_pwrite(fd, zeros, n, off) < 0)
            return -1;
        if (sync && sync_file_range(fd, (off_t)off, (off_t)n,
                                    SYNC_FILE_RANGE_WAIT_BEFORE |
                                        SYNC_FILE_RANGE_WRITE |
                                        SYNC_FILE_RANGE_WAIT_AFTER) < 0)
            return -1;
        off += n;
        nanosleep(&pause, NULL);
    }
    return sync ? fdatasync(fd) : 0;
}

/* Allocates `size` bytes of file (zeros) so writes within never hit a full
 * disk, quickly (unwritten extents).  Falls back to nothing where the
 * filesystem cannot (tmpfs can). */
static int preallocate(int fd, uint64_t from, uint64_t size)
{
    int rc = posix_fallocate(fd, (off_t)from, (off_t)(size - from));
    if (rc == EOPNOTSUPP || rc == EINVAL)
        return ftruncate(fd, (off_t)size);
    if (rc) {
        errno = rc;
        return -1;
    }
    return 0;
}

static int sync_dir(struct journal *j)
{
    return j->sync ? fsync(j->dirfd) : 0;
}

/* Creates the segment that starts with `first` and makes it active: the
 * one journal_prepare() zero-filled if it is ready, else a new file
 * preallocated on the spot. */
static int open_new_segment(struct journal *j, uint64_t first)
{
    char name[32], prepared[32];
    uint8_t h[JOURNAL_SEGMENT_HEADER];
    int saved;

    pthread_mutex_lock(&j->prep_lock);
    int fd = j->prepared_fd;
    j->prepared_fd = -1;
    memcpy(prepared, j->prepared_name, sizeof prepared);
    pthread_mutex_unlock(&j->prep_lock);

    segment_name(name, sizeof name, first);
    segment_header(h, first);
    if (fd >= 0) {
        if (full_pwrite(fd, h, sizeof h, 0) < 0 ||
            renameat(j->dirfd, prepared, j->dirfd, name) < 0)
            goto fail;
    } else {
        fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
                    0600);
        if (fd < 0)
            return -1;
        if (preallocate(fd, 0, j->segment_size) < 0 ||
            full_pwrite(fd, h, sizeof h, 0) < 0)
            goto fail_unlink;
    }
    if (sync_dir(j) < 0)
        goto fail;
    pthread_mutex_lock(&j->lock);
    int rc = segs_push(j, first, j->segment_size);
    pthread_mutex_unlock(&j->lock);
    if (rc < 0) {
        errno = ENOMEM;
        goto fail;
    }
    if (j->fd >= 0)
        close(j->fd);
    j->fd = fd;
    j->active_first = first;
    j->active_size = j->segment_size;
    j->offset = JOURNAL_SEGMENT_HEADER;
    atomic_store(&j->active_cap, j->active_size);
    atomic_store(&j->fill, j->offset);
    return 0;
fail_unlink:
    saved = errno;
    unlinkat(j->dirfd, name, 0);
    close(fd);
    errno = saved;
    return -1;
fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* Scans one segment from its header: counts the records that follow one
 * another from *expect, and returns where the valid part ends (0 if the
 * header itself is bad).  *nonzero_end: end of the last non-zero byte
 * beyond, for the newest segment's torn-tail check. */
static uint64_t scan_segment(int fd, uint64_t first, uint64_t file_size,
                             uint64_t *expect, uint64_t *records,
                             uint64_t *nonzero_end, bool check_tail)
{
    uint8_t h[JOURNAL_SEGMENT_HEADER];
    if (full_pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
        !segment_header_ok(h, first))
        return 0;

    size_t cap = READ_CHUNK;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return 0;
    uint64_t off = JOURNAL_SEGMENT_HEADER, buf_off = off;
    size_t buf_len = 0;
    for (;;) {
        size_t have = (size_t)(buf_off + buf_len - off);
        const uint8_t *p = buf + (off - buf_off);
        struct journal_record rec;
        size_t size;
        enum journal_decode d = journal_record_decode(p, have, &rec, &size);
        if (d == JOURNAL_DECODE_SHORT && off + size <= file_size) {
            if (size > cap) {
                uint8_t *bigger = realloc(buf, size);
                if (!bigger)
                    break;
                buf = bigger;
                cap = size;
            }
            ssize_t n = full_pread(fd, buf, cap, off);
            if (n < 0)
                break;
            buf_off = off;
            buf_len = (size_t)n;
            continue;
        }
        if (d != JOURNAL_DECODE_OK || rec.seq != *expect)
            break;
        (*expect)++;
        (*records)++;
        off += size;
    }

    *nonzero_end = off;
    if (check_tail) {
        /* Anything but zeros after the last good record is a torn write. */
        for (uint64_t pos = off; pos < file_size;) {
            ssize_t n = full_pread(fd, buf, cap, pos);
            if (n <= 0)
                break;
            for (ssize_t i = n - 1; i >= 0; i--)
                if (buf[i]) {
                    *nonzero_end = pos + (uint64_t)i + 1;
                    break;
                }
            pos += (uint64_t)n;
        }
    }
    free(buf);
    return off;
}

static int load_segment_list(struct journal *j, char *err, size_t errlen)
{
    DIR *d = fdopendir(dup(j->dirfd));
    if (!d) {
        snprintf(err, errlen, "cannot list %s: %s", j->dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t first;
        size_t len = strlen(e->d_name), sl = strlen(PREPARED_SUFFIX);
        if (len > sl && strcmp(e->d_name + len - sl, PREPARED_SUFFIX) == 0) {
            unlinkat(j->dirfd, e->d_name, 0); /* never finished: redo */
            continue;
        }
        if (!parse_segment_name(e->d_name, &first))
            continue;
        struct stat st;
        if (fstatat(j->dirfd, e->d_name, &st, 0) < 0)
            continue;
        if (segs_push(j, first, (uint64_t)st.st_size) < 0) {
            closedir(d);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    closedir(d);
    if (j->nsegs)
        qsort(j->segs, j->nsegs, sizeof *j->segs, cmp_segment);
    return 0;
}

/* Moves a segment that cannot be read out of the way, keeping it for a
 * human to look at. */
static void set_aside(struct journal *j, size_t i)
{
    char name[32], aside[48];
    segment_name(name, sizeof name, j->segs[i].first);
    snprintf(aside, sizeof aside, "%s.corrupt", name);
    if (renameat(j->dirfd, name, j->dirfd, aside) < 0)
        log_error(LOG, "cannot rename %s/%s: %s", j->dir, name, strerror(errno));
    segs_remove(j, i);
}

static int recover(struct journal *j, struct journal_open_report *rep,
                   char *err, size_t errlen)
{
    uint64_t expect = j->nsegs ? j->segs[0].first : 1;
    bool set_aside_pending = false; /* a gap not counted yet */

    for (size_t i = 0; i < j->nsegs;) {
        struct segment *s = &j->segs[i];
        bool last = i + 1 == j->nsegs;
        char name[32];
        segment_name(name, sizeof name, s->first);
        int fd = openat(j->dirfd, name, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            snprintf(err, errlen, "cannot open %s/%s: %s", j->dir, name,
                     strerror(errno));
            return -1;
        }
        if (s->first != expect) {
            log_error(LOG, "records %" PRIu64 "..%" PRIu64 " are missing "
                      "from the journal in %s (corruption): they are lost",
                      expect, s->first - 1, j->dir);
            rep->gaps++;
            set_aside_pending = false;
            expect = s->first;
        }
        uint64_t nonzero_end;
        uint64_t end = scan_segment(fd, s->first, s->bytes, &expect,
                                    &rep->records, &nonzero_end, last);
        if (end == 0) {
            close(fd);
            if (last && s->bytes <= j->segment_size) {
                /* A crash while creating the newest segment. */
                log_warn(LOG, "removing %s/%s: its header was never written",
                         j->dir, name);
                unlinkat(j->dirfd, name, 0);
                segs_remove(j, i);
            } else {
                log_error(LOG, "segment %s/%s has a bad header: set aside "
                          "as %s.corrupt", j->dir, name, name);
                set_aside_pending = true;
                set_aside(j, i);
            }
            continue;
        }
        if (j->sync && fdatasync(fd) < 0) {
            /* Whatever a killed process left in the page cache becomes
             * durable here, or we say why not. */
            snprintf(err, errlen, "cannot sync %s/%s: %s", j->dir, name,
                     strerror(errno));
            close(fd);
            return -1;
        }
        if (last) {
            if (nonzero_end > end) {
                /* Cut the torn tail and zero it, so that nothing stale can
                 * ever follow the records written from here on. */
                rep->cut_bytes = nonzero_end - end;
                if (zero_fill(fd, end, nonzero_end, j->sync) < 0) {
                    snprintf(err, errlen, "cannot cut the torn tail of %s/%s: "
                             "%s", j->dir, name, strerror(errno));
                    close(fd);
                    return -1;
                }
            }
            j->fd = fd;
            j->active_first = s->first;
            j->active_size = s->bytes;
            j->offset = end;
            atomic_store(&j->active_cap, j->active_size);
            atomic_store(&j->fill, j->offset);
        } else {
            close(fd);
        }
        i++;
    }
    if (set_aside_pending)
        rep->gaps++;
    j->next_seq = expect;
    return 0;
}

int journal_open(const struct journal_options *opt, struct journal **out,
                 struct journal_open_report *rep, char *err, size_t errlen)
{
    struct journal *j = calloc(1, sizeof *j);
    memset(rep, 0, sizeof *rep);
    *out = NULL;
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->fd = -1;
    j->prepared_fd = -1;
    j->dirfd = -1;
    pthread_mutex_init(&j->prep_lock, NULL);
    j->sync = opt->sync;
    j->segment_size = opt->segment_size < 65536 ? 65536 : opt->segment_size;
    pthread_mutex_init(&j->lock, NULL);
    j->dir = strdup(opt->dir);
    if (!j->dir) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (mkdir(j->dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", j->dir, strerror(errno));
        goto fail;
    }
    j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dirfd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", j->dir, strerror(errno));
        goto fail;
    }
    /* One writer per journal.  A second mucdesk on the same state_dir
     * would interleave its records with ours and replay or trim what we
     * still ship.  The kernel drops the lock when we exit, however we
     * exit, so a crash never leaves it behind. */
    if (flock(j->dirfd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            snprintf(err, errlen, "%s is in use by another mucdesk process "
                     "(one process per [service] state_dir)", j->dir);
        else
            snprintf(err, errlen, "cannot lock %s: %s", j->dir, strerror(errno));
        goto fail;
    }
    if (load_segment_list(j, err, errlen) < 0 || recover(j, rep, err, errlen) < 0)
        goto fail;
    if (j->fd < 0) {
        uint64_t first = j->next_seq ? j->next_seq : 1;
        j->next_seq = first;
        if (open_new_segment(j, first) < 0 ||
            zero_fill(j->fd, JOURNAL_SEGMENT_HEADER, j->segment_size, j->sync) < 0) {
            snprintf(err, errlen, "cannot create a journal segment in %s: %s",
                     j->dir, strerror(errno));
            goto fail;
        }
    }
    rep->next_seq = j->next_seq;
    rep->first_seq = j->segs[0].first;
    rep->segments = j->nsegs;
    *out = j;
    return 0;
fail:
    journal_close(j);
    return -1;
}

void journal_close(struct journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    if (j->prepared_fd >= 0) {
        close(j->prepared_fd);
        unlinkat(j->dirfd, j->prepared_name, 0);
    }
    pthread_mutex_destroy(&j->prep_lock);
    if (j->dirfd >= 0)
        close(j->dirfd);
    pthread_mutex_destroy(&j->lock);
    free(j->segs);
    free(j->dir);
    free(j);
}

uint64_t journal_next_seq(const struct journal *j)
{
    return j->next_seq;
}

size_t journal_segments(struct journal *j, uint64_t *bytes)
{
    pthread_mutex_lock(&j->lock);
    size_t n = j->nsegs;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += j->segs[i].bytes;
    pthread_mutex_unlock(&j->lock);
    if (bytes)
        *bytes = total;
    return n;
}

uint64_t journal_first_seq(struct journal *j)
{
    pthread_mutex_lock(&j->lock);
    uint64_t first = j->nsegs ? j->segs[0].first : 0;
    pthread_mutex_unlock(&j->lock);
    return first;
}

static int rotate(struct journal *j, uint64_t first)
{
    if (j->sync && fdatasync(j->fd) < 0)
        return -1;
    return open_new_segment(j, first);
}

int journal_append(struct journal *j, const uint8_t *records, size_t len,
                   size_t *done)
{
    size_t pos = 0;
    *done = 0;
    while (pos < len) {
        /* Gather the records that fit in the active segment. */
        size_t run = 0;
        uint64_t first_seq = j->next_seq;
        while (pos + run < len) {
            struct journal_record rec;
            size_t size;
            if (journal_record_decode(records + pos + run, len - pos - run,
                                      &rec, &size) != JOURNAL_DECODE_OK ||
                rec.seq != j->next_seq) {
                j->next_seq = first_seq; /* not our own well-formed records */
                errno = EINVAL;
                return -1;
            }
            bool fresh = j->offset == JOURNAL_SEGMENT_HEADER && run == 0;
            if (j->offset + run + size > j->active_size && !fresh)
                break;
            run += size;
            j->next_seq++;
        }
        if (run) {
            if (full_pwrite(j->fd, records + pos, run, j->offset) < 0) {
                j->next_seq = first_seq; /* nothing of this run counts */
                return -1;
            }
            j->offset += run;
            atomic_store(&j->fill, j->offset);
            if (j->offset > j->active_size) {
                j->active_size = j->offset; /* an oversized record */
                pthread_mutex_lock(&j->lock);
                j->segs[j->nsegs - 1].bytes = j->offset;
                pthread_mutex_unlock(&j->lock);
            }
            pos += run;
            *done = pos;
        }
        if (pos < len && rotate(j, j->next_seq) < 0)
            return -1;
    }
    return 0;
}

int journal_sync(struct journal *j)
{
    return j->sync ? fdatasync(j->fd) : 0;
}

int journal_prepare(struct journal *j)
{
    pthread_mutex_lock(&j->prep_lock);
    bool needed = j->prepared_fd < 0 && !j->preparing &&
                  atomic_load(&j->fill) >= atomic_load(&j->active_cap) / 2;
    char name[32];
    if (needed) {
        j->preparing = true;
        snprintf(name, sizeof name, "prep-%u" PREPARED_SUFFIX, j->prep_counter++);
    }
    pthread_mutex_unlock(&j->prep_lock);
    if (!needed)
        return 0;

    int fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int saved = errno;
    /* Allocate first (a full disk shows up at once), then initialise. */
    if (fd >= 0 && (preallocate(fd, 0, j->segment_size) < 0 ||
                    zero_fill_paced(fd, j->segment_size, j->sync) < 0)) {
        saved = errno;
        close(fd);
        unlinkat(j->dirfd, name, 0);
        fd = -1;
    }
    pthread_mutex_lock(&j->prep_lock);
    j->preparing = false;
    if (fd >= 0) {
        j->prepared_fd = fd;
        memcpy(j->prepared_name, name, sizeof name);
    }
    pthread_mutex_unlock(&j->prep_lock);
    errno = saved;
    return fd >= 0 ? 0 : -1;
}

int journal_trim(struct journal *j, uint64_t upto)
{
    int deleted = 0;
    char name[32];
    for (;;) {
        pthread_mutex_lock(&j->lock);
        bool go = j->nsegs >= 2 && j->segs[1].first - 1 <= upto;
        uint64_t first = go ? j->segs[0].first : 0;
        if (go)
            segs_remove(j, 0);
        pthread_mutex_unlock(&j->lock);
        if (!go)
            break;
        segment_name(name, sizeof name, first);
        if (unlinkat(j->dirfd, name, 0) < 0 && errno != ENOENT)
            log_error(LOG, "cannot delete %s/%s: %s", j->dir, name,
                      strerror(errno));
        deleted++;
    }
    return deleted;
}

/* ---- readers -------------------------------------------------------------------- */

struct journal_reader {
    struct journal *j;
    int fd;
    uint64_t segment;   /* first seq of the open segment, 0 if none */
    uint64_t offset;
    uint64_t next_seq;
    uint8_t *buf;
    size_t cap;
    uint64_t buf_off;
    size_t buf_len;
    bool gap_logged;
};

struct journal_reader *journal_reader_new(struct journal *j)
{
    struct journal_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->j = j;
    r->fd = -1;
    r->cap = READ_CHUNK;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    return r;
}

void journal_reader_free(struct journal_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r);
}

static int open_segment(struct journal_reader *r, uint64_t first)
{
    char name[32];
    segment_name(name, sizeof name, first);
    if (r->fd >= 0)
        close(r->fd);
    r->fd = openat(r->j->dirfd, name, O_RDONLY | O_CLOEXEC);
    r->segment = r->fd >= 0 ? first : 0;
    r->buf_len = 0;
    r->buf_off = 0;
    return r->fd >= 0 ? 0 : -1;
}

/* The segment holding `seq` (the oldest if it was trimmed), or 0. */
static uint64_t segment_for(struct journal *j, uint64_t seq)
{
    pthread_mutex_lock(&j->lock);
    uint64_t found = j->nsegs ? j->segs[0].first : 0;
    for (size_t i = 0; i < j->nsegs && j->segs[i].first <= seq; i++)
        found = j->segs[i].first;
    pthread_mutex_unlock(&j->lock);
    return found;
}

static uint64_t segment_after(struct journal *j, uint64_t first)
{
    uint64_t found = 0;
    pthread_mutex_lock(&j->lock);
    for (size_t i = 0; i < j->nsegs; i++)
        if (j->segs[i].first > first) {
            found = j->segs[i].first;
            break;
        }
    pthread_mutex_unlock(&j->lock);
    return found;
}

/* Makes buf hold [off, off + n) if the file has it.  Returns the bytes
 * available from off (maybe fewer than n at the end of the file), -1 on
 * error. */
static ssize_t fill(struct journal_reader *r, uint64_t off, size_t n, bool fresh)
{
    if (!fresh && off >= r->buf_off && off + n <= r->buf_off + r->buf_len)
        return (ssize_t)(r->buf_off + r->buf_len - off);
    size_t want = n > READ_CHUNK ? n : READ_CHUNK;
    if (want > r->cap) {
        uint8_t *bigger = realloc(r->buf, want);
        if (!bigger) {
            errno = ENOMEM;
            return -1;
        }
        r->buf = bigger;
        r->cap = want;
    }
    ssize_t got = full_pread(r->fd, r->buf, want, off);
    if (got < 0)
        return -1;
    r->buf_off = off;
    r->buf_len = (size_t)got;
    return got;
}

/* Decodes the record at the reader's offset.  1 ok, 0 not there, -1 error. */
static int try_record(struct journal_reader *r, struct journal_record *rec,
                      size_t *size, bool fresh)
{
    size_t need = JOURNAL_RECORD_HEADER;
    for (int round = 0; round < 3; round++) {
        ssize_t have = fill(r, r->offset, need, fresh);
        if (have < 0)
            return -1;
        const uint8_t *p = r->buf + (r->offset - r->buf_off);
        enum journal_decode d = journal_record_decode(p, (size_t)have, rec, size);
        if (d == JOURNAL_DECODE_OK)
            return rec->seq == r->next_seq;
        if (d == JOURNAL_DECODE_BAD || *size <= (size_t)have)
            return 0;
        need = *size; /* SHORT: read the whole record */
        fresh = true;
    }
    return 0;
}

uint64_t journal_reader_seek(struct journal_reader *r, uint64_t seq)
{
    uint64_t first = segment_for(r->j, seq);
    if (!first || open_segment(r, first) < 0) {
        r->next_seq = seq;
        return seq;
    }
    r->offset = JOURNAL_SEGMENT_HEADER;
    r->next_seq = first;
    if (seq > first) {
        struct journal_record rec;
        while (r->next_seq < seq && journal_reader_next(r, seq - 1, &rec) == 1)
            ;
    }
    return r->next_seq;
}

int journal_reader_next(struct journal_reader *r, uint64_t limit,
                        struct journal_record *rec)
{
    if (r->next_seq > limit)
        return 0;
    for (;;) {
        if (r->fd < 0) {
            uint64_t first = segment_for(r->j, r->next_seq);
            if (!first)
                return 0;
            if (open_segment(r, first) < 0)
                return -1;
            r->offset = JOURNAL_SEGMENT_HEADER;
            if (first > r->next_seq)
                r->next_seq = first; /* trimmed past: start at the oldest */
            else if (first < r->next_seq) {
                uint64_t want = r->next_seq;
                r->next_seq = first;
                while (r->next_seq < want) {
                    struct journal_record skip;
                    size_t size;
                    if (try_record(r, &skip, &size, false) != 1)
                        break;
                    r->offset += size;
                    r->next_seq++;
                }
                if (r->next_seq != want)
                    r->next_seq = want;
            }
            if (r->next_seq > limit)
                return 0;
        }
        size_t size;
        int ok = try_record(r, rec, &size, false);
        if (ok == 0)
            ok = try_record(r, rec, &size, true); /* maybe a stale buffer */
        if (ok < 0)
            return -1;
        if (ok == 1) {
            r->offset += size;
            r->next_seq++;
            return 1;
        }
        /* The end of this segment: the record must start the next one. */
        uint64_t next = segment_after(r->j, r->segment);
        if (!next) {
            if (!r->gap_logged)
                log_error(LOG, "record %" PRIu64 " should be in the journal "
                          "but cannot be read", r->next_seq);
            r->gap_logged = true;
            errno = EIO;
            return -1;
        }
        if (next != r->next_seq) {
            log_error(LOG, "records %" PRIu64 "..%" PRIu64 " cannot be read "
                      "from the journal (corruption): skipped", r->next_seq,
                      next - 1);
            r->next_seq = next;
        }
        if (open_segment(r, next) < 0)
            return -1;
        r->offset = JOURNAL_SEGMENT_HEADER;
        r->gap_logged = false;
        if (r->next_seq > limit)
            return 0;
    }
}

void journal_reader_tell(const struct journal_reader *r, struct journal_pos *pos)
{
    pos->segment = r->segment;
    pos->offset = r->offset;
    pos->next_seq = r->next_seq;
}

void journal_reader_restore(struct journal_reader *r,
                            const struct journal_pos *pos)
{
    if (pos->segment != r->segment || r->fd < 0) {
        if (!pos->segment || open_segment(r, pos->segment) < 0) {
            if (r->fd >= 0)
                close(r->fd);
            r->fd = -1;
            r->segment = 0;
        }
    }
    r->offset = pos->offset;
    r->next_seq = pos->next_seq;
}
