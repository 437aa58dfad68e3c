/* Time zones without the process-wide TZ variable: the UTC offset of an
 * IANA zone (a TZif file, RFC 8536, from /usr/share/zoneinfo) or of a
 * POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3") at any instant.
 *
 * Why by hand: localtime_r() works only on the zone named by the TZ
 * environment variable, which is one per process and not thread-safe to
 * change; the desk needs each queue's own zone (business hours).
 *
 * Loading reads a file and blocks: do it on the DB thread or in
 * mucdeskctl.  Everything else is pure. */
#ifndef MUCDESK_CORE_TZ_H
#define MUCDESK_CORE_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tz;

/* From the bytes of a TZif file (versions 1 to 4).  NULL if malformed. */
struct tz *tz_from_tzif(const unsigned char *data, size_t len);
/* From a POSIX TZ rule (as in a TZif footer or the TZ variable, without a
 * leading ':').  NULL if malformed. */
struct tz *tz_from_posix(const char *rule);
/* Reads the zone `name` ("Europe/Paris", "UTC") from $TZDIR or
 * /usr/share/zoneinfo.  NULL with a one-line reason in err. */
struct tz *tz_load(const char *name, char *err, size_t errlen);
/* UTC itself (never fails for lack of files). */
struct tz *tz_utc(void);
void tz_free(struct tz *tz);

/* Seconds east of UTC in force at `utc` (Unix seconds). */
int tz_offset(const struct tz *tz, int64_t utc);

/* Civil date of a day count since 1970-01-01, and back; weekday 0 = Monday. */
int64_t tz_days_from_civil(int y, unsigned m, unsigned d);
void tz_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);
unsigned tz_weekday(int64_t days);

#endif
