/* XEP-0199 ping on the service address. */
#ifndef MUCDESK_XMPP_PING_H
#define MUCDESK_XMPP_PING_H

#include "xmpp/disco.h"
#include "xmpp/router.h"

#define NS_PING "urn:xmpp:ping"

int ping_register(struct router *router, struct disco *disco);

#endif
