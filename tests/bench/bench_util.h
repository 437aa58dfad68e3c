/* Helpers shared by the load drivers that play the XMPP server's side of
 * XEP-0114 (muc_load.c, desk_flood.c): a clock, the component's process
 * group (killed on any exit), a latency histogram, an output buffer,
 * /proc readings, CPU pinning, and a scanner that finds stanza boundaries
 * and the top element's attributes without building a tree.
 *
 * Everything is static (inline): each driver is one translation unit.
 * A driver defines BENCH_NAME (its name in messages) before including
 * this. */
#ifndef MUCDESK_BENCH_UTIL_H
#define MUCDESK_BENCH_UTIL_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_NAME
#define BENCH_NAME "muc_load"
#endif

/* ---- small helpers ------------------------------------------------------ */

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The process group of the component the driver started, 0 if none.  The
 * one global: a failing or interrupted driver must not leave a component
 * behind (mucdesk would reconnect to a closed port forever), and die() and
 * the signal handler have nothing else to reach it by. */
static volatile pid_t child_group;

static inline void kill_child_group(void)
{
    pid_t g = child_group;
    if (g <= 0)
        return;
    kill(-g, SIGTERM);
    /* Reap as we go: a zombie still counts as a member of the group. */
    for (int i = 0; i < 50; i++) {
        while (waitpid(-g, NULL, WNOHANG) > 0)
            ;
        if (kill(-g, 0) < 0)
            break;
        usleep(100000);
    }
    kill(-g, SIGKILL);
    child_group = 0;
}

static inline void on_fatal_signal(int sig)
{
    kill_child_group();
    signal(sig, SIG_DFL);
    raise(sig);
}

static inline void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static inline void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(BENCH_NAME ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    kill_child_group();
    exit(2);
}

static inline void *xmalloc(size_t n)
{
    void *p = calloc(1, n);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

/* ---- latency histogram ---------------------------------------------------
 * HDR-style: values below 128 ns have a bucket each; above, every power of
 * two is split into 64 linear sub-buckets, so a value is known to within
 * 1/64 (1.6%).  Fixed size, nothing allocated per sample. */

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_HALF (HIST_SUB / 2)
#define HIST_BUCKETS (HIST_SUB + 58 * HIST_HALF)

struct hist {
    uint64_t count[HIST_BUCKETS];
    uint64_t total, max;
};

static inline unsigned hist_index(uint64_t v)
{
    if (v < HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - (HIST_SUB_BITS - 1);
    unsigned m = (unsigned)(v >> shift); /* in [HIST_HALF, HIST_SUB) */
    return HIST_SUB + (shift - 1) * HIST_HALF + (m - HIST_HALF);
}

/* The highest value that falls into bucket idx: percentiles are reported
 * pessimistically. */
static inline uint64_t hist_upper(unsigned idx)
{
    if (idx < HIST_SUB)
        return idx;
    unsigned shift = (idx - HIST_SUB) / HIST_HALF + 1;
    uint64_t m = (idx - HIST_SUB) % HIST_HALF + HIST_HALF;
    return ((m + 1) << shift) - 1;
}

static inline void hist_add(struct hist *h, uint64_t v)
{
    h->count[hist_index(v)]++;
    h->total++;
    if (v > h->max)
        h->max = v;
}

static inline uint64_t hist_percentile(const struct hist *h, double q)
{
    if (!h->total)
        return 0;
    uint64_t target = (uint64_t)(q * (double)h->total);
    if (target < 1)
        target = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= target) {
            uint64_t v = hist_upper(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

/* ---- output buffer -------------------------------------------------------- */

struct obuf {
    char *data;
    size_t len, off, cap; /* bytes [off, len) are still to be written */
};

static inline void ob_reserve(struct obuf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    if (b->off) { /* slide the unwritten part to the front first */
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + n <= b->cap)
            return;
    }
    size_t cap = b->cap ? b->cap : 1u << 20;
    while (cap < b->len + n)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        die("out of memory (output buffer of %zu bytes)", cap);
    b->data = d;
    b->cap = cap;
}

static inline void ob_put(struct obuf *b, const char *s, size_t n)
{
    ob_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static inline void ob_str(struct obuf *b, const char *s)
{
    ob_put(b, s, strlen(s));
}

static inline void ob_dec(struct obuf *b, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    ob_reserve(b, (size_t)n);
    while (n)
        b->data[b->len++] = tmp[--n];
}

static inline void ob_hex(struct obuf *b, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = digits[v & 15];
        v >>= 4;
    } while (v);
    ob_reserve(b, (size_t)n);
    while (n)
        b->data[b->len++] = tmp[--n];
}

static inline size_t ob_pending(const struct obuf *b)
{
    return b->len - b->off;
}

/* ---- /proc readings ---------------------------------------------------------- */

static inline long read_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* utime + stime of the whole process (all threads), in clock ticks. */
static inline uint64_t read_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may contain spaces: count fields after its ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    p++;
    unsigned long long ut = 0, st = 0;
    /* fields 3..15: state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime */
    if (sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        return 0;
    return ut + st;
}

static inline double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static inline void pin_to(pid_t tid, int cpu, const char *who)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(tid, sizeof set, &set) < 0)
        fprintf(stderr, BENCH_NAME ": cannot pin %s to CPU %d: %s\n", who, cpu,
                strerror(errno));
}

/* Pins every thread of an already running process. */
static inline void pin_process(pid_t pid, int cpu)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) {
        pin_to(pid, cpu, "component");
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (isdigit((unsigned char)e->d_name[0]))
            pin_to((pid_t)atoi(e->d_name), cpu, "component thread");
    closedir(d);
}

/* ---- stanza scanning ---------------------------------------------------------
 * Only what the driver needs: where each top-level element ends, its name,
 * and its type/id/from/to attributes.  The component is trusted to send
 * well-formed XML (it is the thing under test, and the figures would be
 * meaningless otherwise). */

struct span {
    const char *p;
    size_t n;
};

struct stanza {
    const char *p;
    size_t len;
    struct span name, type, id, from, to;
};

/* Length of the element starting at p[0] == '<' if complete, else 0.
 * Returns (size_t)-1 for a closing tag at depth 0: the end of the stream. */
static inline size_t element_end(const char *p, size_t n)
{
    size_t i = 0;
    int depth = 0;
    while (i < n) {
        const char *lt = memchr(p + i, '<', n - i);
        if (!lt)
            return 0;
        i = (size_t)(lt - p);
        if (i + 1 >= n)
            return 0;
        char c = p[i + 1];
        if (c == '/') {
            const char *gt = memchr(p + i, '>', n - i);
            if (!gt)
                return 0;
            i = (size_t)(gt - p) + 1;
            if (depth == 0)
                return (size_t)-1;
            if (--depth == 0)
                return i;
            continue;
        }
        if (c == '!' || c == '?') {
            const char *end = c == '?' ? "?>" : (i + 3 < n && p[i + 2] == '[')
                                                    ? "]]>"
                                                    : "-->";
            const char *e = memmem(p + i + 2, n - i - 2, end, strlen(end));
            if (!e)
                return 0;
            i = (size_t)(e - p) + strlen(end);
            continue;
        }
        /* A start tag: find its '>' outside attribute values. */
        size_t j = i + 1;
        char q = 0;
        for (; j < n; j++) {
            char ch = p[j];
            if (q) {
                if (ch == q)
                    q = 0;
            } else if (ch == '\'' || ch == '"') {
                q = ch;
            } else if (ch == '>') {
                break;
            }
        }
        if (j >= n)
            return 0;
        i = j + 1;
        if (p[j - 1] == '/') {
            if (depth == 0)
                return i;
        } else {
            depth++;
        }
    }
    return 0;
}

static inline bool span_is(struct span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Reads the name and the interesting attributes of the top element. */
static inline void parse_top(struct stanza *st)
{
    const char *p = st->p + 1, *end = st->p + st->len;
    const char *s = p;
    while (p < end && *p != ' ' && *p != '>' && *p != '/' && *p != '\t' &&
           *p != '\n' && *p != '\r')
        p++;
    st->name = (struct span){s, (size_t)(p - s)};
    st->type = st->id = st->from = st->to = (struct span){"", 0};
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p >= end || *p == '>' || *p == '/')
            return;
        const char *an = p;
        while (p < end && *p != '=' && *p != ' ')
            p++;
        size_t anl = (size_t)(p - an);
        while (p < end && *p != '\'' && *p != '"')
            p++;
        if (p >= end)
            return;
        char q = *p++;
        const char *v = p;
        while (p < end && *p != q)
            p++;
        struct span val = {v, (size_t)(p - v)};
        p++;
        if (anl == 4 && memcmp(an, "type", 4) == 0)
            st->type = val;
        else if (anl == 2 && memcmp(an, "id", 2) == 0)
            st->id = val;
        else if (anl == 4 && memcmp(an, "from", 4) == 0)
            st->from = val;
        else if (anl == 2 && memcmp(an, "to", 2) == 0)
            st->to = val;
    }
}

static inline bool parse_hex(const char **pp, const char *end, uint64_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;
    const char *s = p;
    for (; p < end; p++) {
        char c = *p;
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            break;
        v = v * 16 + d;
    }
    if (p == s)
        return false;
    *pp = p;
    *out = v;
    return true;
}

static inline bool parse_dec(const char *p, const char *end, long *out)
{
    long v = 0;
    const char *s = p;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    if (p == s)
        return false;
    *out = v;
    return true;
}


#endif
