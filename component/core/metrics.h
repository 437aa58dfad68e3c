/* Metrics: a registry of families and their Prometheus text exposition
 * (format 0.0.4, what every Prometheus server scrapes).
 *
 * Counting costs nothing here: each module keeps its own counts as plain
 * integers in its own structures, updated on the XMPP thread without locks
 * or atomics, and registers families whose collect function reads them.
 * A scrape (metrics_expose) runs on the XMPP thread too, so it reads the
 * live state directly: gauges such as "chats waiting in a queue" are
 * computed then, not maintained.  The only thing on a hot path is
 * metrics_histogram_observe(), a few comparisons and two additions.
 *
 * Single-threaded: call everything from the thread that owns the counts. */
#ifndef MUCDESK_CORE_METRICS_H
#define MUCDESK_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* What the exposition's HTTP response says it is. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* A histogram with fixed upper bounds (Prometheus' `le`), chosen once. */
#define METRICS_MAX_BUCKETS 16
struct metrics_histogram {
    const double *bounds;    /* ascending, borrowed (use a static array) */
    size_t nbounds;          /* <= METRICS_MAX_BUCKETS */
    uint64_t counts[METRICS_MAX_BUCKETS + 1]; /* per bucket; the last: +Inf */
    uint64_t count;
    double sum;
};

/* 0, or -1 if there are too many bounds or they are not ascending. */
int metrics_histogram_init(struct metrics_histogram *h, const double *bounds,
                           size_t nbounds);
void metrics_histogram_observe(struct metrics_histogram *h, double value);

struct metrics_label {
    const char *name;        /* [a-zA-Z_][a-zA-Z0-9_]*, not "le" */
    const char *value;       /* any UTF-8 text: escaped on output */
};

struct metrics;
/* One exposition being written: handed to collect functions. */
struct metrics_out;

/* Writes the family's samples with metrics_sample*() (possibly none). */
typedef void (*metrics_collect_fn)(void *ud, struct metrics_out *out);

struct metrics *metrics_new(void);
/* NULL is a no-op. */
void metrics_free(struct metrics *m);

/* Registers a family.  name: [a-zA-Z_:][a-zA-Z0-9_:]*, unique; help: one
 * line of text (borrowed, like name: use literals).  Families are exposed
 * in the order they were added.  0, or -1 (bad or duplicate name, no
 * memory). */
int metrics_add(struct metrics *m, const char *name, enum metrics_type type,
                const char *help, metrics_collect_fn collect, void *ud);
/* A family of one sample without labels read from *value at each scrape
 * (the value lives as long as the registry). */
int metrics_add_u64(struct metrics *m, const char *name,
                    enum metrics_type type, const char *help,
                    const uint64_t *value);

/* Inside a collect function: one sample of the family being collected,
 * with n labels (a label with an invalid name drops the sample).  A
 * histogram family takes only metrics_sample_histogram(). */
void metrics_sample(struct metrics_out *out, const struct metrics_label *labels,
                    size_t n, double value);
void metrics_sample_u64(struct metrics_out *out,
                        const struct metrics_label *labels, size_t n,
                        uint64_t value);
void metrics_sample_histogram(struct metrics_out *out,
                              const struct metrics_label *labels, size_t n,
                              const struct metrics_histogram *h);

/* Appends the exposition of every family to out (check buf_failed). */
void metrics_expose(struct metrics *m, struct buf *out);

/* The number as the exposition writes it: the shortest text that reads
 * back as the same double, "+Inf", "-Inf" or "NaN".  size >= 32. */
void metrics_format_double(double v, char *out, size_t size);

#endif
