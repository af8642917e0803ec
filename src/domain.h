/* domain.h - the fixed vocabularies and identifier rules of the domain.
 *
 * One place for the enumerations every module shares (unit levels, staff
 * roles, intents, categories, group kinds, platforms, audiences) and for the
 * checks of identifiers that come from outside: statistical division codes,
 * grid codes and unified social credit codes (GB 32100-2015). Pure functions,
 * no allocation, no I/O. */
#ifndef NY_DOMAIN_H
#define NY_DOMAIN_H

#include <stddef.h>

#include "err.h"

/* NULL-terminated lists of the accepted values. */
extern const char *const domain_levels[];     /* district street community grid */
extern const char *const domain_roles[];      /* grid_worker community street district department admin */
extern const char *const domain_intents[];    /* consult help report emergency complaint other */
extern const char *const domain_categories[]; /* 城乡建设 ... 卫生计生 无 */
extern const char *const domain_group_kinds[];/* resident enterprise */
extern const char *const domain_platforms[];  /* wechat wecom dingtalk feishu webhook */
extern const char *const domain_audiences[];  /* resident enterprise both */

/* Index of value in the NULL-terminated list, or -1 if absent (or NULL). */
int domain_index(const char *const *list, const char *value);

/* The list joined with '/', for error messages ("district/street/..."). */
const char *domain_list_text(const char *const *list);

/* Level of a unit as 0 district .. 3 grid, or -1. */
int domain_level(const char *level);

/* Checks that code is a well-formed code for a unit of the given level under
 * a parent with parent_code (NULL for the district):
 *   district  12 digits, last 6 zero          e.g. 411571000000
 *   street    12 digits, last 3 zero, street part 001..999, first 6 = parent's
 *   community 12 digits, community part 001..999, first 9 = parent's
 *   grid      15 digits, first 12 = parent's, suffix 001..999
 * Returns NY_OK or NY_EINVAL with a reason in e. */
int domain_unit_code_check(const char *level, const char *code, const char *parent_code,
                           ny_err *e);

/* Writes the significant prefix of a unit code (the part its descendants
 * share: 6, 9, 12 or 15 digits for district, street, community, grid) into
 * out (size >= 16). Returns NY_OK or NY_EINVAL. */
int domain_unit_prefix(const char *level, const char *code, char *out, size_t outsz);

/* Check character of a unified social credit code from its first 17
 * characters, or 0 if one of them is not allowed. */
char domain_uscc_check_char(const char *first17);

/* NY_OK if uscc is 18 characters from the allowed alphabet with the right
 * check character; NY_EINVAL with a reason otherwise. */
int domain_uscc_check(const char *uscc, ny_err *e);

/* Masks a phone number for display: 13812345678 -> 138****5678; shorter
 * numbers keep their last 2 characters. out must hold strlen(phone)+1. */
void domain_mask_phone(const char *phone, char *out, size_t outsz);

/* NY_OK if s is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF) of
 * len bytes; else NY_EINVAL with the byte offset in the message. */
int domain_utf8_check(const char *s, size_t len, ny_err *e);

/* s when the NUL-terminated s is valid UTF-8, else other: for text written
 * into JSON lines (the logs) that must stay parseable. */
const char *domain_utf8_or(const char *s, const char *other);

#endif
