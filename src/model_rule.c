/* model_rule.c - the emergency safety rule of model.h.
 *
 * The intent model is trained on few emergencies, and an emergency it misses
 * costs far more than a false alarm, so a short list of unmistakable cues of
 * danger happening now (fire, smoke, explosion, gas, someone collapsed, not
 * breathing, trapped, drowning, a cry for help) raises a message to emergency
 * whatever the model says. A cue is a term, or two terms that must occur in
 * this order ("电梯" ... "困"). The cue does not count when the message is
 * plainly about the past or over ("昨天", "已经灭了"), hypothetical or
 * instructional ("如果", "演练", "提示"), or a question about rules; "不是演练"
 * cancels "演练". The lists are kept short on purpose: every entry was checked
 * against the labelled chat messages for the false alarms it causes. */
#include "model.h"

#include <string.h>

/* Cues: "a" or "a|b" (a, then later b). */
static const char *const cues[] = {
    "着火",       "起火",       "失火",     "火灾",     "烧起来", "冒黑烟",   "冒浓烟",
    "浓烟",       "火光",       "爆炸",     "爆了",     "漏气",   "煤气味",   "燃气味",
    "泄漏",       "救命",       "快来人",   "叫不醒",   "没呼吸", "没有呼吸", "喘不上气",
    "喘不过气",   "晕倒",       "昏迷",     "不省人事", "抽搐",   "溺水",     "掉水里",
    "掉河里",     "掉进河",     "掉进水",   "触电",     "困人",   "被困",     "压住人",
    "压到人",     "砍人",       "跳楼",     "中毒",     "决口",   "塌了|人",  "血止不住",
    "流了好多血", "快叫救护车", "快打119",  "快打120",  "快报警", "地震",     "滑坡",
    "冒火花",     "掉下去了",   "羊水破了", "脸都紫了", "往下掉", "淹到",     "进水了|快",
};

/* Blockers: the cue is about the past, a drill, a rule or a hypothetical. */
static const char *const blockers[] = {
    "昨天",   "前天",     "上次", "上周",   "去年", "已经灭", "扑灭了",   "处理完",
    "没事了", "出院",     "演练", "如果",   "万一", "如遇",   "提示",     "培训",
    "知识",   "安全教育", "转发", "【",     "防范", "预防",   "怎么预防", "注意事项",
    "请问",   "咨询",     "新闻", "电视上", "听说",
};

static const char *find(const char *hay, size_t len, const char *needle, size_t from)
{
    size_t nl = strlen(needle);
    if (from > len || nl > len - from)
        return NULL;
    for (size_t i = from; i + nl <= len; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0)
            return hay + i;
    return NULL;
}

/* Whether cue (possibly "a|b") occurs in text. */
static int has_cue(const char *text, size_t len, const char *cue)
{
    const char *bar = strchr(cue, '|');
    if (!bar)
        return find(text, len, cue, 0) != NULL;
    char first[64];
    size_t fl = (size_t)(bar - cue);
    if (fl >= sizeof first)
        return 0;
    memcpy(first, cue, fl);
    first[fl] = '\0';
    const char *a = find(text, len, first, 0);
    return a && find(text, len, bar + 1, (size_t)(a - text) + fl) != NULL;
}

int model_emergency_cue(const char *text, size_t len, int urgent)
{
    int cue = urgent != 0;
    for (size_t i = 0; !cue && i < sizeof cues / sizeof *cues; i++)
        cue = has_cue(text, len, cues[i]);
    if (!cue)
        return 0;
    for (size_t i = 0; i < sizeof blockers / sizeof *blockers; i++) {
        const char *b = find(text, len, blockers[i], 0);
        if (!b)
            continue;
        if (strcmp(blockers[i], "演练") == 0 && b - text >= 6 && memcmp(b - 6, "不是", 6) == 0)
            continue;
        return 0;
    }
    return 1;
}
