/* Fuzz target: the addresses and times in every stanza: JIDs (core/jid.c,
 * stringprep through libidn) and XEP-0082 stamps (xmpp/stamp.c).
 *
 * Byte 0 chooses: 0 a JID, 1 a nick (resourceprep), 2 a room name
 * (nodeprep), 3 a stamp (modulo 4); the rest is the text.
 *
 * Checks: a JID that parses prints (bare and full) as text that parses to
 * the same parts, the preparation being idempotent; its parts are UTF-8
 * and never hold the separators they would break on; the ASCII fast path
 * prepares nicks and room names as libidn's profiles do; a stamp that parses
 * prints in the fixed-width form, which parses to the same millisecond. */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stringprep.h>

#include "core/jid.h"
#include "fuzz_check.h"
#include "xmpp/stamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void part_ok(const char *part, const char *what, const char *seps)
{
    if (fuzz_utf8_problem(part, strlen(part), false))
        fuzz_fail("%s '%s' is not UTF-8", what, part);
    if (seps && strpbrk(part, seps))
        fuzz_fail("%s '%s' holds a separator", what, part);
}

static void jid(const char *text)
{
    static struct jid j, again;
    if (jid_parse(text, &j) < 0)
        return;
    part_ok(j.local, "local part", "@/");
    part_ok(j.domain, "domain", "@/");
    part_ok(j.resource, "resource", NULL);
    if (!j.domain[0])
        fuzz_fail("'%s' parsed without a domain", text);
    char full[JID_TEXT_MAX + 1], bare[JID_TEXT_MAX + 1];
    if (jid_full_text(&j, full, sizeof full) < 0 ||
        jid_bare_text(&j, bare, sizeof bare) < 0)
        fuzz_fail("a parsed JID does not print");
    if (jid_parse(full, &again) < 0)
        fuzz_fail("'%s' parsed, printed '%s', which does not parse", text, full);
    if (strcmp(j.local, again.local) || strcmp(j.domain, again.domain) ||
        strcmp(j.resource, again.resource))
        fuzz_fail("'%s' -> '%s' -> different parts", text, full);
    if (jid_parse(bare, &again) < 0 || !jid_bare_equal(&j, &again) ||
        again.resource[0])
        fuzz_fail("the bare form '%s' of '%s' is not the same bare JID", bare,
                  text);
}

/* jid.c prepares ASCII by hand (the hot path): it must agree with the
 * stringprep profile it stands for. */
static void ascii_agrees(const char *text, bool nick, int rc, const char *out)
{
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] >= 0x80)
            return;
    if (n == 0 || n > JID_PART_MAX)
        return;
    static char ref[JID_PART_MAX + 1];
    memcpy(ref, text, n + 1);
    int r = nick ? stringprep_xmpp_resourceprep(ref, sizeof ref)
                 : stringprep_xmpp_nodeprep(ref, sizeof ref);
    bool ok = r == STRINGPREP_OK && ref[0];
    if (ok != (rc == 0) || (ok && strcmp(ref, out) != 0))
        fuzz_fail("'%s': the ASCII path says %s '%s', %s says %s '%s'", text,
                  rc == 0 ? "ok" : "no", rc == 0 ? out : "",
                  nick ? "resourceprep" : "nodeprep", ok ? "ok" : "no",
                  ok ? ref : "");
}

static void part(const char *text, bool nick)
{
    static char out[JID_PART_MAX + 1], again[JID_PART_MAX + 1];
    int rc = nick ? jid_prep_resource(text, out) : jid_prep_local(text, out);
    ascii_agrees(text, nick, rc, out);
    if (rc < 0)
        return;
    if (!out[0])
        fuzz_fail("'%s' prepared to an empty part", text);
    part_ok(out, nick ? "nick" : "room name", nick ? NULL : "@/");
    rc = nick ? jid_prep_resource(out, again) : jid_prep_local(out, again);
    if (rc < 0 || strcmp(out, again) != 0)
        fuzz_fail("preparing '%s' is not idempotent: '%s' then '%s'", text,
                  out, rc < 0 ? "(refused)" : again);
}

static void stamp(const char *text)
{
    int64_t at, back;
    if (stamp_parse(text, &at) < 0)
        return;
    char s[STAMP_TEXT_MAX];
    stamp_format(at, s);
    if (stamp_parse(s, &back) < 0)
        fuzz_fail("'%s' parsed, printed as '%s', which does not parse", text, s);
    /* Printed with milliseconds: the same millisecond (floor); outside
     * what XEP-0082 can write (years 0000-9999), the nearest it can. */
    int64_t in = at < -62167219200000000LL ? -62167219200000000LL
                 : at > 253402300799999999LL ? 253402300799999999LL : at;
    int64_t ms = in >= 0 ? in / 1000 : -((-in + 999) / 1000);
    if (back != ms * 1000)
        fuzz_fail("'%s' -> %lld us -> '%s' -> %lld us", text, (long long)at, s,
                  (long long)back);
    if (strlen(s) != 24)
        fuzz_fail("'%s' is not the fixed-width form", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_set_input(data, size);
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0: jid(text); break;
    case 1: part(text, true); break;
    case 2: part(text, false); break;
    case 3: stamp(text); break;
    }
    free(text);
    fuzz_set_input(NULL, 0);
    return 0;
}
