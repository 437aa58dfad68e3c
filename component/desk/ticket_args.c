/* Parsing for the ticket commands (see ticket_args.h). */
#include "build-config.h"

#include "desk/ticket_args.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/jid.h"
#include "core/utf8.h"
#include "desk/text.h"

static bool field_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int desk_kv_next(const char **args, char *field, size_t fsize, char *value,
                 size_t vsize)
{
    const char *p = *args;
    while (*p && isspace((unsigned char)*p))
        p++;
    *args = p;
    if (!*p)
        return 0;
    size_t n = 0;
    while (p[n] && p[n] != '=' && !isspace((unsigned char)p[n])) {
        if (n + 1 >= fsize)
            return -1;
        char c = (char)tolower((unsigned char)p[n]);
        if (!field_char(c))
            return -1;
        field[n] = c;
        n++;
    }
    if (n == 0 || p[n] != '=')
        return -1;
    field[n] = '\0';
    const char *v = p + n + 1;
    size_t k = 0;
    if (*v == '"') {
        v++;
        for (;;) {
            if (!*v)
                return -1; /* unterminated */
            if (*v == '"') {
                v++;
                break;
            }
            if (*v == '\\' && (v[1] == '"' || v[1] == '\\'))
                v++;
            if (k + 1 >= vsize)
                return -1;
            value[k++] = *v++;
        }
        /* A closing quote ends the word: "a"b is not one value. */
        if (*v && !isspace((unsigned char)*v))
            return -1;
    } else {
        while (*v && !isspace((unsigned char)*v)) {
            if (k + 1 >= vsize)
                return -1;
            value[k++] = *v++;
        }
    }
    value[k] = '\0';
    *args = v;
    return 1;
}

int desk_parse_age(const char *text, int64_t *seconds, bool *older)
{
    if (!text)
        return -1;
    *older = false;
    if (*text == '>') {
        *older = true;
        text++;
    }
    size_t len = strlen(text);
    if (len < 2)
        return -1;
    char digits[16];
    if (len - 1 >= sizeof digits)
        return -1;
    memcpy(digits, text, len - 1);
    digits[len - 1] = '\0';
    for (const char *d = digits; *d; d++)
        if (!isdigit((unsigned char)*d))
            return -1;
    long n;
    if (desk_parse_int(digits, 1, 100000, &n) < 0)
        return -1;
    int64_t unit;
    switch (text[len - 1]) {
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return -1;
    }
    *seconds = (int64_t)n * unit;
    return 0;
}

int desk_parse_ticket(const char *text, int64_t *id)
{
    long n;
    if (!text)
        return -1;
    if (*text == '#')
        text++;
    if (!isdigit((unsigned char)*text) ||
        desk_parse_int(text, 1, INT64_MAX / 2, &n) < 0)
        return -1;
    *id = n;
    return 0;
}

int desk_parse_status(const char *text, char *out, size_t size)
{
    static const char *const names[] = {"QUEUED", "INPROGRESS", "RESOLVED"};
    for (size_t i = 0; text && i < 3; i++)
        if (strcasecmp(text, names[i]) == 0 && size > strlen(names[i])) {
            snprintf(out, size, "%s", names[i]);
            return 0;
        }
    return -1;
}

void desk_age_text(int64_t s, char *out, size_t size)
{
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(out, size, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(out, size, "%lldm", (long long)(s / 60));
    else if (s < 86400)
        snprintf(out, size, "%lldh", (long long)(s / 3600));
    else
        snprintf(out, size, "%lldd", (long long)(s / 86400));
}

int desk_owner_arg(const char *asker, const char *v, char *out, size_t size,
                   bool *none, bool *any)
{
    *none = *any = false;
    out[0] = '\0';
    if (strcasecmp(v, "me") == 0) {
        if (!asker)
            return -1;
        utf8_snprintf(out, size, "%s", asker);
    } else if (strcasecmp(v, "none") == 0 || strcmp(v, "-") == 0) {
        *none = true;
    } else if (strcasecmp(v, "any") == 0) {
        *any = true;
    } else {
        struct jid j;
        if (jid_parse(v, &j) < 0 || !jid_has_local(&j) ||
            jid_bare_text(&j, out, size) < 0)
            return -1;
    }
    return 0;
}

#define NOTE_MAX 4000
#define FIELD_MAX 1000

int desk_ticket_change_set(struct desk_ticket_change *c, const char *asker,
                           const char *field, const char *v,
                           desk_keep_fn keep, void *ud, char *why,
                           size_t whylen)
{
    const char *kept = NULL;
    char buf[JID_TEXT_MAX + 1];
    const char **text = NULL;
    if (strcmp(field, "status") == 0) {
        if (desk_parse_status(v, buf, sizeof buf) < 0) {
            snprintf(why, whylen, "status: queued, inprogress or resolved");
            return -1;
        }
        if (!(kept = c->status = keep(ud, buf)))
            return -2;
    } else if (strcmp(field, "owner") == 0) {
        bool none, any;
        if (desk_owner_arg(asker, v, buf, sizeof buf, &none, &any) < 0 ||
            any) {
            snprintf(why, whylen, "owner: %sa JID", asker ? "me, none or "
                                                          : "none or ");
            return -1;
        }
        if (!(kept = c->owner = keep(ud, buf)))
            return -2;
    } else if (strcmp(field, "queue") == 0) {
        if (!*v) {
            snprintf(why, whylen, "queue: which one?");
            return -1;
        }
        if (!(kept = c->queue = keep(ud, v)))
            return -2;
    } else if (strcmp(field, "priority") == 0) {
        long n;
        if (desk_parse_int(v, 1, 5, &n) < 0) {
            snprintf(why, whylen, "priority: 1 (highest) to 5");
            return -1;
        }
        c->priority = (int)n;
    } else if (strcmp(field, "note") == 0) {
        if (strlen(v) > NOTE_MAX) {
            snprintf(why, whylen, "note: at most %d bytes", NOTE_MAX);
            return -1;
        }
        if (!(kept = c->note = keep(ud, v)))
            return -2;
    } else if (strcmp(field, "merge-into") == 0) {
        if (desk_parse_ticket(v, &c->merge_into) < 0) {
            snprintf(why, whylen, "merge-into: a ticket number");
            return -1;
        }
    } else if (strcmp(field, "impact") == 0) {
        text = &c->impact;
    } else if (strcmp(field, "ci") == 0) {
        text = &c->ci;
    } else if (strcmp(field, "tags") == 0) {
        text = &c->tags;
    } else if (strcmp(field, "solution") == 0) {
        text = &c->solution;
    } else {
        utf8_snprintf(why, whylen, "Unknown field %.*s: status, owner, "
                                   "queue, priority, impact, ci, tags, "
                                   "solution, note or merge-into",
                      utf8_prec(field, 31), field);
        return -1;
    }
    if (text) {
        if (strlen(v) > FIELD_MAX) {
            snprintf(why, whylen, "%s: at most %d bytes", field, FIELD_MAX);
            return -1;
        }
        /* "-" clears it (an empty form field leaves it as it is). */
        if (!(*text = keep(ud, strcmp(v, "-") == 0 ? "" : v)))
            return -2;
    }
    (void)kept;
    return 0;
}
