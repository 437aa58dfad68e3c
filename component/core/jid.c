#include "build-config.h"

#include "core/jid.h"

#include <stdio.h>
#include <string.h>
#include <stringprep.h>

/* Every stanza carries two JIDs, so preparation is on the hot path.  Almost
 * all JIDs are ASCII, where the stringprep profiles reduce to a few table
 * lookups: we do those by hand and hand anything else to libidn.  The ASCII
 * rules below are exactly what nodeprep/nameprep/resourceprep do to ASCII
 * input (case folding for node and domain, prohibited characters). */

enum part_kind { PART_LOCAL, PART_DOMAIN, PART_RESOURCE };

static bool is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

static int prep_ascii(enum part_kind kind, char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return -1; /* control characters are prohibited everywhere */
        if (kind == PART_RESOURCE)
            continue;
        if (c >= 'A' && c <= 'Z') {
            s[i] = (char)(c - 'A' + 'a');
            continue;
        }
        if (kind == PART_LOCAL && strchr(" \"&'/:<>@", c))
            return -1; /* nodeprep's extra prohibitions (RFC 3920 A.5) */
        if (kind == PART_DOMAIN && strchr(" \"&'/:<>@\\", c))
            return -1;
    }
    return 0;
}

static int prep_part(enum part_kind kind, const char *in, size_t n, char *out)
{
    if (n == 0 || n > JID_PART_MAX)
        return -1;
    memcpy(out, in, n);
    out[n] = '\0';
    if (is_ascii(out, n))
        return prep_ascii(kind, out, n);

    int rc;
    switch (kind) {
    case PART_LOCAL:
        rc = stringprep_xmpp_nodeprep(out, JID_PART_MAX + 1);
        break;
    case PART_DOMAIN:
        rc = stringprep_nameprep(out, JID_PART_MAX + 1);
        break;
    default:
        rc = stringprep_xmpp_resourceprep(out, JID_PART_MAX + 1);
        break;
    }
    if (rc != STRINGPREP_OK || !out[0])
        return -1;
    /* Nameprep allows ASCII punctuation a domain must not hold ('@', '/',
     * '<', space...); the ASCII characters left after the profiles follow
     * the same rules as on the ASCII path (case is folded already). */
    for (const unsigned char *c = (const unsigned char *)out; *c; c++)
        if (*c < 0x80) {
            char one[2] = {(char)*c, '\0'};
            if (prep_ascii(kind, one, 1) < 0)
                return -1;
        }
    return 0;
}

int jid_parse(const char *text, struct jid *out)
{
    const char *slash = strchr(text, '/');
    size_t bare_len = slash ? (size_t)(slash - text) : strlen(text);
    const char *at = memchr(text, '@', bare_len);

    out->local[0] = out->domain[0] = out->resource[0] = '\0';
    if (at) {
        if (prep_part(PART_LOCAL, text, (size_t)(at - text), out->local) < 0)
            return -1;
    }
    const char *dom = at ? at + 1 : text;
    size_t dom_len = bare_len - (size_t)(dom - text);
    if (dom_len > 1 && dom[dom_len - 1] == '.')
        dom_len--; /* a trailing dot names the same domain (RFC 7622 3.2) */
    if (prep_part(PART_DOMAIN, dom, dom_len, out->domain) < 0)
        return -1;
    /* No empty label: "a..b", ".a", and "a.." (one trailing dot is
     * stripped above; a second would be stripped on the next parse, so
     * the same text would not name the same JID twice). */
    size_t dl = strlen(out->domain);
    if (out->domain[0] == '.' || out->domain[dl - 1] == '.' ||
        strstr(out->domain, ".."))
        return -1;
    if (slash) {
        if (prep_part(PART_RESOURCE, slash + 1, strlen(slash + 1),
                      out->resource) < 0)
            return -1;
    }
    return 0;
}

int jid_prep_local(const char *in, char *out)
{
    return prep_part(PART_LOCAL, in, strlen(in), out);
}

int jid_prep_resource(const char *in, char *out)
{
    return prep_part(PART_RESOURCE, in, strlen(in), out);
}

int jid_bare_text(const struct jid *j, char *out, size_t outlen)
{
    int n = j->local[0] ? snprintf(out, outlen, "%s@%s", j->local, j->domain)
                        : snprintf(out, outlen, "%s", j->domain);
    return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}

int jid_full_text(const struct jid *j, char *out, size_t outlen)
{
    int n = jid_bare_text(j, out, outlen);
    if (n < 0 || !j->resource[0])
        return n;
    int m = snprintf(out + n, outlen - (size_t)n, "/%s", j->resource);
    return (m < 0 || (size_t)m >= outlen - (size_t)n) ? -1 : n + m;
}

bool jid_bare_equal(const struct jid *a, const struct jid *b)
{
    return strcmp(a->local, b->local) == 0 && strcmp(a->domain, b->domain) == 0;
}
