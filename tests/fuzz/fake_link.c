/* The XMPP link of the fuzz world: xmpp/link.h without a socket, linked in
 * place of component/xmpp/link.o.  The link is always up; what the service
 * writes into link_out() stays there until the world takes it
 * (fake_link_output, fake_link_clear), so every stanza the daemon would
 * send reaches the checks.  The libstrophe context parses the stanzas the
 * world feeds in. */
#include "build-config.h"

#include <stdlib.h>

#include "fake.h"
#include "xmpp/link.h"

struct link {
    xmpp_ctx_t *ctx;
    struct link_events events;
    struct buf out;
    struct link_stats stats;
};

static struct link *current;

struct link *fake_link(void)
{
    return current;
}

struct link *link_new(struct loop *loop, const struct link_config *cfg,
                      const struct link_events *events)
{
    (void)loop, (void)cfg;
    struct link *link = calloc(1, sizeof *link);
    if (!link)
        return NULL;
    link->events = *events;
    link->ctx = xmpp_ctx_new(NULL, NULL);
    if (!link->ctx) {
        free(link);
        return NULL;
    }
    current = link;
    return link;
}

void link_free(struct link *link)
{
    if (!link)
        return;
    if (current == link)
        current = NULL;
    buf_free(&link->out);
    xmpp_ctx_free(link->ctx);
    free(link);
}

int link_start(struct link *link)
{
    (void)link;
    return 0;
}

void link_close(struct link *link, unsigned timeout_ms)
{
    (void)link, (void)timeout_ms;
}

bool link_is_up(const struct link *link)
{
    (void)link;
    return true;
}

/* Active/standby's gate and fencing: the world runs standalone, always
 * allowed to send. */
void link_set_gate(struct link *link, bool (*may_send)(void *ud), void *ud)
{
    (void)link, (void)may_send, (void)ud;
}

void link_abort(struct link *link)
{
    (void)link;
}

struct buf *link_out(struct link *link)
{
    return &link->out;
}

void link_flush(struct link *link)
{
    (void)link; /* kept for the world to read */
}

xmpp_ctx_t *link_strophe(struct link *link)
{
    return link->ctx;
}

const struct link_stats *link_stats(const struct link *link)
{
    return &link->stats;
}

const char *fake_link_output(struct link *link, size_t *len)
{
    *len = link->out.len;
    return buf_cstr(&link->out);
}

void fake_link_clear(struct link *link)
{
    buf_reset(&link->out);
}

void fake_link_receive(struct link *link, xmpp_stanza_t *st)
{
    link->stats.stanzas_in++;
    if (link->events.stanza)
        link->events.stanza(link->events.ud, st);
}
