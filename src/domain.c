/* domain.c - vocabularies and identifier checks (see domain.h).
 *
 * Import, demo generation and (later) the API validate outside input here, so
 * that a bad level, code or credit code is refused with the same reason
 * whatever path it came in by. */
#include "domain.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

const char *const domain_levels[] = {"district", "street", "community", "grid", NULL};
const char *const domain_roles[] = {"grid_worker", "community", "street", "district",
                                    "department",  "admin",     NULL};
const char *const domain_intents[] = {"consult",   "help",  "report", "emergency",
                                      "complaint", "other", NULL};
const char *const domain_categories[] = {"城乡建设", "环境保护", "交通运输", "教育文体",
                                         "劳动和社会保障", "商贸旅游", "卫生计生", "无",
                                         NULL};
const char *const domain_group_kinds[] = {"resident", "enterprise", NULL};
const char *const domain_platforms[] = {"wechat", "wecom", "dingtalk", "feishu", "webhook", NULL};
const char *const domain_audiences[] = {"resident", "enterprise", "both", NULL};

int domain_index(const char *const *list, const char *value)
{
    if (!value)
        return -1;
    for (int i = 0; list[i]; i++) /* the first byte tells most apart */
        if (list[i][0] == value[0] && strcmp(list[i], value) == 0)
            return i;
    return -1;
}

const char *domain_list_text(const char *const *list)
{
    /* Lists are static and few; cache each joined text by list address. */
    static struct {
        const char *const *list;
        char text[160];
    } cache[8];
    for (int i = 0; i < 8; i++) {
        if (cache[i].list == list)
            return cache[i].text;
        if (cache[i].list == NULL) {
            size_t off = 0;
            for (int j = 0; list[j]; j++)
                off += (size_t)snprintf(cache[i].text + off, sizeof cache[i].text - off, "%s%s",
                                        j ? "/" : "", list[j]);
            cache[i].list = list;
            return cache[i].text;
        }
    }
    return "?";
}

int domain_level(const char *level)
{
    return domain_index(domain_levels, level);
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int all_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return 0;
    return 1;
}

int domain_unit_code_check(const char *level, const char *code, const char *parent_code,
                           ny_err *e)
{
    int lv = domain_level(level);
    if (lv < 0)
        return ny_err_set(e, NY_EINVAL, "unknown level '%s' (expected %s)", level ? level : "",
                          domain_list_text(domain_levels));
    size_t want = lv == 3 ? 15 : 12, len = strlen(code);
    if (len != want || !all_digits(code, len))
        return ny_err_set(e, NY_EINVAL, "%s code '%s' must be %zu digits", level, code, want);
    if (lv == 0) {
        if (parent_code && *parent_code)
            return ny_err_set(e, NY_EINVAL, "a district has no parent");
        if (all_zero(code, 6) || !all_zero(code + 6, 6))
            return ny_err_set(e, NY_EINVAL,
                              "district code '%s' must be a 6-digit county code followed by 000000",
                              code);
        return NY_OK;
    }
    if (!parent_code || !*parent_code)
        return ny_err_set(e, NY_EINVAL, "a %s needs a parent", level);
    /* digits shared with the parent, and the part this level adds */
    static const size_t keep[] = {0, 6, 9, 12}, part[] = {0, 3, 3, 3};
    if (strlen(parent_code) < keep[lv] || strncmp(code, parent_code, keep[lv]) != 0)
        return ny_err_set(e, NY_EINVAL, "%s code '%s' does not start with its parent's '%.*s'",
                          level, code, (int)keep[lv], parent_code);
    if (all_zero(code + keep[lv], part[lv]))
        return ny_err_set(e, NY_EINVAL, "%s code '%s': digits %zu-%zu must not be 000", level,
                          code, keep[lv] + 1, keep[lv] + part[lv]);
    if (lv < 3 && !all_zero(code + keep[lv] + part[lv], 12 - keep[lv] - part[lv]))
        return ny_err_set(e, NY_EINVAL, "%s code '%s' must end in %zu zeros", level, code,
                          12 - keep[lv] - part[lv]);
    return NY_OK;
}

int domain_unit_prefix(const char *level, const char *code, char *out, size_t outsz)
{
    static const size_t len[] = {6, 9, 12, 15};
    int lv = domain_level(level);
    if (lv < 0 || strlen(code) < len[lv] || outsz <= len[lv])
        return NY_EINVAL;
    memcpy(out, code, len[lv]);
    out[len[lv]] = '\0';
    return NY_OK;
}

static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

char domain_uscc_check_char(const char *first17)
{
    static const int weight[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        const char *p = first17[i] ? strchr(uscc_alphabet, first17[i]) : NULL;
        if (!p)
            return 0;
        sum += (int)(p - uscc_alphabet) * weight[i];
    }
    int c = 31 - sum % 31;
    return uscc_alphabet[c == 31 ? 0 : c];
}

int domain_uscc_check(const char *uscc, ny_err *e)
{
    size_t len = strlen(uscc);
    if (len != 18)
        return ny_err_set(e, NY_EINVAL, "credit code '%s' has %zu characters, expected 18", uscc,
                          len);
    for (size_t i = 0; i < 18; i++)
        if (!strchr(uscc_alphabet, uscc[i]) || uscc[i] == '\0')
            return ny_err_set(e, NY_EINVAL, "credit code '%s': character %zu '%c' is not allowed",
                              uscc, i + 1, uscc[i]);
    char want = domain_uscc_check_char(uscc);
    if (want != uscc[17])
        return ny_err_set(e, NY_EINVAL, "credit code '%s': check character should be '%c'", uscc,
                          want);
    return NY_OK;
}

void domain_mask_phone(const char *phone, char *out, size_t outsz)
{
    size_t len = strlen(phone);
    if (outsz == 0)
        return;
    if (len + 1 > outsz)
        len = outsz - 1;
    for (size_t i = 0; i < len; i++) {
        int keep = len >= 11 ? (i < 3 || i >= len - 4) : (i + 2 >= len);
        out[i] = keep ? phone[i] : '*';
    }
    out[len] = '\0';
}

int domain_utf8_check(const char *s, size_t len, ny_err *e)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned cp, min;
        uint64_t w;
        if (c < 0x80) { /* ASCII: eight bytes at a time while they all are */
            i++;
            while (len - i >= 8 && (memcpy(&w, p + i, 8), (w & 0x8080808080808080ULL) == 0))
                i += 8;
            continue;
        } else if ((c & 0xF0) == 0xE0 && i + 2 < len && (p[i + 1] & 0xC0) == 0x80 &&
                   (p[i + 2] & 0xC0) == 0x80) { /* the common case in Chinese text */
            cp = (c & 0x0F) << 12 | (p[i + 1] & 0x3Fu) << 6 | (p[i + 2] & 0x3Fu);
            if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
                return ny_err_set(e, NY_EINVAL, "invalid UTF-8 at byte %zu", i + 1);
            i += 3;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return ny_err_set(e, NY_EINVAL, "invalid UTF-8 at byte %zu", i + 1);
        }
        if (i + n >= len)
            return ny_err_set(e, NY_EINVAL, "truncated UTF-8 sequence at byte %zu", i + 1);
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return ny_err_set(e, NY_EINVAL, "invalid UTF-8 at byte %zu", i + 1);
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return ny_err_set(e, NY_EINVAL, "invalid UTF-8 at byte %zu", i + 1);
        i += n + 1;
    }
    return NY_OK;
}

const char *domain_utf8_or(const char *s, const char *other)
{
    return domain_utf8_check(s, strlen(s), NULL) == NY_OK ? s : other;
}
