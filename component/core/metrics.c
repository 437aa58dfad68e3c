/* The metrics registry and the Prometheus text format (0.0.4):
 *
 *   # HELP name text            (text: \ and newline escaped)
 *   # TYPE name counter|gauge|histogram
 *   name{label="value",...} number
 *
 * Label values escape \, " and newline; histograms write cumulative
 * name_bucket{le="..."} lines ending with le="+Inf", then name_sum and
 * name_count.  Written by hand: the format is these few lines, and no
 * Debian library writes it for C. */
#include "build-config.h"

#include "core/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct family {
    const char *name;
    const char *help;
    enum metrics_type type;
    metrics_collect_fn collect;
    void *ud;
};

struct metrics {
    struct family *families;
    size_t count, cap;
};

struct metrics_out {
    struct buf *buf;
    const struct family *family;
};

/* ---- histograms ------------------------------------------------------------ */

int metrics_histogram_init(struct metrics_histogram *h, const double *bounds,
                           size_t nbounds)
{
    memset(h, 0, sizeof *h);
    if (nbounds > METRICS_MAX_BUCKETS)
        return -1;
    for (size_t i = 1; i < nbounds; i++)
        if (!(bounds[i - 1] < bounds[i]))
            return -1;
    h->bounds = bounds;
    h->nbounds = nbounds;
    return 0;
}

void metrics_histogram_observe(struct metrics_histogram *h, double value)
{
    size_t i = 0;
    while (i < h->nbounds && value > h->bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += value;
}

/* ---- the registry -------------------------------------------------------------- */

static bool name_valid(const char *s, bool colons)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '_' || (colons && c == ':') ||
                  (p > s && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

struct metrics *metrics_new(void)
{
    return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    free(m->families);
    free(m);
}

int metrics_add(struct metrics *m, const char *name, enum metrics_type type,
                const char *help, metrics_collect_fn collect, void *ud)
{
    if (!name_valid(name, true) || !collect)
        return -1;
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->families[i].name, name) == 0)
            return -1;
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        struct family *f = realloc(m->families, cap * sizeof *f);
        if (!f)
            return -1;
        m->families = f;
        m->cap = cap;
    }
    m->families[m->count++] =
        (struct family){name, help ? help : "", type, collect, ud};
    return 0;
}

static void collect_u64(void *ud, struct metrics_out *out)
{
    metrics_sample_u64(out, NULL, 0, *(const uint64_t *)ud);
}

int metrics_add_u64(struct metrics *m, const char *name,
                    enum metrics_type type, const char *help,
                    const uint64_t *value)
{
    if (type == METRICS_HISTOGRAM)
        return -1;
    /* The value is only read. */
    return metrics_add(m, name, type, help, collect_u64, (void *)value);
}

/* ---- writing ------------------------------------------------------------------ */

void metrics_format_double(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    /* The fewest significant digits that read back exactly (0.1, not
     * 0.10000000000000001), written without an exponent from 1e-4 to
     * 1e21 (10, not 1e+01), as Go's strconv does for Prometheus. */
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(out, size, "%.*e", prec - 1, v);
        if (strtod(out, NULL) == v)
            break;
    }
    snprintf(out, size, "%.*e", prec - 1, v);
    const char *e = strchr(out, 'e');
    int exp = e ? atoi(e + 1) : 0;
    if (exp >= -4 && exp < 21) {
        int decimals = prec - 1 - exp;
        snprintf(out, size, "%.*f", decimals > 0 ? decimals : 0, v);
    }
}

static void escape(struct buf *b, const char *s, bool quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\')
            buf_append_str(b, "\\\\");
        else if (*p == '\n')
            buf_append_str(b, "\\n");
        else if (quote && *p == '"')
            buf_append_str(b, "\\\"");
        else
            buf_append_char(b, *p);
    }
}

static bool labels_valid(const struct metrics_label *labels, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!name_valid(labels[i].name, false) ||
            strncmp(labels[i].name, "__", 2) == 0 ||
            strcmp(labels[i].name, "le") == 0 || !labels[i].value)
            return false;
    return true;
}

/* name[suffix]{labels[,le="le"]} (the space before the value included). */
static void sample_head(struct metrics_out *out, const char *suffix,
                        const struct metrics_label *labels, size_t n,
                        const char *le)
{
    struct buf *b = out->buf;
    buf_append_str(b, out->family->name);
    if (suffix)
        buf_append_str(b, suffix);
    if (n || le) {
        buf_append_char(b, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_append_char(b, ',');
            buf_append_str(b, labels[i].name);
            buf_append_str(b, "=\"");
            escape(b, labels[i].value, true);
            buf_append_char(b, '"');
        }
        if (le)
            buf_printf(b, "%sle=\"%s\"", n ? "," : "", le);
        buf_append_char(b, '}');
    }
    buf_append_char(b, ' ');
}

void metrics_sample(struct metrics_out *out, const struct metrics_label *labels,
                    size_t n, double value)
{
    if (out->family->type == METRICS_HISTOGRAM || !labels_valid(labels, n))
        return;
    char num[32];
    metrics_format_double(value, num, sizeof num);
    sample_head(out, NULL, labels, n, NULL);
    buf_append_str(out->buf, num);
    buf_append_char(out->buf, '\n');
}

void metrics_sample_u64(struct metrics_out *out,
                        const struct metrics_label *labels, size_t n,
                        uint64_t value)
{
    if (out->family->type == METRICS_HISTOGRAM || !labels_valid(labels, n))
        return;
    sample_head(out, NULL, labels, n, NULL);
    buf_printf(out->buf, "%llu\n", (unsigned long long)value);
}

void metrics_sample_histogram(struct metrics_out *out,
                              const struct metrics_label *labels, size_t n,
                              const struct metrics_histogram *h)
{
    if (out->family->type != METRICS_HISTOGRAM || !labels_valid(labels, n))
        return;
    char le[32];
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        cumulative += h->counts[i];
        if (i < h->nbounds)
            metrics_format_double(h->bounds[i], le, sizeof le);
        else
            snprintf(le, sizeof le, "+Inf");
        sample_head(out, "_bucket", labels, n, le);
        buf_printf(out->buf, "%llu\n", (unsigned long long)cumulative);
    }
    char sum[32];
    metrics_format_double(h->sum, sum, sizeof sum);
    sample_head(out, "_sum", labels, n, NULL);
    buf_append_str(out->buf, sum);
    buf_append_char(out->buf, '\n');
    sample_head(out, "_count", labels, n, NULL);
    buf_printf(out->buf, "%llu\n", (unsigned long long)h->count);
}

static const char *type_name(enum metrics_type t)
{
    switch (t) {
    case METRICS_COUNTER:
        return "counter";
    case METRICS_GAUGE:
        return "gauge";
    case METRICS_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

void metrics_expose(struct metrics *m, struct buf *b)
{
    for (size_t i = 0; i < m->count; i++) {
        const struct family *f = &m->families[i];
        buf_printf(b, "# HELP %s ", f->name);
        escape(b, f->help, false);
        buf_printf(b, "\n# TYPE %s %s\n", f->name, type_name(f->type));
        struct metrics_out out = {b, f};
        f->collect(f->ud, &out);
    }
}
