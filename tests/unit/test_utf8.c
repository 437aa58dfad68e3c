/* Unit tests: the UTF-8 cut helpers and the well-formedness checks. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* One character of each width, and the first/last of each range. */
static const char *const chars[] = {
    "a",                /* U+0061 */
    "\x7f",             /* U+007F */
    "\xc2\x80",         /* U+0080 */
    "\xc3\xa9",         /* U+00E9 é */
    "\xdf\xbf",         /* U+07FF */
    "\xe0\xa0\x80",     /* U+0800 */
    "\xe2\x82\xac",     /* U+20AC € */
    "\xed\x9f\xbf",     /* U+D7FF */
    "\xee\x80\x80",     /* U+E000 */
    "\xef\xbf\xbd",     /* U+FFFD */
    "\xf0\x90\x80\x80", /* U+10000 */
    "\xf0\x9f\x98\x80", /* U+1F600 😀 */
    "\xf4\x8f\xbf\xbf", /* U+10FFFF */
};
#define NCHARS (sizeof chars / sizeof chars[0])

/* An independent check: is s[0..n) well-formed UTF-8?  Written from the
 * definition (code point ranges), not from Table 3-7 like utf8_decode(). */
static bool well_formed(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3
                                : (c >> 3) == 30  ? 4
                                                  : 0;
        if (!len || i + len > n)
            return false;
        unsigned long cp = len == 1 ? c : c & (0x7F >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const unsigned long min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* Every character, preceded by 0..4 ASCII bytes, cut at every length: the
 * cut keeps the character whole or drops it whole, never part of it. */
static void test_cut_every_boundary(void **state)
{
    (void)state;
    for (size_t c = 0; c < NCHARS; c++) {
        size_t w = strlen(chars[c]);
        for (size_t pre = 0; pre <= 4; pre++) {
            char s[32];
            memset(s, 'x', pre);
            strcpy(s + pre, chars[c]);
            strcat(s, "yz");
            size_t len = strlen(s);
            for (size_t max = 0; max <= len + 2; max++) {
                size_t want = max >= len             ? len
                              : max >= pre + w       ? max
                              : max > pre            ? pre
                                                     : max;
                assert_int_equal(utf8_cut(s, max), want);
                assert_int_equal(utf8_trim(s, max < len ? max : len), want);
                assert_true(well_formed(s, want));
                assert_int_equal(utf8_prec(s, (int)max), (int)want);
            }
        }
    }
    assert_int_equal(utf8_cut("", 0), 0);
    assert_int_equal(utf8_cut("", 5), 0);
    assert_int_equal(utf8_prec("abc", -1), 0);
}

/* A text of mixed widths cut at every length, through every helper. */
static void test_cut_helpers_mixed_text(void **state)
{
    (void)state;
    char text[256] = "";
    for (int round = 0; round < 3; round++)
        for (size_t c = 0; c < NCHARS; c++)
            strcat(text, chars[c]);
    size_t len = strlen(text);
    for (size_t max = 0; max <= len; max++) {
        size_t n = utf8_cut(text, max);
        assert_true(n <= max && n + 3 >= max);
        assert_true(well_formed(text, n));
        /* the longest such prefix: one more character would not fit */
        if (n < len) {
            uint32_t cp;
            assert_true(n + utf8_decode(text + n, len - n, &cp) > max);
        }

        char out[256];
        int r = utf8_snprintf(out, max + 1, "%s", text);
        assert_int_equal(r, (int)n);
        assert_int_equal(strlen(out), n);
        assert_memory_equal(out, text, n);

        char line[300];
        snprintf(line, sizeof line, "[%.*s]", utf8_prec(text, (int)max), text);
        assert_int_equal(strlen(line), n + 2);
        assert_true(well_formed(line, strlen(line)));

        char *dup = utf8_strndup(text, max);
        assert_non_null(dup);
        assert_int_equal(strlen(dup), n);
        free(dup);
    }
    /* Not truncated: snprintf's result, unchanged. */
    char out[64];
    assert_int_equal(utf8_snprintf(out, sizeof out, "%d %s", 42, "\xc3\xa9"), 5);
    assert_string_equal(out, "42 \xc3\xa9");
    assert_int_equal(utf8_snprintf(out, 0, "%s", "x"), 0);
    /* Truncated inside "é": the whole character goes. */
    assert_int_equal(utf8_snprintf(out, 4, "ab\xc3\xa9"), 2);
    assert_string_equal(out, "ab");
}

static void test_decode_valid(void **state)
{
    (void)state;
    static const uint32_t cps[] = {0x61, 0x7F, 0x80, 0xE9, 0x7FF, 0x800,
                                   0x20AC, 0xD7FF, 0xE000, 0xFFFD, 0x10000,
                                   0x1F600, 0x10FFFF};
    for (size_t c = 0; c < NCHARS; c++) {
        uint32_t cp;
        size_t w = strlen(chars[c]);
        assert_int_equal(utf8_decode(chars[c], w, &cp), w);
        assert_int_equal(cp, cps[c]);
        assert_int_equal(utf8_valid_len(chars[c], w), w);
    }
    uint32_t cp;
    assert_int_equal(utf8_decode("\0", 1, &cp), 1);
    assert_int_equal(cp, 0);
}

/* Each class of ill-formed input, and the length of its maximal subpart
 * (what one U+FFFD replaces). */
static void test_decode_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t sub;
    } bad[] = {
        {"\x80", 1},             /* lone continuation */
        {"\xbf", 1},
        {"\xc0\x80", 1},         /* overlong NUL */
        {"\xc1\xbf", 1},         /* overlong U+007F */
        {"\xe0\x80\x80", 1},     /* overlong 3-byte */
        {"\xe0\x9f\xbf", 1},
        {"\xf0\x80\x80\x80", 1}, /* overlong 4-byte */
        {"\xf0\x8f\xbf\xbf", 1},
        {"\xed\xa0\x80", 1},     /* U+D800, a surrogate */
        {"\xed\xbf\xbf", 1},     /* U+DFFF */
        {"\xf4\x90\x80\x80", 1}, /* U+110000 */
        {"\xf5\x80\x80\x80", 1}, /* no such lead byte */
        {"\xfe", 1},
        {"\xff", 1},
        {"\xc3", 1},             /* truncated */
        {"\xc3" "a", 1},
        {"\xe2\x82", 2},
        {"\xe2\x82" "a", 2},
        {"\xf0\x9f\x98", 3},
        {"\xf0\x9f\x98" "a", 3},
        {"\xf0\x9f" "a", 2},
        {"\xf0\x9f\x98\xc3\xa9", 3}, /* a new character after 3 bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t cp = 0;
        size_t n = strlen(bad[i].s);
        assert_int_equal(utf8_decode(bad[i].s, n, &cp), bad[i].sub);
        assert_int_equal(cp, UTF8_INVALID);
        assert_int_equal(utf8_valid_len(bad[i].s, n), 0);
        assert_false(well_formed(bad[i].s, n));
    }
    /* Truncated by the length given, not by a NUL. */
    uint32_t cp;
    assert_int_equal(utf8_decode("\xe2\x82\xac", 2, &cp), 2);
    assert_int_equal(cp, UTF8_INVALID);
}

static void test_decode_agrees_with_definition(void **state)
{
    (void)state;
    /* Every 1-, 2- and 3-byte sequence (and 4-byte ones from every lead):
     * utf8_valid_len() accepts exactly what the definition does. */
    unsigned char s[4];
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (unsigned char)a;
        assert_int_equal(utf8_valid_len((char *)s, 1) == 1,
                         well_formed((char *)s, 1));
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (unsigned char)b;
            assert_int_equal(utf8_valid_len((char *)s, 2) == 2,
                             well_formed((char *)s, 2));
            for (unsigned c = 0x70; c < 0xD0; c++) {
                s[2] = (unsigned char)c;
                assert_int_equal(utf8_valid_len((char *)s, 3) == 3,
                                 well_formed((char *)s, 3));
                s[3] = 0x80;
                assert_int_equal(utf8_valid_len((char *)s, 4) == 4,
                                 well_formed((char *)s, 4));
            }
        }
    }
}

static void test_valid_len(void **state)
{
    (void)state;
    const char *s = "plain ascii text, longer than eight bytes \xc3\xa9 and "
                    "more \xe2\x82\xac\xf0\x9f\x98\x80!";
    assert_int_equal(utf8_valid_len(s, strlen(s)), strlen(s));
    char t[64];
    snprintf(t, sizeof t, "0123456789abcdef\xe2\x82" "rest");
    assert_int_equal(utf8_valid_len(t, strlen(t)), 16);
    assert_int_equal(utf8_valid_len("", 0), 0);
}

static void test_sanitize(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"ok \xc3\xa9 \xf0\x9f\x98\x80", 0, "ok \xc3\xa9 \xf0\x9f\x98\x80"},
        {"a\x80" "b", 0, "a" UTF8_REPLACEMENT "b"},
        {"a\xe2\x82" "b", 0, "a" UTF8_REPLACEMENT "b"},
        {"\xc0\x80", 0, UTF8_REPLACEMENT UTF8_REPLACEMENT},
        {"\xed\xa0\x80", 0, UTF8_REPLACEMENT UTF8_REPLACEMENT UTF8_REPLACEMENT},
        {"\xf0\x9f\x98", 0, UTF8_REPLACEMENT},
        {"x\xff\xfe", 0, "x" UTF8_REPLACEMENT UTF8_REPLACEMENT},
        {"a\0b", 3, "a" UTF8_REPLACEMENT "b"},            /* NUL */
        {"tab\tnew\nline\x01", 0, "tab\tnew\nline\x01"}, /* PG takes these */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b = BUF_INIT;
        size_t n = cases[i].n ? cases[i].n : strlen(cases[i].in);
        utf8_sanitize(&b, cases[i].in, n);
        assert_string_equal(buf_cstr(&b), cases[i].out);
        assert_true(well_formed(buf_cstr(&b), b.len));
        buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_every_boundary),
        cmocka_unit_test(test_cut_helpers_mixed_text),
        cmocka_unit_test(test_decode_valid),
        cmocka_unit_test(test_decode_invalid),
        cmocka_unit_test(test_decode_agrees_with_definition),
        cmocka_unit_test(test_valid_len),
        cmocka_unit_test(test_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
