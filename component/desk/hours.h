/* Business hours of a queue: parsing the admin's text and telling whether
 * the queue is open at an instant, in the queue's time zone.  Pure
 * (unit-tested in tests/unit/test_desk_hours.c).
 *
 * The text: entries separated by ';' or new lines, each a day spec and
 * time ranges, or a date and time ranges or "closed":
 *
 *     mon-fri 09:00-12:30 13:30-17:30; sat 10:00-14:00
 *     fri 22:00-02:00                  (past midnight: into saturday)
 *     2025-12-24 09:00-12:00; 2025-12-25 closed
 *
 * Days: mon tue wed thu fri sat sun (or full names), ranges "mon-fri"
 * (wrapping: "fri-mon"), lists "sat,sun", or "daily".  Times HH:MM, 24:00
 * for the end of the day.  A date line replaces that whole day.  An empty
 * text means always open. */
#ifndef MUCDESK_DESK_HOURS_H
#define MUCDESK_DESK_HOURS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tz.h"

#define DESK_HOURS_RANGES 8
#define DESK_HOURS_DATES 32

struct desk_day_hours {
    unsigned count;
    struct {
        uint16_t from, to;     /* minutes after midnight, [from, to) */
    } r[DESK_HOURS_RANGES];
};

struct desk_hours {
    bool always;                      /* no hours given: always open */
    struct desk_day_hours week[7];    /* Monday = 0 */
    size_t date_count;
    struct {
        int64_t day;                  /* days since 1970-01-01 */
        struct desk_day_hours hours;
    } dates[DESK_HOURS_DATES];
};

/* 0, or -1 with what is wrong (for an admin: "hours: ...") in err. */
int desk_hours_parse(const char *text, struct desk_hours *out, char *err,
                     size_t errlen);
/* Whether the hours include `utc` (Unix seconds) in time zone tz. */
bool desk_hours_open(const struct desk_hours *h, const struct tz *tz,
                     int64_t utc);

#endif
