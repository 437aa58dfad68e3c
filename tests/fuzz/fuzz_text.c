/* Fuzz target: the desk's text parsers: command lines and their words
 * (desk/text.c), numbers, templates, URLs, the HTML snippet's escaping,
 * skill lists, pre-chat field definitions (desk/prechat.c), business
 * hours (desk/hours.c) and the time zone rules they use (core/tz.c),
 * and the ticket commands' field=value words, ages and ticket-update
 * fields (desk/ticket_args.c).
 *
 * Byte 0 chooses the parser (modulo the count), byte 1 a size where one
 * is needed; the rest is the text. */
#include "build-config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/tz.h"
#include "core/utf8.h"
#include "desk/hours.h"
#include "desk/prechat.h"
#include "desk/text.h"
#include "desk/ticket_args.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cmdline(const char *text, size_t wsize)
{
    struct desk_cmdline cl;
    if (desk_cmdline_parse(text, &cl) < 0)
        return;
    size_t n = strlen(cl.name);
    if (n == 0 || n >= sizeof cl.name || !desk_cmdline_prefix(text))
        fuzz_fail("command name '%s' from '%s'", cl.name, text);
    for (size_t i = 0; i < n; i++)
        if (isupper((unsigned char)cl.name[i]) || isspace((unsigned char)cl.name[i]))
            fuzz_fail("command name '%s' not lower-case", cl.name);
    if (cl.args < text || cl.args > text + strlen(text))
        fuzz_fail("args outside the line");
    /* Words until none is left: each shorter than the buffer, always
     * moving forward. */
    char word[256];
    const char *args = cl.args;
    size_t size = wsize % (sizeof word - 1) + 2; /* room for a character */
    const char *before = args;
    while (desk_next_word(&args, word, size)) {
        /* A word longer than the buffer is cut on a character boundary:
         * to nothing only when its first character alone does not fit. */
        if (strlen(word) >= size ||
            (!word[0] && utf8_lead_len((unsigned char)*before) <= size - 1))
            fuzz_fail("word '%s' for a buffer of %zu", word, size);
        if (args > text + strlen(text))
            fuzz_fail("desk_next_word went past the end");
        before = args;
    }
    if (*args)
        fuzz_fail("desk_next_word stopped before the end: '%s'", args);
}

static void number(const char *text, size_t pick)
{
    static const long ranges[][2] = {{1, 5}, {0, 86400}, {1, 600},
                                     {-1000000, 1000000}, {1, INT32_MAX}};
    const long *r = ranges[pick % 5];
    long v;
    if (desk_parse_int(text, r[0], r[1], &v) == 0 && (v < r[0] || v > r[1]))
        fuzz_fail("%ld outside [%ld, %ld] from '%s'", v, r[0], r[1], text);
}

static void expand(const char *text)
{
    static const char *const vars[] = {"customer", "Ann {agent}", "agent",
                                       "Bo}b", "ticket", "42", "queue",
                                       "{queue}", NULL};
    struct buf out = BUF_INIT;
    desk_expand(text, vars, &out);
    if (buf_failed(&out))
        abort();
    /* No variable is ever expanded twice: the output is never longer than
     * the text with every {NAME} replaced once by the longest value. */
    if (out.len > strlen(text) * 12 + 1)
        fuzz_fail("desk_expand grew '%s' to %zu bytes", text, out.len);
    buf_free(&out);
}

static void url(const char *text, size_t size)
{
    char u[300];
    size = size % sizeof u + 1;
    if (!desk_is_url(text, u, size))
        return;
    if (strlen(u) >= size ||
        (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
        strpbrk(u, " \t\r\n<>\""))
        fuzz_fail("desk_is_url accepted '%s' as '%s'", text, u);
}

/* The snippet's attribute escaping: nothing in the value can end the
 * attribute or open a tag, and the escapes undo to the value. */
static void html(const char *text)
{
    struct buf out = BUF_INIT;
    desk_html_escape_attr(&out, text);
    const char *e = buf_cstr(&out);
    if (strpbrk(e, "<>\"'"))
        fuzz_fail("desk_html_escape_attr left a special character: %s", e);
    struct buf back = BUF_INIT;
    static const char *const ents[][2] = {{"&amp;", "&"}, {"&lt;", "<"},
                                          {"&gt;", ">"}, {"&quot;", "\""},
                                          {"&#39;", "'"}};
    for (const char *p = e; *p;) {
        size_t k;
        for (k = 0; k < 5; k++)
            if (strncmp(p, ents[k][0], strlen(ents[k][0])) == 0)
                break;
        if (k < 5) {
            buf_append_str(&back, ents[k][1]);
            p += strlen(ents[k][0]);
        } else if (*p == '&') {
            fuzz_fail("a bare '&' in the escaped value: %s", e);
        } else {
            buf_append_char(&back, *p++);
        }
    }
    if (strcmp(buf_cstr(&back), text) != 0)
        fuzz_fail("desk_html_escape_attr does not undo to the value");
    struct buf snip = BUF_INIT;
    desk_widget_snippet(&snip, text, text, text, text, text);
    buf_free(&snip);
    buf_free(&back);
    buf_free(&out);
}

static void list(const char *text)
{
    char *copy = strdup(text);
    size_t n = desk_normalise_list(copy);
    size_t commas = 0;
    for (const char *p = copy; *p; p++) {
        if (*p == ',')
            commas++;
        if (*p == ' ' || *p == '\t' || isupper((unsigned char)*p))
            fuzz_fail("desk_normalise_list left '%s'", copy);
    }
    if ((n == 0 && copy[0]) || (n && commas + 1 != n) || strstr(copy, ",,") ||
        copy[0] == ',' || (n && copy[strlen(copy) - 1] == ','))
        fuzz_fail("desk_normalise_list: %zu item(s) in '%s'", n, copy);
    free(copy);
}

static void prechat(const char *text)
{
    struct desk_prechat *p = malloc(sizeof *p);
    char err[300];
    if (desk_prechat_parse(text, p, err, sizeof err) == 0) {
        if (p->count > DESK_PRECHAT_MAX)
            fuzz_fail("%zu pre-chat fields", p->count);
        struct buf out = BUF_INIT;
        buf_append_str(&out, "<x xmlns='jabber:x:data' type='form'>");
        desk_prechat_form(p, &out);
        buf_append_str(&out, "</x>");
        fuzz_check_output("the pre-chat fields' form", out.data, out.len, NULL);
        buf_free(&out);
    } else if (!err[0]) {
        fuzz_fail("desk_prechat_parse failed without a reason");
    }
    free(p);
}

static void hours(const char *text, size_t pick)
{
    struct desk_hours *h = malloc(sizeof *h);
    char err[300];
    if (desk_hours_parse(text, h, err, sizeof err) == 0) {
        struct tz *tz = tz_utc();
        for (int64_t t = 1735689600 + (int64_t)pick * 3600; t < 1735689600 + 8 * 86400;
             t += 86400 / 4 + 7)
            desk_hours_open(h, tz, t);
        tz_free(tz);
    } else if (!err[0]) {
        fuzz_fail("desk_hours_parse failed without a reason");
    }
    free(h);
}

static void zone(const uint8_t *data, size_t size, const char *text)
{
    struct tz *tz = tz_from_posix(text);
    if (tz) {
        for (int64_t t = -2000000000; t < 4000000000; t += 123456789)
            tz_offset(tz, t);
        tz_free(tz);
    }
    tz = tz_from_tzif(data, size);
    if (tz) {
        for (int64_t t = -2000000000; t < 4000000000; t += 123456789)
            tz_offset(tz, t);
        tz_free(tz);
    }
}

static const char *keep_as_is(void *ud, const char *s)
{
    (void)ud;
    return s;
}

/* field=value words until none is left, each applied as a ticket-update
 * field; and the whole text as an age and a ticket number. */
static void ticket_words(const char *text, size_t vsize)
{
    char field[32], value[300];
    size_t vs = vsize % (sizeof value - 1) + 1;
    const char *args = text;
    int r, rounds = 0;
    struct desk_ticket_change c = {0};
    while ((r = desk_kv_next(&args, field, sizeof field, value, vs)) == 1) {
        if (strlen(field) >= sizeof field || strlen(value) >= vs || !field[0])
            fuzz_fail("field '%s' value '%s' for a value buffer of %zu", field,
                      value, vs);
        if (args > text + strlen(text) || ++rounds > 10000)
            fuzz_fail("desk_kv_next does not move forward");
        char why[200];
        int rc = desk_ticket_change_set(&c, "me@example.org", field, value,
                                        keep_as_is, NULL, why, sizeof why);
        if (rc == -1 && !why[0])
            fuzz_fail("refused %s=%s without a reason", field, value);
        if (c.priority && (c.priority < 1 || c.priority > 5))
            fuzz_fail("priority %d from '%s'", c.priority, value);
        /* Strings kept point into value (keep_as_is): forget them. */
        memset(&c, 0, sizeof c);
    }
    if (r < 0 && (args < text || args > text + strlen(text)))
        fuzz_fail("desk_kv_next's bad word is outside the text");
    int64_t s, id;
    bool older;
    if (desk_parse_age(text, &s, &older) == 0 && (s <= 0 || s > 100000LL * 604800))
        fuzz_fail("age %lld from '%s'", (long long)s, text);
    if (desk_parse_ticket(text, &id) == 0 && id < 1)
        fuzz_fail("ticket %lld from '%s'", (long long)id, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fuzz_set_input(data, size);
    char *text = malloc(size - 1);
    memcpy(text, data + 2, size - 2);
    text[size - 2] = '\0';
    size_t arg = data[1];
    switch (data[0] % 10) {
    case 0: cmdline(text, arg); break;
    case 1: number(text, arg); break;
    case 2: expand(text); break;
    case 3: url(text, arg); break;
    case 4: html(text); break;
    case 5: list(text); break;
    case 6: prechat(text); break;
    case 7: hours(text, arg); break;
    case 8: zone(data + 2, size - 2, text); break;
    case 9: ticket_words(text, arg); break;
    }
    free(text);
    fuzz_set_input(NULL, 0);
    return 0;
}
