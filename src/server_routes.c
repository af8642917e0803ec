/* server_routes.c - the server's route table and its dispatch.
 *
 * Every endpoint is one row: method, path pattern and handler. A pattern is
 * a path whose "{}" segments match any one non-empty segment, handed to the
 * handler as call->params in order. Dispatch walks the table once: the
 * first row whose pattern and method match runs; if some pattern matched
 * but no method did, the answer is 405 with an Allow header listing the
 * methods that would have matched, else 404. HEAD is served by GET rows.
 * Handlers live with their concern (server_http.c, server_ingest.c,
 * server_auth.c, ...); this file only says which URL reaches which. A path
 * no row knows, outside /api/, is a file of the web front end
 * (server_static.c). */
#include <stdio.h>
#include <string.h>

#include "server_api.h"
#include "server_cases.h"
#include "server_int.h"
#include "server_kpi_memo.h"

typedef struct route_row {
    const char *method;
    const char *pattern;
    server_handler handler;
} route_row;

static const route_row routes[] = {
    {"GET", "/healthz", server_healthz},
    {"GET", "/metrics", server_metrics_text},
    {"POST", "/api/v1/messages", server_ingest},
    {"POST", "/api/v1/login", server_login},
    {"POST", "/api/v1/logout", server_logout},
    {"GET", "/api/v1/me", server_me},
    {"POST", "/api/v1/admin/clock", server_admin_clock},
    {"GET", "/connectors/wecom/{}", server_wecom},
    {"POST", "/connectors/wecom/{}", server_wecom},
    {"POST", "/api/v1/notices", server_notice_create},
    {"GET", "/api/v1/notices", server_notices_list},
    {"GET", "/api/v1/notices/{}", server_notice_get},
    {"GET", "/api/v1/outbox", server_outbox_list},
    {"POST", "/api/v1/outbox/{}/retry", server_outbox_retry},
    {"GET", "/api/v1/cases", server_cases_list},
    {"POST", "/api/v1/cases", server_cases_post},
    {"GET", "/api/v1/cases/{}", server_case_get},
    {"POST", "/api/v1/cases/{}/actions", server_case_action},
    {"GET", "/api/v1/kpi", server_kpi_memoized},
    {"GET", "/api/v1/kpi/workers", server_kpi_workers},
    {"GET", "/api/v1/ledger", server_ledger},
    {"GET", "/api/v1/digest", server_digest},
    {"GET", "/api/v1/stream", server_stream},
    {"GET", "/api/v1/units", api_units_get},
    {"GET", "/api/v1/units/{}", api_unit_get},
    {"GET", "/api/v1/groups", api_groups},
    {"GET", "/api/v1/messages", api_messages},
    {"GET", "/api/v1/leads", api_leads},
    {"GET", "/api/v1/stats", api_stats},
    {"GET", "/api/v1/policies", api_policies},
    {"POST", "/api/v1/policies", api_policy_post},
    {"GET", "/api/v1/policies/{}", api_policy_get},
    {"PUT", "/api/v1/policies/{}", api_policy_put},
    {"DELETE", "/api/v1/policies/{}", api_policy_delete},
    {"GET", "/api/v1/lexicon", api_lexicon},
    {"POST", "/api/v1/lexicon", api_lexeme_post},
    {"PUT", "/api/v1/lexicon/{}", api_lexeme_put},
    {"DELETE", "/api/v1/lexicon/{}", api_lexeme_delete},
    {"POST", "/api/v1/triage", api_triage},
    {"GET", "/open311/v2/discovery.json", server_open311_discovery},
    {"GET", "/open311/v2/services.json", server_open311_services},
    {"GET", "/open311/v2/services/{}", server_open311_service},
    {"GET", "/open311/v2/requests.json", server_open311_requests},
    {"POST", "/open311/v2/requests.json", server_open311_post},
    {"GET", "/open311/v2/requests/{}", server_open311_request},
};

/* 1 when path matches pattern; captures the {} segments into call. */
static int match(const char *pattern, const char *path, server_call *call)
{
    int n = 0;
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t seg = strcspn(path, "/");
            if (seg == 0 || seg >= sizeof call->params[0] || n == SERVER_MAX_PARAMS)
                return 0;
            memcpy(call->params[n], path, seg);
            call->params[n][seg] = '\0';
            n++;
            path += seg;
            pattern += 2;
        } else if (*pattern++ != *path++) {
            return 0;
        }
    }
    if (*pattern || *path)
        return 0;
    call->nparams = n;
    return 1;
}

void server_route(server *sv, server_call *call, server_reply *r)
{
    char allowed[160] = "";
    const char *method = strcmp(call->method, "HEAD") == 0 ? "GET" : call->method;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(routes[i].pattern, call->path, call))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            routes[i].handler(sv, call, r);
            return;
        }
        size_t used = strlen(allowed);
        if (!strstr(allowed, routes[i].method))
            snprintf(allowed + used, sizeof allowed - used, "%s%s", used ? ", " : "",
                     routes[i].method);
    }
    char msg[240];
    if (!allowed[0] && server_static(sv, call, r))
        return;
    if (!allowed[0]) {
        snprintf(msg, sizeof msg, "no such route: %s %.160s", call->method, call->path);
        server_error(r, 404, msg, NULL, -1);
        return;
    }
    snprintf(msg, sizeof msg, "method %s not allowed here (allowed: %s)", call->method, allowed);
    server_error(r, 405, msg, NULL, -1);
    snprintf(r->allow, sizeof r->allow, "%s", allowed);
}
