/* Ticket references in mail (see mailref.h). */
#include "build-config.h"

#include "core/mailref.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ID_PREFIX "mucdesk."

static int64_t digits(const char *p, const char **end)
{
    int64_t n = 0;
    int count = 0;
    while (isdigit((unsigned char)*p) && count < 18) {
        n = n * 10 + (*p++ - '0');
        count++;
    }
    *end = p;
    return count && !isdigit((unsigned char)*p) ? n : 0;
}

int64_t mailref_subject_ticket(const char *subject)
{
    static const char tag[] = "[ticket#";
    if (!subject)
        return 0;
    for (const char *p = subject; *p; p++) {
        if (strncasecmp(p, tag, sizeof tag - 1) != 0)
            continue;
        const char *q = p + sizeof tag - 1;
        while (*q == ' ')
            q++;
        const char *end;
        int64_t n = digits(q, &end);
        if (n > 0 && *end == ']')
            return n;
    }
    return 0;
}

int mailref_message_id(char *out, size_t size, int64_t ticket,
                      const char *unique, const char *domain)
{
    if (ticket <= 0 || !unique[0] || !domain || !domain[0])
        return -1;
    for (const char *p = unique; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
            return -1;
    int n = snprintf(out, size, ID_PREFIX "%lld.%s@%s", (long long)ticket,
                     unique, domain);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int64_t mailref_message_id_ticket(const char *id, const char *msgid_domain)
{
    if (!id)
        return 0;
    if (*id == '<')
        id++;
    if (strncmp(id, ID_PREFIX, sizeof ID_PREFIX - 1) != 0)
        return 0;
    const char *end;
    int64_t n = digits(id + sizeof ID_PREFIX - 1, &end);
    if (n <= 0 || *end != '.')
        return 0;
    const char *at = strchr(end, '@');
    if (!at)
        return 0;
    if (msgid_domain) {
        size_t dl = strlen(msgid_domain);
        if (strncasecmp(at + 1, msgid_domain, dl) != 0 ||
            (at[1 + dl] != '\0' && at[1 + dl] != '>'))
            return 0;
    }
    return n;
}

const char *mailref_domain(const char *address, char *out, size_t size)
{
    const char *at = address ? strrchr(address, '@') : NULL;
    if (!at)
        return NULL;
    /* bytes: cut at an ASCII '>' or space */
    int n = snprintf(out, size, "%.*s", (int)strcspn(at + 1, "> "), at + 1);
    return n > 0 && (size_t)n < size ? out : NULL;
}
