#include "build-config.h"

#include "xmpp/stamp.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The instants XEP-0082 can write: 0000-01-01T00:00:00Z up to the last
 * microsecond of 9999. */
#define STAMP_MIN_US (-62167219200LL * 1000000)
#define STAMP_MAX_US (253402300800LL * 1000000 - 1)

void stamp_format(int64_t at_us, char out[STAMP_TEXT_MAX])
{
    /* Outside (a client's offset can take year 0 into year -1): the
     * nearest instant it can write. */
    if (at_us < STAMP_MIN_US)
        at_us = STAMP_MIN_US;
    if (at_us > STAMP_MAX_US)
        at_us = STAMP_MAX_US;
    time_t secs = (time_t)(at_us / 1000000);
    int64_t frac = at_us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(out, STAMP_TEXT_MAX, "1970-01-01T00:00:00.000Z");
        return;
    }
    /* Four-digit years always (strftime's %Y writes year 1 as "1").  The
     * ranges show the compiler that the text fits. */
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000;
    snprintf(out, STAMP_TEXT_MAX, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", y,
             (unsigned)tm.tm_mon % 12 + 1, (unsigned)tm.tm_mday % 32,
             (unsigned)tm.tm_hour % 24, (unsigned)tm.tm_min % 60,
             (unsigned)tm.tm_sec % 61, (unsigned)(frac / 1000) % 1000);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int stamp_parse(const char *s, int64_t *at_us)
{
    int y, mo, d, h, mi, sec;
    if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' ||
        digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
        s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
        digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    int64_t frac_us = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        int64_t scale = 100000;
        while (*p >= '0' && *p <= '9') {
            if (n < 6)
                frac_us += (*p - '0') * scale;
            scale /= 10;
            n++;
            p++;
        }
        if (n == 0)
            return -1;
    }
    int64_t offset_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) ||
            oh > 23 || om > 59)
            return -1;
        offset_s = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
                   (sec == 60 ? 59 : sec) - offset_s;
    *at_us = secs * 1000000 + frac_us;
    return 0;
}

int64_t stamp_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
