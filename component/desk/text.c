/* Pure helpers of the desk (text.h). */
#include "build-config.h"

#include "desk/text.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

bool desk_cmdline_prefix(const char *body)
{
    /* "!" first: clients keep "/" for their own commands (Profanity's
     * /close leaves the room); "/" for those that pass it through.  "!"
     * must be followed by a letter, so "!!" or "! yes" stay text. */
    if (!body)
        return false;
    if (body[0] == '!')
        return isalpha((unsigned char)body[1]) != 0;
    return body[0] == '/' && body[1] != '/';
}

int desk_cmdline_parse(const char *body, struct desk_cmdline *out)
{
    if (!desk_cmdline_prefix(body))
        return -1;
    const char *p = body + 1;
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]))
        n++;
    if (n == 0 || n >= sizeof out->name)
        return -1;
    for (size_t i = 0; i < n; i++)
        out->name[i] = (char)tolower((unsigned char)p[i]);
    out->name[n] = '\0';
    p += n;
    while (*p && isspace((unsigned char)*p))
        p++;
    out->args = p;
    return 0;
}

bool desk_next_word(const char **args, char *word, size_t size)
{
    const char *p = *args;
    while (*p && isspace((unsigned char)*p))
        p++;
    size_t n = 0;
    while (p[n] && !isspace((unsigned char)p[n]))
        n++;
    if (n == 0 || size == 0)
        return false;
    size_t copy = n < size - 1 ? n : utf8_trim(p, size - 1);
    memcpy(word, p, copy);
    word[copy] = '\0';
    p += n;
    while (*p && isspace((unsigned char)*p))
        p++;
    *args = p;
    return true;
}

int desk_parse_int(const char *text, long min, long max, long *out)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    while (*end && isspace((unsigned char)*end))
        end++;
    if (errno || end == text || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int desk_wait_estimate(double avg_s, int position)
{
    if (avg_s <= 0 || position < 1)
        return -1;
    double w = avg_s * (double)position;
    return w > 86400.0 ? 86400 : (int)(w + 0.5);
}

void desk_format_duration(int seconds, char *out, size_t size)
{
    if (seconds < 60)
        snprintf(out, size, "%d s", seconds < 0 ? 0 : seconds);
    else
        snprintf(out, size, "%d min", (seconds + 30) / 60);
}

void desk_rolling_add(struct desk_rolling *r, double value)
{
    r->values[r->next] = value;
    r->next = (r->next + 1) % DESK_WAIT_SAMPLES;
    if (r->count < DESK_WAIT_SAMPLES)
        r->count++;
}

double desk_rolling_mean(const struct desk_rolling *r)
{
    if (!r->count)
        return 0;
    double sum = 0;
    for (unsigned i = 0; i < r->count; i++)
        sum += r->values[i];
    return sum / r->count;
}

/* ---- JSON (flat objects of strings) ------------------------------------------ */

/* JSON text is UTF-8 (RFC 8259, 8.1): an ill-formed part of s (a cut
 * through a character, bytes from a file) is written as U+FFFD, so that
 * what the desk writes any JSON reader, PostgreSQL's jsonb included,
 * takes. */
static void json_string(struct buf *b, const char *s)
{
    buf_append_char(b, '"');
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            uint32_t cp;
            size_t len = utf8_decode(s + i, n - i, &cp);
            if (cp == UTF8_INVALID)
                buf_append_str(b, UTF8_REPLACEMENT);
            else
                buf_append(b, s + i, len);
            i += len;
            continue;
        }
        switch (c) {
        case '"': buf_append_str(b, "\\\""); break;
        case '\\': buf_append_str(b, "\\\\"); break;
        case '\n': buf_append_str(b, "\\n"); break;
        case '\r': buf_append_str(b, "\\r"); break;
        case '\t': buf_append_str(b, "\\t"); break;
        default:
            if (c < 0x20)
                buf_printf(b, "\\u%04x", c);
            else
                buf_append_char(b, (char)c);
        }
        i++;
    }
    buf_append_char(b, '"');
}

void desk_json_open(struct buf *b)
{
    buf_append_char(b, '{');
}

void desk_json_add(struct buf *b, const char *key, const char *value)
{
    if (!value)
        return;
    if (b->len > 0 && b->data[b->len - 1] != '{')
        buf_append_char(b, ',');
    json_string(b, key);
    buf_append_char(b, ':');
    json_string(b, value);
}

void desk_json_close(struct buf *b)
{
    buf_append_char(b, '}');
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (stopping at a NUL), or -1. */
static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Reads a JSON string at p (on the '"'); writes it (UTF-8, as much as fits
 * in size, cut on a character boundary) into out if out is not NULL, and
 * sets *cut (if not NULL) when it did not all fit.
 * Returns the position after it, or NULL. */
static const char *read_string(const char *p, char *out, size_t size,
                               bool *cut)
{
    bool dropped = false;
    if (*p != '"')
        return NULL;
    p++;
    size_t n = 0;
    while (*p && *p != '"') {
        unsigned cp;
        if (*p == '\\') {
            p++;
            switch (*p) {
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case '/': cp = '/'; break;
            case '\\': cp = '\\'; break;
            case '"': cp = '"'; break;
            case 'u': {
                int hi = hex4(p + 1);
                if (hi < 0)
                    return NULL;
                p += 4;
                cp = (unsigned)hi;
                /* A surrogate pair is one character; a lone half is none
                 * (its UTF-8 form would be ill-formed). */
                int lo = p[1] == '\\' && p[2] == 'u' ? hex4(p + 3) : -1;
                if (cp >= 0xD800 && cp <= 0xDBFF && lo >= 0xDC00 &&
                    lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) +
                         ((unsigned)lo - 0xDC00);
                    p += 6;
                } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                    cp = 0xFFFD;
                }
                break;
            }
            default: return NULL;
            }
            p++;
            char enc[4];
            size_t len;
            if (cp < 0x80) { enc[0] = (char)cp; len = 1; }
            else if (cp < 0x800) {
                enc[0] = (char)(0xC0 | (cp >> 6));
                enc[1] = (char)(0x80 | (cp & 0x3F));
                len = 2;
            } else if (cp < 0x10000) {
                enc[0] = (char)(0xE0 | (cp >> 12));
                enc[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                enc[2] = (char)(0x80 | (cp & 0x3F));
                len = 3;
            } else {
                enc[0] = (char)(0xF0 | (cp >> 18));
                enc[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                enc[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                enc[3] = (char)(0x80 | (cp & 0x3F));
                len = 4;
            }
            for (size_t i = 0; i < len; i++) {
                if (out && n + 1 < size)
                    out[n++] = enc[i];
                else
                    dropped = true;
            }
            continue;
        }
        if (out && n + 1 < size)
            out[n++] = *p;
        else
            dropped = true;
        p++;
    }
    if (*p != '"')
        return NULL;
    if (out && size) {
        size_t whole = utf8_trim(out, n); /* cut to size: on a boundary */
        dropped = dropped || whole != n;
        out[whole] = '\0';
    }
    if (cut)
        *cut = out && dropped;
    return p + 1;
}

int desk_json_get(const char *json, const char *key, char *out, size_t size)
{
    if (!json)
        return -1;
    const char *p = skip_ws(json);
    if (*p++ != '{')
        return -1;
    p = skip_ws(p);
    if (*p == '}')
        return -1;
    char k[128];
    for (;;) {
        bool key_cut;
        p = read_string(skip_ws(p), k, sizeof k, &key_cut);
        if (!p)
            return -1;
        p = skip_ws(p);
        if (*p++ != ':')
            return -1;
        p = skip_ws(p);
        /* A key too long for k is none of ours: its prefix must not match. */
        bool match = !key_cut && strcmp(k, key) == 0;
        if (*p != '"')
            return -1; /* only strings in our objects */
        p = read_string(p, match ? out : NULL, size, NULL);
        if (!p)
            return -1;
        if (match)
            return 0;
        p = skip_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        return -1;
    }
}

size_t desk_normalise_list(char *list)
{
    size_t count = 0, w = 0;
    char *save = NULL;
    char *copy = strdup(list);
    if (!copy)
        return 0;
    list[0] = '\0';
    for (char *tok = strtok_r(copy, ", \t", &save); tok;
         tok = strtok_r(NULL, ", \t", &save)) {
        if (count)
            list[w++] = ',';
        for (char *c = tok; *c; c++)
            list[w++] = (char)tolower((unsigned char)*c);
        count++;
    }
    list[w] = '\0';
    free(copy);
    return count;
}

/* ---- templates, URLs, HTML ---------------------------------------------------- */

void desk_expand(const char *tmpl, const char *const *vars, struct buf *out)
{
    const char *p = tmpl;
    while (*p) {
        const char *open = strchr(p, '{');
        if (!open) {
            buf_append_str(out, p);
            return;
        }
        buf_append(out, p, (size_t)(open - p));
        const char *close = strchr(open + 1, '}');
        const char *value = NULL;
        if (close) {
            size_t n = (size_t)(close - open - 1);
            for (const char *const *v = vars; v && v[0]; v += 2)
                if (strlen(v[0]) == n && strncmp(v[0], open + 1, n) == 0) {
                    value = v[1] ? v[1] : "";
                    break;
                }
        }
        if (value) {
            buf_append_str(out, value);
            p = close + 1;
        } else {
            buf_append_char(out, '{');
            p = open + 1;
        }
    }
}

bool desk_is_url(const char *text, char *url, size_t size)
{
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n && isspace((unsigned char)text[n - 1]))
        n--;
    size_t scheme = strncmp(text, "https://", 8) == 0  ? 8
                    : strncmp(text, "http://", 7) == 0 ? 7
                                                        : 0;
    if (!scheme || n <= scheme || n >= size)
        return false;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)text[i]) || text[i] == '<' ||
            text[i] == '>' || text[i] == '"' || (unsigned char)text[i] < 0x20)
            return false;
    memcpy(url, text, n);
    url[n] = '\0';
    return true;
}

static bool atext(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* A run of a dot-atom or of a domain: at least one character, no dot at
 * either end or twice in a row, each character `ok` or non-ASCII. */
static bool dotted(const char *s, size_t n, bool (*ok)(unsigned char),
                   size_t *labels)
{
    size_t run = 0;
    *labels = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (run == 0)
                return false;
            run = 0;
            ++*labels;
        } else if (c < 0x80 && !ok(c)) {
            return false;
        } else {
            run++;
        }
    }
    return run > 0;
}

static bool ldh(unsigned char c)
{
    return isalnum(c) || c == '-';
}

bool desk_email_ok(const char *text)
{
    size_t n = strlen(text);
    const char *at = strchr(text, '@');
    if (!at || n > 254 || utf8_valid_len(text, n) != n)
        return false;
    size_t local = (size_t)(at - text), labels;
    const char *domain = at + 1;
    size_t dn = n - local - 1;
    if (local == 0 || local > 64 || !dotted(text, local, atext, &labels) ||
        !dotted(domain, dn, ldh, &labels) || labels < 2)
        return false;
    /* no label starts or ends with a hyphen */
    for (const char *p = domain; *p; p++)
        if (*p == '-' && (p == domain || p[-1] == '.' || !p[1] || p[1] == '.'))
            return false;
    return true;
}

void desk_html_escape_attr(struct buf *out, const char *value)
{
    for (const char *p = value; *p; p++) {
        switch (*p) {
        case '&': buf_append_str(out, "&amp;"); break;
        case '<': buf_append_str(out, "&lt;"); break;
        case '>': buf_append_str(out, "&gt;"); break;
        case '"': buf_append_str(out, "&quot;"); break;
        case '\'': buf_append_str(out, "&#39;"); break;
        default: buf_append_char(out, *p);
        }
    }
}

static void snippet_attr(struct buf *out, const char *name, const char *value)
{
    buf_append_str(out, "\n  ");
    buf_append_str(out, name);
    buf_append_str(out, "=\"");
    desk_html_escape_attr(out, value);
    buf_append_char(out, '"');
}

void desk_widget_snippet(struct buf *out, const char *script_url,
                         const char *websocket, const char *domain,
                         const char *service, const char *queue_jid)
{
    buf_append_str(out, "<script src=\"");
    desk_html_escape_attr(out, script_url);
    buf_append_str(out, "\" defer");
    snippet_attr(out, "data-websocket", websocket);
    snippet_attr(out, "data-domain", domain);
    snippet_attr(out, "data-service", service);
    snippet_attr(out, "data-queue", queue_jid);
    buf_append_str(out, "></script>\n");
}
