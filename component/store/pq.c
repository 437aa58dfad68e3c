#include "build-config.h"

#include "store/pq.h"

#include <string.h>

#include "core/utf8.h"

const char *store_pq_error(char *out, size_t outlen, const PGconn *conn,
                           const PGresult *res, const char *prefix)
{
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if ((!msg || !msg[0]) && conn)
        msg = PQerrorMessage(conn);
    if (!msg)
        msg = "";
    if (prefix)
        utf8_snprintf(out, outlen, "%s: %s", prefix, msg);
    else
        utf8_snprintf(out, outlen, "%s", msg);
    for (char *p = out; *p; p++) {
        if (*p == '\t' || *p == '\r')
            *p = ' ';
        else if (*p == '\n')
            *p = (p[1] ? ' ' : '\0');
    }
    return res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
}
