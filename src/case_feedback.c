/* case_feedback.c - cases from leads, and residents' feedback in the group
 * (see case_feedback.h).
 *
 * A lead's urgency follows 12345 classes: emergencies, outages of water,
 * power, gas or heating (utility, from cue words), complaints and other
 * matters general. The case is held first by the group's own unit (its
 * grid, or the community of an enterprise park group). Feedback is
 * recognised only in short replies that carry one of the rating words or a
 * "not fixed" cue, from someone who reported a case in that group, so an
 * ordinary new report in the group still becomes a lead. */
#include "case_feedback.h"

#include <stdio.h>
#include <string.h>

#include "case.h"
#include "store_case.h"

int case_lead_opens(const char *intent)
{
    static const char *const opens[] = {"help", "report", "complaint", "emergency"};
    for (size_t i = 0; i < sizeof opens / sizeof opens[0]; i++)
        if (intent && strcmp(intent, opens[i]) == 0)
            return 1;
    return 0;
}

static const char *urgency_of(const char *intent, const char *text)
{
    static const char *const outage[] = {"停水", "停电", "断水", "断电", "没水",
                                         "没电", "停气", "燃气", "暖气", "供暖"};
    if (strcmp(intent, "emergency") == 0)
        return "emergency";
    for (size_t i = 0; i < sizeof outage / sizeof outage[0]; i++)
        if (strstr(text, outage[i]))
            return "utility";
    return "general";
}

/* The first 24 characters of text (UTF-8 boundaries kept) into buf. */
static void title_of(const char *text, char *buf, size_t n)
{
    size_t i = 0, chars = 0;
    while (text[i] && chars < 24 && i + 4 < n) {
        size_t len = 1;
        unsigned char b = (unsigned char)text[i];
        len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
        if (text[i] == '\n' || text[i] == '\r')
            break;
        i += len;
        chars++;
    }
    memcpy(buf, text, i);
    buf[i] = '\0';
}

int case_from_lead_row(const case_lead *l, case_row *c, ny_err *e)
{
    *c = (case_row){0};
    char title[128];
    title_of(l->text, title, sizeof title);
    snprintf(c->kind, sizeof c->kind, "case");
    snprintf(c->source, sizeof c->source, "lead");
    snprintf(c->urgency, sizeof c->urgency, "%s", urgency_of(l->intent, l->text));
    snprintf(c->category, sizeof c->category, "%s", l->category ? l->category : "无");
    snprintf(c->unit, sizeof c->unit, "%s", l->unit);
    c->group_id = l->group_id;
    c->priority = strcmp(l->intent, "emergency") == 0;
    if (case_row_set(&c->title, title, e) || case_row_set(&c->description, l->text, e) ||
        case_row_set(&c->location, "", e) || case_row_set(&c->photo_url, "", e) ||
        case_row_set(&c->reporter, l->sender_name, e)) {
        case_row_free(c);
        return NY_ERR;
    }
    return NY_OK;
}

int case_from_lead(store *db, const sla *s, const case_lead *l, int64_t now, int64_t *case_id,
                   ny_err *e)
{
    char note[160];
    if (l->duplicate_of) {
        int rc = store_case_reporter_add(db, l->duplicate_of, l->group_id, l->sender_id,
                                         l->sender_name, l->message_id, now, e);
        snprintf(note, sizeof note, "%s 重复反映，并入本案 / repeated report", l->sender_name);
        if (rc == NY_OK)
            rc = store_case_log(db, l->duplicate_of, now, "system", "report", "{}", note, NULL, e);
        if (rc == NY_OK)
            *case_id = l->duplicate_of;
        return rc;
    }
    case_row c;
    static const case_actor sys = {"system", "系统", "system", "", "", ""};
    int rc = case_from_lead_row(l, &c, e);
    if (rc == NY_OK)
        rc = case_open(db, s, &c, &sys, now, e);
    if (rc == NY_OK)
        rc = store_case_reporter_add(db, c.id, l->group_id, l->sender_id, l->sender_name,
                                     l->message_id, now, e);
    if (rc == NY_OK)
        *case_id = c.id;
    case_row_free(&c);
    return rc;
}

int case_feedback_kind(const char *text)
{
    static const char *const not_fixed[] = {"还没修好", "没修好",   "还没解决", "没有解决",
                                            "问题还在", "还是没好", "又坏了"};
    size_t len = strlen(text);
    if (len > 120)
        return 0;
    for (size_t i = 0; i < sizeof not_fixed / sizeof not_fixed[0]; i++)
        if (strstr(text, not_fixed[i]))
            return -1;
    if (len > 60)
        return 0;
    if (strstr(text, "不满意"))
        return 1;
    if (strstr(text, "基本满意"))
        return 3;
    if (strstr(text, "满意"))
        return 5;
    return 0;
}

int case_feedback(store *db, const sla *s, int64_t group_id, const char *sender_id,
                  const char *text, int64_t now, int64_t *case_id, ny_err *e)
{
    *case_id = 0;
    int kind = case_feedback_kind(text);
    if (kind == 0)
        return NY_OK;
    int64_t id = 0;
    int rc = store_case_of_reporter(db, group_id, sender_id,
                                    now - (int64_t)sla_reopen_days(s) * 86400, &id, e);
    if (rc == NY_ENOTFOUND)
        return NY_OK;
    if (rc != NY_OK)
        return rc;
    case_row c;
    if ((rc = store_case_load(db, id, &c, e)) != NY_OK)
        return rc;
    char account[160];
    snprintf(account, sizeof account, "resident:%s", sender_id);
    case_row before;
    if ((rc = case_row_copy(&before, &c, e)) != NY_OK) {
        case_row_free(&c);
        return rc;
    }
    const char *st = c.status;
    int resolved = strcmp(st, "resolved") == 0 || strcmp(st, "verified") == 0;
    int done = resolved || strcmp(st, "closed") == 0;
    char changes[128];
    if (kind < 0 && done) { /* not fixed: back to work */
        c.reopen_count++;
        c.closed_at = c.verified_at = c.resolved_at = 0;
        c.resolved_by[0] = '\0';
        snprintf(c.status, sizeof c.status, "in_progress");
        case_stage_start(&c, s, "resolve", now);
        snprintf(changes, sizeof changes,
                 "{\"status\":[\"%s\",\"in_progress\"],\"reopen_count\":[%d,%d]}", before.status,
                 before.reopen_count, c.reopen_count);
        rc = store_case_save(db, &c, e);
        if (rc == NY_OK)
            rc = store_case_log(db, c.id, now, account, "reopen", changes, text, NULL, e);
    } else if (kind < 0) { /* still being handled: the reporter urges */
        rc = store_case_log(db, c.id, now, account, "urge", "{}", text, NULL, e);
    } else if (resolved || (strcmp(st, "closed") == 0 && !c.satisfaction)) {
        c.satisfaction = kind;
        snprintf(changes, sizeof changes, "{\"satisfaction\":[%d,%d]}", before.satisfaction, kind);
        rc = store_case_save(db, &c, e);
        if (rc == NY_OK)
            rc = store_case_log(db, c.id, now, account, "rate", changes, text, NULL, e);
        if (rc == NY_OK && resolved && kind >= 3) { /* the reporter confirms: verified, closed */
            case_request verify = {.action = CASE_VERIFY, .note = "报告人确认已解决"};
            case_request close = {.action = CASE_CLOSE, .note = "报告人评价后结案"};
            static const case_actor sys = {"system", "系统", "system", "", "", ""};
            if (strcmp(c.status, "resolved") == 0) {
                c.verified_at = now;
                snprintf(c.status, sizeof c.status, "verified");
                rc = store_case_save(db, &c, e);
                if (rc == NY_OK)
                    rc = store_case_log(db, c.id, now, account, "verify",
                                        "{\"status\":[\"resolved\",\"verified\"]}", verify.note,
                                        NULL, e);
            }
            if (rc == NY_OK)
                rc = case_apply(db, s, &c, &sys, &close, now, NULL, e);
        }
    } else {
        *case_id = 0; /* a rating before anything was done is not read as feedback */
        case_row_free(&before);
        case_row_free(&c);
        return NY_OK;
    }
    if (rc == NY_OK)
        *case_id = c.id;
    case_row_free(&before);
    case_row_free(&c);
    return rc;
}
