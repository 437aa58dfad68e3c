#include "build-config.h"

#include "xmpp/version.h"

#include <string.h>

static int on_version(void *ud, const struct stanza_in *in,
                      xmpp_stanza_t *payload, struct xerr *err)
{
    struct router *router = ud;
    (void)payload;
    if (strcmp(in->type, "get") != 0) {
        xerr_set(err, XERR_BAD_REQUEST, "software version is read-only");
        return -1;
    }
    struct buf *out = router_out(router);
    stanza_open_reply(out, in, "result");
    buf_append_str(out, "><query xmlns='" NS_VERSION "'><name>" PACKAGE_NAME
                        "</name><version>" PACKAGE_VERSION
                        "</version></query></iq>");
    return 0;
}

int version_register(struct router *router, struct disco *disco)
{
    if (router_on_iq(router, ROUTE_SERVICE, NS_VERSION, on_version, router) < 0)
        return -1;
    return disco_add_feature(disco, NS_VERSION);
}
