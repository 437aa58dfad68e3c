/* What every fuzz target checks (fuzz_check.h). */
#include "build-config.h"

#include "fuzz_check.h"

#include <ctype.h>
#include <expat.h>
#include <strophe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The checks' own work is not the target's: no coverage feedback from
 * it (libFuzzer would learn the observer's name from these compares). */
#if defined(__clang__)
#define NOT_FUZZED __attribute__((no_sanitize("coverage")))
#else
#define NOT_FUZZED
#endif

static const char *const known_names[FUZZ_KNOWN_COUNT] = {
    "invalid UTF-8 in the output",
    "a character XML 1.0 forbids in the output",
    "nesting deeper than the serialiser's recursion can take",
};
static unsigned long known_seen[FUZZ_KNOWN_COUNT];
static const uint8_t *cur_input;
static size_t cur_size;

void fuzz_set_input(const uint8_t *data, size_t size)
{
    cur_input = data;
    cur_size = size;
}

void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\n==FUZZ== invariant broken: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

static void keep_input(enum fuzz_known what)
{
    const char *dir = getenv("MUCDESK_FUZZ_KNOWN_DIR");
    if (!dir || !*dir || !cur_input)
        return;
    /* One file per finding and input length: enough examples to read,
     * not one per execution. */
    char path[4096];
    snprintf(path, sizeof path, "%s/known-%d-%zu", dir, (int)what, cur_size);
    if (access(path, F_OK) == 0)
        return;
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(cur_input, 1, cur_size, f);
    fclose(f);
}

/* The fixes of the known findings have landed (h11-utf8): they fail like
 * any other broken invariant unless MUCDESK_FUZZ_STRICT=0 asks for the
 * old report-and-go-on (to measure how often a regression shows). */
static bool strict(void)
{
    const char *v = getenv("MUCDESK_FUZZ_STRICT");
    return !v || strcmp(v, "0") != 0;
}

void fuzz_known(enum fuzz_known what, const char *detail)
{
    if (strict())
        fuzz_fail("%s (known finding, strict mode): %s", known_names[what],
                  detail);
    if (known_seen[what]++ == 0)
        fprintf(stderr, "==FUZZ== known finding (reported, not fatal): %s: "
                        "%s\n", known_names[what], detail);
    keep_input(what);
}

bool fuzz_known_avoid(enum fuzz_known what, const char *detail)
{
    if (strict())
        return false;
    if (known_seen[what]++ == 0)
        fprintf(stderr, "==FUZZ== known finding (reported, not fatal): %s: "
                        "%s (not run)\n", known_names[what], detail);
    keep_input(what);
    return true;
}

size_t fuzz_stanza_depth(xmpp_stanza_t *st)
{
    size_t cap = 64, n = 0, max = 0;
    struct item {
        xmpp_stanza_t *node;
        size_t d;
    } *stack = malloc(cap * sizeof *stack);
    if (!stack)
        abort();
    stack[n++] = (struct item){st, 1};
    while (n) {
        struct item it = stack[--n];
        if (it.d > max)
            max = it.d;
        if (!xmpp_stanza_is_tag(it.node))
            continue;
        for (xmpp_stanza_t *c = xmpp_stanza_get_children(it.node); c;
             c = xmpp_stanza_get_next(c)) {
            if (n == cap && !(stack = realloc(stack, (cap *= 2) * sizeof *stack)))
                abort();
            stack[n++] = (struct item){c, it.d + 1};
        }
    }
    free(stack);
    return max;
}

unsigned long fuzz_known_count(enum fuzz_known what)
{
    return known_seen[what];
}

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code
 * point, or 0 if it is not one (overlong forms and surrogates are not). */
static NOT_FUZZED size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80, c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800, c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

static NOT_FUZZED bool xml_char(unsigned cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp != 0xfffe &&
                                                   cp != 0xffff);
}

NOT_FUZZED const char *fuzz_utf8_problem(const char *s, size_t n, bool xml)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        size_t len = utf8_seq(p + i, n - i, &cp);
        if (!len)
            return "invalid UTF-8";
        if (cp == 0 || (xml && !xml_char(cp)))
            return "character XML 1.0 forbids";
        i += len;
    }
    return NULL;
}

void fuzz_utf8_scrub(const char *s, size_t n, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        size_t len = utf8_seq(p + i, n - i, &cp);
        if (!len || !xml_char(cp)) {
            out[i++] = '?';
            continue;
        }
        memcpy(out + i, s + i, len);
        i += len;
    }
}

static NOT_FUZZED unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

NOT_FUZZED bool fuzz_contains(const void *hay, size_t n, const char *needle)
{
    const unsigned char *h = hay, *w = (const unsigned char *)needle;
    size_t m = strlen(needle);
    if (m == 0)
        return true;
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m && lower(h[i + k]) == lower(w[k]))
            k++;
        if (k == m)
            return true;
    }
    return false;
}

/* ---- the stream check ---------------------------------------------------------- */

#define STREAM_OPEN "<stream:stream xmlns='jabber:component:accept' " \
                    "xmlns:stream='http://etherx.jabber.org/streams'>"
#define STREAM_CLOSE "</stream:stream>"
#define NS_SEP '\x01'

struct walk {
    XML_Parser p;
    const struct fuzz_xml_visitor *v;
    const char *s;
    size_t n;
    int depth;
    long start;                    /* of the current stanza, in s */
    struct fuzz_stanza st;
};

/* expat gives names as "namespace\1local": the local part. */
static const char *local_name(const char *name)
{
    const char *sep = strrchr(name, NS_SEP);
    return sep ? sep + 1 : name;
}

static void copy_attr(char *out, size_t size, const char **attrs,
                      const char *name)
{
    out[0] = '\0';
    for (size_t i = 0; attrs[i]; i += 2)
        if (strcmp(attrs[i], name) == 0) {
            snprintf(out, size, "%s", attrs[i + 1]);
            return;
        }
}

static void on_start(void *ud, const char *name, const char **attrs)
{
    struct walk *w = ud;
    w->depth++;
    if (w->depth == 2) {
        w->start = (long)XML_GetCurrentByteIndex(w->p) -
                   (long)strlen(STREAM_OPEN);
        copy_attr(w->st.to, sizeof w->st.to, attrs, "to");
        copy_attr(w->st.from, sizeof w->st.from, attrs, "from");
        copy_attr(w->st.type, sizeof w->st.type, attrs, "type");
        w->st.text = w->s + w->start;
        w->st.len = 0;
    }
    w->st.qname = name;
    if (w->depth >= 2 && w->v && w->v->element)
        w->v->element(w->v->ud, &w->st, local_name(name), attrs);
}

static void on_end(void *ud, const char *name)
{
    (void)name;
    struct walk *w = ud;
    if (w->depth >= 2 && w->v && w->v->element_end)
        w->v->element_end(w->v->ud, &w->st);
    if (w->depth == 2) {
        long end = (long)XML_GetCurrentByteIndex(w->p) +
                   XML_GetCurrentByteCount(w->p) - (long)strlen(STREAM_OPEN);
        w->st.len = end > w->start ? (size_t)(end - w->start) : 0;
        if (w->v && w->v->stanza_end)
            w->v->stanza_end(w->v->ud, &w->st);
    }
    w->depth--;
}

static void on_text(void *ud, const char *s, int len)
{
    struct walk *w = ud;
    if (w->depth >= 2 && w->v && w->v->text)
        w->v->text(w->v->ud, &w->st, s, len);
}

int fuzz_xml_stream_check(const char *s, size_t n,
                          const struct fuzz_xml_visitor *v, char *err,
                          size_t errlen)
{
    XML_Parser p = XML_ParserCreateNS("UTF-8", NS_SEP);
    if (!p)
        abort();
    struct walk w = {.p = p, .v = v, .s = s, .n = n};
    XML_SetUserData(p, &w);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    int ok = XML_Parse(p, STREAM_OPEN, (int)strlen(STREAM_OPEN), 0) &&
             XML_Parse(p, s, (int)n, 0) &&
             XML_Parse(p, STREAM_CLOSE, (int)strlen(STREAM_CLOSE), 1);
    if (!ok)
        snprintf(err, errlen, "%s at byte %ld",
                 XML_ErrorString(XML_GetErrorCode(p)),
                 (long)XML_GetCurrentByteIndex(p) - (long)strlen(STREAM_OPEN));
    XML_ParserFree(p);
    return ok ? 0 : -1;
}

/* The bytes around `at` for a report. */
static void excerpt(const char *s, size_t n, long at, char *out, size_t size)
{
    long from = at - 120 < 0 ? 0 : at - 120;
    long to = at + 120 > (long)n ? (long)n : at + 120;
    size_t k = 0;
    for (long i = from; i < to && k + 5 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            out[k++] = (char)c;
        else
            k += (size_t)snprintf(out + k, size - k, "\\x%02x", c);
    }
    out[k] = '\0';
}

int fuzz_check_output(const char *what, const char *s, size_t n,
                      const struct fuzz_xml_visitor *v)
{
    char err[200];
    const char *problem = fuzz_utf8_problem(s, n, true);
    if (!problem) {
        if (fuzz_xml_stream_check(s, n, v, err, sizeof err) == 0)
            return 0;
        long at = strtol(strrchr(err, ' ') + 1, NULL, 10);
        char ex[1200];
        excerpt(s, n, at, ex, sizeof ex);
        fuzz_fail("%s: output is not well-formed XML: %s: ...%s...", what, err,
                  ex);
    }
    /* Known (h11-utf8): the rest must still be well-formed. */
    char *clean = malloc(n + 1);
    if (!clean)
        abort();
    fuzz_utf8_scrub(s, n, clean);
    size_t at = 0;
    while (at < n && clean[at] == s[at])
        at++;
    char ex[1200];
    excerpt(s, n, (long)at, ex, sizeof ex);
    char detail[1400];
    snprintf(detail, sizeof detail, "%s: ...%s...", what, ex);
    fuzz_known(strcmp(problem, "invalid UTF-8") == 0 ? FUZZ_KNOWN_INVALID_UTF8
                                                     : FUZZ_KNOWN_XML_CHAR,
               detail);
    int rc = fuzz_xml_stream_check(clean, n, v, err, sizeof err);
    if (rc < 0) {
        long bad = strtol(strrchr(err, ' ') + 1, NULL, 10);
        excerpt(clean, n, bad, ex, sizeof ex);
        free(clean);
        fuzz_fail("%s: output is not well-formed XML (beyond its bad "
                  "characters): %s: ...%s...", what, err, ex);
    }
    free(clean);
    return 0;
}

/* ---- canonical form ----------------------------------------------------------------- */

static int attr_cmp(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(x[0], y[0]);
}

static void canon_element(void *ud, const struct fuzz_stanza *st,
                          const char *name, const char **attrs)
{
    (void)name;
    struct buf *out = ud;
    size_t n = 0;
    while (attrs[2 * n])
        n++;
    const char **pairs = malloc((2 * n + 1) * sizeof *pairs);
    memcpy(pairs, attrs, 2 * n * sizeof *pairs);
    qsort(pairs, n, 2 * sizeof *pairs, attr_cmp);
    buf_append_char(out, '<');
    buf_append_str(out, st->qname);
    for (size_t i = 0; i < n; i++)
        buf_printf(out, " %s=%s", pairs[2 * i], pairs[2 * i + 1]);
    buf_append_char(out, '>');
    free(pairs);
}

static void canon_text(void *ud, const struct fuzz_stanza *st, const char *s,
                       int len)
{
    (void)st;
    buf_append(ud, s, (size_t)len);
}

static void canon_end(void *ud, const struct fuzz_stanza *st)
{
    (void)st;
    buf_append_str(ud, "</>");
}

int fuzz_xml_canonical(const char *s, size_t n, struct buf *out)
{
    struct fuzz_xml_visitor v = {.ud = out, .element = canon_element,
                                 .text = canon_text, .element_end = canon_end};
    char err[200];
    return fuzz_xml_stream_check(s, n, &v, err, sizeof err);
}
