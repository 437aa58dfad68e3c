/* Fuzz target: the XML serialiser (xmpp/xml.c) on what libstrophe parses
 * (the stanzas mucdesk copies: message payloads, forms, forwarded iqs),
 * and its escaping of arbitrary text.
 *
 * Byte 0 chooses: even, the rest is XML that is parsed (inside a stanza
 * in the component namespace), written with xml_write_stanza and
 * xml_write_children, and must come out as well-formed UTF-8 XML that
 * parses and writes again to the same text; odd, the rest is text written
 * with xml_text and xml_attr (the known UTF-8 findings until the
 * serialiser replaces what XML cannot carry). */
#include "build-config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>

#include "core/buf.h"
#include "fuzz_check.h"
#include "xmpp/xml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static xmpp_ctx_t *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    ctx = xmpp_ctx_new(NULL, NULL);
    return 0;
}

static xmpp_stanza_t *parse(const char *xml)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "<message xmlns='jabber:component:accept'>");
    buf_append_str(&b, xml);
    buf_append_str(&b, "</message>");
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, buf_cstr(&b));
    buf_free(&b);
    return st;
}

static void round_trip(const char *xml)
{
    xmpp_stanza_t *st = parse(xml);
    if (!st)
        return;
    size_t depth = fuzz_stanza_depth(st);
    if (depth > FUZZ_KNOWN_DEPTH) {
        char detail[100];
        snprintf(detail, sizeof detail, "%zu levels", depth);
        if (fuzz_known_avoid(FUZZ_KNOWN_DEEP_NESTING, detail)) {
            xmpp_stanza_release(st);
            return;
        }
    }
    struct buf once = BUF_INIT, children = BUF_INIT;
    xml_write_stanza(&once, st, XML_NS_COMPONENT);
    /* The children alone, as a message payload is copied. */
    buf_append_str(&children, "<message>");
    xml_write_children(&children, st, XML_NS_COMPONENT);
    buf_append_str(&children, "</message>");
    if (buf_failed(&once) || buf_failed(&children))
        abort();
    fuzz_check_output("xml_write_stanza", once.data, once.len, NULL);
    fuzz_check_output("xml_write_children", children.data, children.len, NULL);
    /* Written again from its own output: the same text. */
    if (!fuzz_utf8_problem(once.data, once.len, true)) {
        xmpp_stanza_t *again = xmpp_stanza_new_from_string(ctx, once.data);
        if (!again)
            fuzz_fail("libstrophe does not parse what xml_write_stanza wrote: "
                      "%s", once.data);
        struct buf twice = BUF_INIT, c1 = BUF_INIT, c2 = BUF_INIT;
        xml_write_stanza(&twice, again, XML_NS_COMPONENT);
        /* The same XML; attributes may come in another order (libstrophe
         * keeps them in a hash table). */
        if (fuzz_xml_canonical(once.data, once.len, &c1) < 0 ||
            fuzz_xml_canonical(twice.data, twice.len, &c2) < 0 ||
            strcmp(buf_cstr(&c1), buf_cstr(&c2)) != 0)
            fuzz_fail("written twice, different:\n%s\n%s", once.data,
                      buf_cstr(&twice));
        buf_free(&twice);
        buf_free(&c1);
        buf_free(&c2);
        xmpp_stanza_release(again);
    }
    buf_free(&once);
    buf_free(&children);
    xmpp_stanza_release(st);
}

static void escape(const char *text)
{
    struct buf b = BUF_INIT;
    buf_append_str(&b, "<message");
    xml_attr(&b, "id", text);
    xml_attr_n(&b, "x", text, strlen(text) / 2);
    buf_append_str(&b, "><body>");
    xml_text(&b, text);
    xml_text_n(&b, text, strlen(text) / 3);
    buf_append_str(&b, "</body></message>");
    fuzz_check_output("xml_text/xml_attr", b.data, b.len, NULL);
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_set_input(data, size);
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1)
        escape(text);
    else
        round_trip(text);
    free(text);
    fuzz_set_input(NULL, 0);
    return 0;
}
