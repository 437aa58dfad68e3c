/* Unit tests: time zones (core/tz.c: TZif files and POSIX rules, across
 * DST changes and in both hemispheres) and business hours
 * (desk/hours.c).  Tests of zone files are skipped if the system has no
 * /usr/share/zoneinfo. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tz.h"
#include "desk/hours.h"

/* Unix seconds of a UTC date and time. */
static int64_t utc(int y, unsigned mo, unsigned d, int h, int mi, int s)
{
    return tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static struct tz *zone(const char *name)
{
    char err[200];
    struct tz *tz = tz_load(name, err, sizeof err);
    if (!tz)
        print_message("%s: %s\n", name, err);
    return tz;
}

static bool have_zoneinfo(void)
{
    return access("/usr/share/zoneinfo/Europe/Paris", R_OK) == 0 ||
           getenv("TZDIR");
}

static void test_civil(void **state)
{
    (void)state;
    assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(tz_days_from_civil(2000, 3, 1), 11017);
    int y;
    unsigned m, d;
    tz_civil_from_days(19782, &y, &m, &d); /* 2024-02-29 */
    assert_int_equal(y, 2024);
    assert_int_equal(m, 2);
    assert_int_equal(d, 29);
    tz_civil_from_days(-1, &y, &m, &d);
    assert_int_equal(y, 1969);
    assert_int_equal(d, 31);
    assert_int_equal(tz_weekday(0), 3);                                 /* Thu */
    assert_int_equal(tz_weekday(tz_days_from_civil(2024, 3, 31)), 6);   /* Sun */
    assert_int_equal(tz_weekday(-1), 2);                                /* Wed */
}

static void test_posix_rules(void **state)
{
    (void)state;
    struct tz *cet = tz_from_posix("CET-1CEST,M3.5.0,M10.5.0/3");
    assert_non_null(cet);
    /* 2024: summer time from Sunday 31 March 01:00 UTC to Sunday 27 October
     * 01:00 UTC. */
    assert_int_equal(tz_offset(cet, utc(2024, 3, 31, 0, 59, 59)), 3600);
    assert_int_equal(tz_offset(cet, utc(2024, 3, 31, 1, 0, 0)), 7200);
    assert_int_equal(tz_offset(cet, utc(2024, 10, 27, 0, 59, 59)), 7200);
    assert_int_equal(tz_offset(cet, utc(2024, 10, 27, 1, 0, 0)), 3600);
    assert_int_equal(tz_offset(cet, utc(2024, 1, 1, 0, 0, 0)), 3600);
    tz_free(cet);
    /* Southern hemisphere: summer across the new year. */
    struct tz *syd = tz_from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3");
    assert_non_null(syd);
    assert_int_equal(tz_offset(syd, utc(2024, 1, 15, 0, 0, 0)), 11 * 3600);
    assert_int_equal(tz_offset(syd, utc(2024, 7, 15, 0, 0, 0)), 10 * 3600);
    /* 7 April 2024 03:00 AEDT = 6 April 16:00 UTC. */
    assert_int_equal(tz_offset(syd, utc(2024, 4, 6, 15, 59, 59)), 11 * 3600);
    assert_int_equal(tz_offset(syd, utc(2024, 4, 6, 16, 0, 0)), 10 * 3600);
    tz_free(syd);
    struct tz *odd = tz_from_posix("<+0330>-3:30");
    assert_non_null(odd);
    assert_int_equal(tz_offset(odd, 0), 12600);
    tz_free(odd);
    struct tz *j = tz_from_posix("XST5XDT,J60/0,J300");
    assert_non_null(j); /* J60 is 1 March, leap year or not */
    assert_int_equal(tz_offset(j, utc(2024, 3, 1, 4, 59, 0)), -5 * 3600);
    assert_int_equal(tz_offset(j, utc(2024, 3, 1, 5, 0, 0)), -4 * 3600);
    tz_free(j);
    assert_null(tz_from_posix("C"));
    assert_null(tz_from_posix("CET-1CEST,M13.5.0,M10.5.0"));
    assert_null(tz_from_posix("CET-1CEST,M3.5.0"));
    assert_null(tz_from_posix(""));
}

static void test_zone_files(void **state)
{
    (void)state;
    if (!have_zoneinfo())
        skip();
    struct tz *paris = zone("Europe/Paris");
    assert_non_null(paris);
    assert_int_equal(tz_offset(paris, utc(2024, 3, 31, 0, 59, 59)), 3600);
    assert_int_equal(tz_offset(paris, utc(2024, 3, 31, 1, 0, 0)), 7200);
    assert_int_equal(tz_offset(paris, utc(2024, 10, 27, 1, 0, 0)), 3600);
    /* Beyond the file's table: its POSIX footer rule. */
    assert_int_equal(tz_offset(paris, utc(2100, 7, 1, 12, 0, 0)), 7200);
    assert_int_equal(tz_offset(paris, utc(2100, 12, 1, 12, 0, 0)), 3600);
    /* 1940-06-15: German occupation time (CEST, +2). */
    assert_int_equal(tz_offset(paris, utc(1940, 7, 1, 0, 0, 0)), 7200);
    tz_free(paris);
    struct tz *ny = zone("America/New_York");
    assert_non_null(ny);
    assert_int_equal(tz_offset(ny, utc(2024, 3, 10, 6, 59, 59)), -5 * 3600);
    assert_int_equal(tz_offset(ny, utc(2024, 3, 10, 7, 0, 0)), -4 * 3600);
    tz_free(ny);
    struct tz *kol = zone("Asia/Kolkata");
    assert_non_null(kol);
    assert_int_equal(tz_offset(kol, utc(2024, 6, 1, 0, 0, 0)), 19800);
    tz_free(kol);
    char err[200];
    assert_null(tz_load("Mars/Olympus_Mons", err, sizeof err));
    assert_non_null(strstr(err, "unknown time zone"));
    assert_null(tz_load("../etc/passwd", err, sizeof err));
    assert_null(tz_load("/etc/localtime", err, sizeof err));
    struct tz *u = tz_load("UTC", err, sizeof err);
    assert_non_null(u);
    assert_int_equal(tz_offset(u, 1700000000), 0);
    tz_free(u);
    static const unsigned char junk[] = "TZif2 not really";
    assert_null(tz_from_tzif(junk, sizeof junk));
}

static bool open_at(const struct desk_hours *h, const struct tz *tz, int y,
                    unsigned mo, unsigned d, int hh, int mi)
{
    return desk_hours_open(h, tz, utc(y, mo, d, hh, mi, 0));
}

static void test_hours_across_dst(void **state)
{
    (void)state;
    struct desk_hours h;
    char err[200];
    assert_int_equal(desk_hours_parse("mon-fri 09:00-17:30; sat 10:00-14:00",
                                      &h, err, sizeof err), 0);
    struct tz *cet = tz_from_posix("CET-1CEST,M3.5.0,M10.5.0/3");
    /* Monday 25 March 2024 (winter, +1): 09:00 local is 08:00 UTC. */
    assert_false(open_at(&h, cet, 2024, 3, 25, 7, 59));
    assert_true(open_at(&h, cet, 2024, 3, 25, 8, 0));
    assert_true(open_at(&h, cet, 2024, 3, 25, 16, 29));
    assert_false(open_at(&h, cet, 2024, 3, 25, 16, 30));
    /* Monday 1 April 2024 (summer, +2): 09:00 local is 07:00 UTC. */
    assert_false(open_at(&h, cet, 2024, 4, 1, 6, 59));
    assert_true(open_at(&h, cet, 2024, 4, 1, 7, 0));
    assert_false(open_at(&h, cet, 2024, 4, 1, 15, 30));
    /* Saturday 30 March (winter) until 14:00 local, Sunday never. */
    assert_true(open_at(&h, cet, 2024, 3, 30, 12, 59));
    assert_false(open_at(&h, cet, 2024, 3, 30, 13, 0));
    assert_false(open_at(&h, cet, 2024, 3, 31, 10, 0));
    /* The same instant is Sunday evening in New York: closed there. */
    struct tz *nyr = tz_from_posix("EST5EDT,M3.2.0,M11.1.0");
    assert_false(open_at(&h, nyr, 2024, 4, 1, 2, 0));  /* Sun 22:00 EDT */
    assert_true(open_at(&h, nyr, 2024, 4, 1, 13, 0));  /* Mon 09:00 EDT */
    assert_false(open_at(&h, nyr, 2024, 3, 4, 13, 0)); /* Mon 08:00 EST */
    assert_true(open_at(&h, nyr, 2024, 3, 4, 14, 0));  /* Mon 09:00 EST */
    tz_free(nyr);
    tz_free(cet);
}

static void test_hours_midnight_dates_and_errors(void **state)
{
    (void)state;
    struct desk_hours h;
    char err[200];
    struct tz *z = tz_utc();
    assert_int_equal(desk_hours_parse("fri 22:00-02:00", &h, err, sizeof err),
                     0);
    /* 2024-03-29 is a Friday. */
    assert_false(open_at(&h, z, 2024, 3, 29, 21, 59));
    assert_true(open_at(&h, z, 2024, 3, 29, 23, 30));
    assert_true(open_at(&h, z, 2024, 3, 30, 1, 59));
    assert_false(open_at(&h, z, 2024, 3, 30, 2, 0));
    assert_int_equal(desk_hours_parse("daily 09:00-17:00\n2024-12-25 closed;"
                                      "2024-12-24 09:00-12:00",
                                      &h, err, sizeof err), 0);
    assert_false(open_at(&h, z, 2024, 12, 25, 10, 0));
    assert_true(open_at(&h, z, 2024, 12, 24, 11, 0));
    assert_false(open_at(&h, z, 2024, 12, 24, 12, 30));
    assert_true(open_at(&h, z, 2024, 12, 26, 16, 59));
    assert_int_equal(desk_hours_parse("Sat,Sunday 10:00-12:00,14:00-24:00",
                                      &h, err, sizeof err), 0);
    assert_true(open_at(&h, z, 2024, 3, 31, 23, 59));
    assert_false(open_at(&h, z, 2024, 3, 31, 13, 0));
    assert_int_equal(desk_hours_parse("  ", &h, err, sizeof err), 0);
    assert_true(h.always);
    assert_true(open_at(&h, z, 2024, 3, 31, 3, 0));
    static const char *const bad[] = {
        "mon 9:00-17:00", "xyz 09:00-10:00", "mon", "2024-02-30 closed",
        "mon closed", "mon 10:00-10:00", "mon 10:00-25:00",
        "2024-12-24 22:00-02:00", "mon 09:00-10:00 closed", NULL};
    for (const char *const *b = bad; *b; b++) {
        err[0] = '\0';
        if (desk_hours_parse(*b, &h, err, sizeof err) == 0)
            fail_msg("accepted: %s", *b);
        assert_int_equal(strncmp(err, "hours: ", 7), 0);
    }
    tz_free(z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_posix_rules),
        cmocka_unit_test(test_zone_files),
        cmocka_unit_test(test_hours_across_dst),
        cmocka_unit_test(test_hours_midnight_dates_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
