/* Time zones: TZif files (RFC 8536) and POSIX TZ rules, evaluated without
 * touching the process's TZ.  See tz.h for why. */
#include "build-config.h"

#include "core/tz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZIF_MAX_BYTES (256 * 1024)

/* A date of a POSIX rule: Jn (1-365, no Feb 29), n (0-365), Mm.w.d. */
struct rule_date {
    char kind;          /* 'J', 'n' or 'M' */
    int a, b, c;        /* n, or m, w, d */
    int32_t time;       /* seconds after local midnight (may be < 0 or > 1 day) */
};

struct posix_rule {
    int32_t std_off, dst_off;   /* seconds east of UTC */
    bool has_dst;
    struct rule_date start, end;
};

struct tz {
    size_t count;               /* transitions */
    int64_t *times;             /* UTC, ascending */
    int32_t *offsets;           /* in force from times[i] */
    int32_t first_offset;       /* before the first transition */
    bool has_rule;              /* after the last transition */
    struct posix_rule rule;
};

/* ---- civil dates (Howard Hinnant's algorithms) ------------------------------ */

int64_t tz_days_from_civil(int y, unsigned m, unsigned d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    unsigned yoe = (unsigned)(yy - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void tz_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

unsigned tz_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday (3 with Monday = 0). */
    return (unsigned)(((days % 7) + 7 + 3) % 7);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ---- POSIX TZ rules ---------------------------------------------------------- */

static const char *parse_name(const char *p)
{
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e && e - p >= 2 ? e + 1 : NULL;
    }
    const char *s = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]h[h[h]][:mm[:ss]] into seconds; max_hours bounds the hours. */
static const char *parse_hms(const char *p, int max_hours, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (*p < '0' || *p > '9')
        return NULL;
    int h = 0, n = 0;
    while (*p >= '0' && *p <= '9' && n < 3) {
        h = h * 10 + (*p++ - '0');
        n++;
    }
    if (h > max_hours)
        return NULL;
    int mm = 0, ss = 0;
    if (*p == ':') {
        p++;
        if (p[0] < '0' || p[0] > '5' || p[1] < '0' || p[1] > '9')
            return NULL;
        mm = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
        if (*p == ':') {
            p++;
            if (p[0] < '0' || p[0] > '5' || p[1] < '0' || p[1] > '9')
                return NULL;
            ss = (p[0] - '0') * 10 + (p[1] - '0');
            p += 2;
        }
    }
    *out = sign * (h * 3600 + mm * 60 + ss);
    return p;
}

static const char *parse_int(const char *p, int min, int max, int *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    long v = 0;
    while (*p >= '0' && *p <= '9' && v <= max)
        v = v * 10 + (*p++ - '0');
    if (v < min || v > max)
        return NULL;
    *out = (int)v;
    return p;
}

static const char *parse_date(const char *p, struct rule_date *r)
{
    if (*p == 'J') {
        r->kind = 'J';
        p = parse_int(p + 1, 1, 365, &r->a);
    } else if (*p == 'M') {
        r->kind = 'M';
        p = parse_int(p + 1, 1, 12, &r->a);
        if (!p || *p++ != '.' || !(p = parse_int(p, 1, 5, &r->b)) ||
            *p++ != '.')
            return NULL;
        p = parse_int(p, 0, 6, &r->c);
    } else {
        r->kind = 'n';
        p = parse_int(p, 0, 365, &r->a);
    }
    if (!p)
        return NULL;
    r->time = 2 * 3600;
    if (*p == '/')
        p = parse_hms(p + 1, 167, &r->time);
    return p;
}

static int parse_rule(const char *p, struct posix_rule *r)
{
    memset(r, 0, sizeof *r);
    int32_t off;
    if (!(p = parse_name(p)) || !(p = parse_hms(p, 24, &off)))
        return -1;
    r->std_off = -off; /* POSIX offsets count west */
    if (!*p)
        return 0;
    if (!(p = parse_name(p)))
        return -1;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_hms(p, 24, &off)))
            return -1;
        r->dst_off = -off;
    }
    if (!*p) {
        /* No rule: the traditional US one. */
        r->start = (struct rule_date){'M', 3, 2, 0, 7200};
        r->end = (struct rule_date){'M', 11, 1, 0, 7200};
        return 0;
    }
    if (*p++ != ',' || !(p = parse_date(p, &r->start)) || *p++ != ',' ||
        !(p = parse_date(p, &r->end)))
        return -1;
    return *p ? -1 : 0;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The day (since 1970) a rule date falls on in year y. */
static int64_t rule_day(const struct rule_date *r, int y)
{
    int64_t jan1 = tz_days_from_civil(y, 1, 1);
    switch (r->kind) {
    case 'J':
        return jan1 + r->a - 1 + (leap(y) && r->a >= 60);
    case 'n':
        return jan1 + r->a;
    default: {
        int64_t first = tz_days_from_civil(y, (unsigned)r->a, 1);
        int64_t next = r->a == 12 ? tz_days_from_civil(y + 1, 1, 1)
                                  : tz_days_from_civil(y, (unsigned)r->a + 1, 1);
        unsigned wd_sun = (tz_weekday(first) + 1) % 7; /* Sunday = 0 */
        int64_t day = first + ((unsigned)r->c + 7 - wd_sun) % 7 +
                      7 * (int64_t)(r->b - 1);
        while (day >= next)
            day -= 7;
        return day;
    }
    }
}

static int32_t rule_offset(const struct posix_rule *r, int64_t utc)
{
    if (!r->has_dst)
        return r->std_off;
    int y;
    unsigned m, d;
    tz_civil_from_days(floor_div(utc + r->std_off, 86400), &y, &m, &d);
    int64_t start = rule_day(&r->start, y) * 86400 + r->start.time - r->std_off;
    int64_t end = rule_day(&r->end, y) * 86400 + r->end.time - r->dst_off;
    bool dst = start < end ? (utc >= start && utc < end)
                           : !(utc >= end && utc < start);
    return dst ? r->dst_off : r->std_off;
}

/* ---- TZif ------------------------------------------------------------------ */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
    char version;
    uint32_t isut, isstd, leap, time, type, chars;
};

static int read_header(const unsigned char *p, size_t len,
                       struct tzif_header *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    h->version = (char)p[4];
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chars = be32(p + 40);
    if (h->type == 0 || h->type > 256 || h->time > 100000 ||
        h->leap > 10000 || h->chars > 100000 ||
        (h->isut && h->isut != h->type) || (h->isstd && h->isstd != h->type))
        return -1;
    return 0;
}

static size_t block_size(const struct tzif_header *h, size_t tsize)
{
    return h->time * tsize + h->time + h->type * 6 + h->chars +
           h->leap * (tsize + 4) + h->isstd + h->isut;
}

struct tz *tz_from_tzif(const unsigned char *data, size_t len)
{
    struct tzif_header h;
    if (read_header(data, len, &h) < 0)
        return NULL;
    size_t tsize = 4;
    const unsigned char *p = data + 44;
    size_t left = len - 44;
    if (h.version >= '2') {
        /* Skip the 32-bit block: the 64-bit one follows with its header. */
        size_t skip = block_size(&h, 4);
        if (skip > left || read_header(p + skip, left - skip, &h) < 0)
            return NULL;
        p += skip + 44;
        left -= skip + 44;
        tsize = 8;
    }
    size_t need = block_size(&h, tsize);
    if (need > left)
        return NULL;
    struct tz *tz = calloc(1, sizeof *tz);
    if (!tz)
        return NULL;
    tz->times = calloc(h.time + 1, sizeof *tz->times);
    tz->offsets = calloc(h.time + 1, sizeof *tz->offsets);
    if (!tz->times || !tz->offsets)
        goto bad;
    const unsigned char *times = p;
    const unsigned char *idx = times + h.time * tsize;
    const unsigned char *types = idx + h.time;
    for (uint32_t i = 0; i < h.time; i++) {
        tz->times[i] = tsize == 8 ? be64(times + 8 * i)
                                  : (int64_t)(int32_t)be32(times + 4 * i);
        if (i && tz->times[i] <= tz->times[i - 1])
            goto bad;
        if (idx[i] >= h.type)
            goto bad;
        tz->offsets[i] = (int32_t)be32(types + 6 * idx[i]);
    }
    tz->count = h.time;
    tz->first_offset = (int32_t)be32(types);
    p += need;
    left -= need;
    if (tsize == 8 && left >= 2 && p[0] == '\n') {
        const unsigned char *nl = memchr(p + 1, '\n', left - 1);
        if (!nl)
            goto bad;
        size_t n = (size_t)(nl - p - 1);
        if (n > 0) {
            char rule[128];
            if (n >= sizeof rule)
                goto bad;
            memcpy(rule, p + 1, n);
            rule[n] = '\0';
            if (parse_rule(rule, &tz->rule) < 0)
                goto bad;
            tz->has_rule = true;
        }
    }
    return tz;
bad:
    tz_free(tz);
    return NULL;
}

struct tz *tz_from_posix(const char *rule)
{
    struct tz *tz = calloc(1, sizeof *tz);
    if (!tz)
        return NULL;
    if (!rule || parse_rule(rule, &tz->rule) < 0) {
        free(tz);
        return NULL;
    }
    tz->has_rule = true;
    tz->first_offset = tz->rule.std_off;
    return tz;
}

struct tz *tz_utc(void)
{
    return tz_from_posix("UTC0");
}

static bool name_ok(const char *name)
{
    if (!name[0] || name[0] == '/' || strlen(name) > 100 || strstr(name, ".."))
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '/' || *c == '_' ||
              *c == '-' || *c == '+'))
            return false;
    return true;
}

struct tz *tz_load(const char *name, char *err, size_t errlen)
{
    if (!name || !name_ok(name)) {
        snprintf(err, errlen, "'%s' is not a time zone name",
                 name ? name : "");
        return NULL;
    }
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return tz_utc();
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo",
             name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "unknown time zone %s (%s)", name,
                 strerror(errno));
        return NULL;
    }
    unsigned char *data = malloc(TZIF_MAX_BYTES);
    size_t len = data ? fread(data, 1, TZIF_MAX_BYTES, f) : 0;
    fclose(f);
    struct tz *tz = data ? tz_from_tzif(data, len) : NULL;
    free(data);
    if (!tz)
        snprintf(err, errlen, "%s is not a valid time zone file", path);
    return tz;
}

void tz_free(struct tz *tz)
{
    if (!tz)
        return;
    free(tz->times);
    free(tz->offsets);
    free(tz);
}

int tz_offset(const struct tz *tz, int64_t utc)
{
    if (tz->count == 0 || utc < tz->times[0])
        return tz->count == 0 && tz->has_rule ? rule_offset(&tz->rule, utc)
                                              : tz->first_offset;
    if (utc >= tz->times[tz->count - 1] && tz->has_rule)
        return rule_offset(&tz->rule, utc);
    /* The last transition at or before utc. */
    size_t lo = 0, hi = tz->count;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->times[mid] <= utc)
            lo = mid;
        else
            hi = mid;
    }
    return tz->offsets[lo];
}
