#include "build-config.h"

#include "xmpp/ping.h"

#include <string.h>

static int on_ping(void *ud, const struct stanza_in *in,
                   xmpp_stanza_t *payload, struct xerr *err)
{
    struct router *router = ud;
    (void)payload;
    if (strcmp(in->type, "get") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "ping is an iq of type get");
        return -1;
    }
    struct buf *out = router_out(router);
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "/>");
    return 0;
}

int ping_register(struct router *router, struct disco *disco)
{
    if (router_on_iq(router, ROUTE_SERVICE, NS_PING, on_ping, router) < 0)
        return -1;
    return disco_add_feature(disco, NS_PING);
}
