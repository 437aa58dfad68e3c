/* Business hours: the admin's text into a week of ranges plus dated
 * exceptions; "open now?" through the queue's time zone (core/tz.h). */
#include "build-config.h"

#include "desk/hours.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"

static const char *const day_names[7][2] = {
    {"mon", "monday"}, {"tue", "tuesday"}, {"wed", "wednesday"},
    {"thu", "thursday"}, {"fri", "friday"}, {"sat", "saturday"},
    {"sun", "sunday"},
};

static int day_index(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        for (int k = 0; k < 2; k++)
            if (strlen(day_names[i][k]) == n &&
                strncasecmp(s, day_names[i][k], n) == 0)
                return i;
    return -1;
}

/* "mon-fri,sun" or "daily" into a set of days (bit 0 = Monday). */
static int parse_days(const char *tok, unsigned *set)
{
    *set = 0;
    if (strcasecmp(tok, "daily") == 0) {
        *set = 0x7f;
        return 0;
    }
    const char *p = tok;
    while (*p) {
        const char *end = p + strcspn(p, ",");
        const char *dash = memchr(p, '-', (size_t)(end - p));
        int a = day_index(p, (size_t)((dash ? dash : end) - p));
        int b = dash ? day_index(dash + 1, (size_t)(end - dash - 1)) : a;
        if (a < 0 || b < 0)
            return -1;
        for (int i = a;; i = (i + 1) % 7) {
            *set |= 1u << i;
            if (i == b)
                break;
        }
        p = *end ? end + 1 : end;
    }
    return *set ? 0 : -1;
}

static int parse_date(const char *tok, int64_t *day)
{
    int y, m, d;
    char tail;
    if (strlen(tok) != 10 ||
        sscanf(tok, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return -1;
    *day = tz_days_from_civil(y, (unsigned)m, (unsigned)d);
    int yy;
    unsigned mm, dd;
    tz_civil_from_days(*day, &yy, &mm, &dd);
    return (yy == y && (int)mm == m && (int)dd == d) ? 0 : -1; /* 02-30 */
}

/* "HH:MM" (00:00 to 24:00) into minutes. */
static int parse_time(const char *s, size_t n, int *out)
{
    if (n != 5 || !isdigit((unsigned char)s[0]) ||
        !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return -1;
    *out = h * 60 + m;
    return 0;
}

static int add_range(struct desk_day_hours *d, int from, int to)
{
    if (from >= to)
        return 0;
    if (d->count >= DESK_HOURS_RANGES)
        return -1;
    d->r[d->count].from = (uint16_t)from;
    d->r[d->count].to = (uint16_t)to;
    d->count++;
    return 0;
}

static int fail(char *err, size_t errlen, const char *what, const char *tok)
{
    utf8_snprintf(err, errlen, "hours: %s '%.*s'", what, utf8_prec(tok, 40),
                  tok);
    return -1;
}

/* The entry of a date (YYYY-MM-DD in head): found, or added.  NULL with
 * err if head is no date or there are too many. */
static struct desk_day_hours *date_hours(struct desk_hours *out,
                                         const char *head, char *err,
                                         size_t errlen)
{
    int64_t day;
    if (parse_date(head, &day) < 0) {
        fail(err, errlen, "not a date (YYYY-MM-DD):", head);
        return NULL;
    }
    for (size_t i = 0; i < out->date_count; i++)
        if (out->dates[i].day == day)
            return &out->dates[i].hours;
    if (out->date_count >= DESK_HOURS_DATES) {
        fail(err, errlen, "too many dates at", head);
        return NULL;
    }
    out->dates[out->date_count].day = day;
    return &out->dates[out->date_count++].hours;
}

/* One time range (HH:MM-HH:MM in tok) for a date, or for the days (a
 * bit per weekday).  0, or -1 with err. */
static int add_range_text(struct desk_hours *out, struct desk_day_hours *date,
                          unsigned days, const char *tok, char *err,
                          size_t errlen)
{
    const char *dash = strchr(tok, '-');
    int from, to;
    if (!dash || parse_time(tok, (size_t)(dash - tok), &from) < 0 ||
        parse_time(dash + 1, strlen(dash + 1), &to) < 0 || from == to)
        return fail(err, errlen, "not a time range (HH:MM-HH:MM):", tok);
    if (date) {
        if (to < from)
            return fail(err, errlen, "a date's range cannot pass midnight:",
                        tok);
        if (add_range(date, from, to) < 0)
            return fail(err, errlen, "too many ranges at", tok);
        return 0;
    }
    for (int i = 0; i < 7; i++) {
        if (!(days & (1u << i)))
            continue;
        /* Past midnight: the rest is the next day's. */
        int r1 = add_range(&out->week[i], from, to > from ? to : 1440);
        int r2 = to < from ? add_range(&out->week[(i + 1) % 7], 0, to) : 0;
        if (r1 < 0 || r2 < 0)
            return fail(err, errlen, "too many ranges at", tok);
    }
    return 0;
}

/* One entry ("Mon-Fri 09:00-17:00", "2025-12-25 closed"): 1 if it is
 * empty, 0, or -1 with err. */
static int parse_entry(struct desk_hours *out, char *entry, char *err,
                       size_t errlen)
{
    char *save = NULL;
    char *head = strtok_r(entry, " \t\r", &save);
    if (!head)
        return 1;
    unsigned days = 0;
    struct desk_day_hours *date = NULL;
    if (isdigit((unsigned char)head[0])) {
        if (!(date = date_hours(out, head, err, errlen)))
            return -1;
    } else if (parse_days(head, &days) < 0) {
        return fail(err, errlen, "not a day, days or date:", head);
    }
    bool ranges = false, closed = false;
    for (char *tok = strtok_r(NULL, " \t\r,", &save); tok;
         tok = strtok_r(NULL, " \t\r,", &save)) {
        if (strcasecmp(tok, "closed") == 0) {
            closed = true;
            continue;
        }
        if (add_range_text(out, date, days, tok, err, errlen) < 0)
            return -1;
        ranges = true;
    }
    if (ranges == closed)
        return fail(err, errlen, closed ? "closed with time ranges at"
                                        : "no time ranges (or 'closed') after",
                    head);
    if (closed && !date)
        return fail(err, errlen, "'closed' is for dates; leave the day out:",
                    head);
    return 0;
}

int desk_hours_parse(const char *text, struct desk_hours *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *copy = strdup(text ? text : "");
    if (!copy)
        return fail(err, errlen, "out of memory at", "");
    bool any = false;
    char *save_entry = NULL;
    for (char *entry = strtok_r(copy, ";\n", &save_entry); entry;
         entry = strtok_r(NULL, ";\n", &save_entry)) {
        int rc = parse_entry(out, entry, err, errlen);
        if (rc < 0) {
            free(copy);
            return -1;
        }
        any |= rc == 0;
    }
    out->always = !any;
    free(copy);
    return 0;
}

static bool in_day(const struct desk_day_hours *d, int minute)
{
    for (unsigned i = 0; i < d->count; i++)
        if (minute >= d->r[i].from && minute < d->r[i].to)
            return true;
    return false;
}

bool desk_hours_open(const struct desk_hours *h, const struct tz *tz,
                     int64_t utc)
{
    if (h->always)
        return true;
    int64_t local = utc + (tz ? tz_offset(tz, utc) : 0);
    int64_t day = local / 86400 - (local % 86400 < 0);
    int minute = (int)((local - day * 86400) / 60);
    for (size_t i = 0; i < h->date_count; i++)
        if (h->dates[i].day == day)
            return in_day(&h->dates[i].hours, minute);
    return in_day(&h->week[tz_weekday(day)], minute);
}
