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
