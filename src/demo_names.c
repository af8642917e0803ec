/* demo_names.c - names, numbers and word tables of the demo district.
 *
 * The demo generator (demo.c, demo_people.c, demo_messages.c) draws every
 * personal name, phone number, estate, hamlet, road and firm name from the
 * tables here, so that the look of the data lives in one place (with the
 * weighted draw that several tables use). All tables were composed for this
 * project: the surnames are the common Chinese ones, weighted roughly by how
 * common they are; given names combine ordinary characters at random, so a
 * generated name is an everyday one that stands for no particular person. */
#include "demo_int.h"

#include <stdio.h>
#include <string.h>

int demo_rng_weighted(demo_rng *r, const int *weights, int n)
{
    long total = 0;
    for (int i = 0; i < n; i++)
        total += weights[i];
    long x = (long)demo_rng_below(r, (uint32_t)total);
    for (int i = 0; i < n; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    return n - 1;
}

/* ---- personal names -------------------------------------------------------- */
static const char *const surnames[] = {
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高",
    "林", "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "肖",
    "程", "曹", "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾",
    "丁", "魏", "薛", "叶", "闫", "余", "潘", "杜", "戴", "夏", "钟", "汪", "田", "任", "姜",
    "范", "方", "石", "姚", "谭", "廖", "邹", "熊", "金", "陆", "郝", "孔", "白", "崔", "康",
    "毛", "邱", "秦", "江", "史", "顾", "侯", "邵", "孟", "龙", "万", "段", "雷", "钱", "汤",
    "尹", "黎", "易", "常", "武", "乔", "贺", "赖", "龚", "文", "付", "殷", "柳", "岳", "耿"};
/* per ten thousand, for the surnames above in order; the rest share 1 each */
static const int surname_weight_head[] = {
    760, 740, 700, 560, 460, 320, 260, 230, 210, 200, 180, 170, 150, 140, 130, 120, 120, 120,
    120, 100, 100, 100, 90,  90,  80,  80,  80,  70,  70,  40,  70,  70,  60,  60,  60,  40,
    50,  50,  50,  50,  50,  50,  50,  50,  50,  40,  40,  40,  40,  40,  40,  40,  40,  40,
    40,  30,  30,  30,  30,  30,  30,  30,  30,  30,  30,  30,  30,  30,  30,  30,  30,  30,
    30,  30,  30,  20,  20,  20,  20,  20,  20,  20,  20,  20,  20,  20,  20,  20,  20,  20};
enum { N_SURNAMES = (int)(sizeof surnames / sizeof surnames[0]) };
enum { N_SURNAME_HEAD = (int)(sizeof surname_weight_head / sizeof surname_weight_head[0]) };

static const char *const given_m[] = {
    "伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞",
    "鑫", "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "林", "峰", "建",
    "国", "志", "文", "永", "海", "振", "东", "兵", "亮", "成", "新", "春", "德", "庆", "金",
    "宏", "学", "保", "全", "中", "雨", "博", "子", "晨", "豪", "阳", "松", "家", "远", "立"};
static const char *const given_f[] = {
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "玲", "燕", "萍", "红", "梅", "莉",
    "兰", "婷", "雪", "琳", "慧", "晶", "倩", "颖", "玉", "凤", "洁", "佳", "欣", "怡", "萱",
    "雅", "月", "丹", "瑶", "琪", "桂", "英", "荣", "春", "晓", "云", "素", "爱", "淑", "彩"};

const char *demo_surname(demo_rng *r)
{
    /* surnames past the weighted head share a weight of 10 each */
    int total = 10 * (N_SURNAMES - N_SURNAME_HEAD);
    for (int i = 0; i < N_SURNAME_HEAD; i++)
        total += surname_weight_head[i];
    int x = (int)demo_rng_below(r, (uint32_t)total);
    for (int i = 0; i < N_SURNAMES; i++) {
        int w = i < N_SURNAME_HEAD ? surname_weight_head[i] : 10;
        if (x < w)
            return surnames[i];
        x -= w;
    }
    return surnames[0];
}

void demo_person_name(demo_rng *r, char *out, size_t outsz)
{
    const char *sur = demo_surname(r);
    int female = (int)demo_rng_below(r, 2);
    const char *const *pool = female ? given_f : given_m;
    uint32_t n = female ? (uint32_t)(sizeof given_f / sizeof given_f[0])
                        : (uint32_t)(sizeof given_m / sizeof given_m[0]);
    uint32_t a = demo_rng_below(r, n);
    if (demo_rng_permille(r, 330)) {
        snprintf(out, outsz, "%s%s", sur, pool[a]);
        return;
    }
    uint32_t b = demo_rng_below(r, n);
    if (b == a && !demo_rng_permille(r, 300)) /* doubled names (婷婷) are rarer */
        b = (a + 1 + demo_rng_below(r, n - 1)) % n;
    snprintf(out, outsz, "%s%s%s", sur, pool[a], pool[b]);
}

void demo_mobile(demo_rng *r, char *out, size_t outsz)
{
    static const char *const prefixes[] = {
        "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
        "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180",
        "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199"};
    snprintf(out, outsz, "%s%08u", DEMO_PICK(r, prefixes), (unsigned)demo_rng_below(r, 100000000));
}

void demo_nickname(demo_rng *r, char *out, size_t outsz)
{
    static const char *const phrase[] = {
        "岁月静好", "平安是福", "知足常乐", "开心每一天", "向日葵",   "风轻云淡",   "静待花开",
        "春暖花开", "简单就好", "笑看人生", "花开富贵",   "一路向前", "晨曦",       "大海",
        "追梦人",   "淡然",     "心若止水", "蓝天白云",   "好运连连", "家和万事兴", "清风徐来",
        "阿毛",     "小太阳",   "天天向上", "星星点灯",   "木棉花",   "随缘",       "梧桐树下",
        "雨后彩虹", "快乐老家", "夕阳红",   "老树",       "布谷鸟",   "麦田",       "荷塘月色",
        "一米阳光", "山茶花",   "青山绿水", "土豆",       "橙子",     "茉莉",       "老顽童",
        "守望",     "金色年华", "自在",     "海阔天空",   "小确幸",   "流年",       "初心",
        "芒果",     "西瓜太郎", "鱼儿",     "飞鸟",       "石头",     "南风",       "小雨点",
        "樱桃",     "秋天的风", "梦想家",   "平凡",       "踏实",     "远方",       "半夏"};
    static const char *const kid[] = {"乐乐", "豆豆", "果果", "糖糖", "嘟嘟", "朵朵", "天天",
                                      "阳阳", "贝贝", "航航", "悠悠", "小宝", "可可", "琪琪",
                                      "浩浩", "睿睿", "轩轩", "多多", "壮壮", "妞妞"};
    static const char *const kin[] = {"妈妈", "爸爸", "奶奶", "姥姥", "妈", "爷爷"};
    static const char *const call[] = {"师傅", "姐", "哥", "阿姨", "叔", "老师"};
    static const char *const trade[] = {"装修", "家电维修", "保洁", "开锁", "搬家", "水电"};
    static const char *const mark[] = {"🌸", "🍀", "☀️", "🌈", "🌻", "~"};
    int style = (int)demo_rng_below(r, 100);
    if (style < 45)
        snprintf(out, outsz, "%s", DEMO_PICK(r, phrase));
    else if (style < 70)
        snprintf(out, outsz, "%s%s", DEMO_PICK(r, kid), DEMO_PICK(r, kin));
    else if (style < 80)
        snprintf(out, outsz, "老%s", demo_surname(r));
    else if (style < 90)
        snprintf(out, outsz, "%s%s", demo_surname(r), DEMO_PICK(r, call));
    else if (style < 94)
        snprintf(out, outsz, "A%s%s", DEMO_PICK(r, trade), demo_surname(r));
    else
        snprintf(out, outsz, "%s%s", DEMO_PICK(r, phrase), DEMO_PICK(r, mark));
}

void demo_numeral(int n, char *out, size_t outsz)
{
    static const char *const d[] = {"", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
    if (n < 1 || n > 99) {
        snprintf(out, outsz, "%d", n);
    } else if (n < 10) {
        snprintf(out, outsz, "%s", d[n]);
    } else {
        snprintf(out, outsz, "%s十%s", n / 10 == 1 ? "" : d[n / 10], d[n % 10]);
    }
}

/* ---- places ------------------------------------------------------------- */

/* A bijection of 0..m-1 chosen by seed: i -> (a*i + b) mod m, a coprime
 * with m. */
static int permute(uint64_t seed, uint64_t tag, int i, int m)
{
    uint64_t h = demo_mix(seed, tag);
    uint64_t a = 1 + h % (uint64_t)(m - 1), b = (h >> 32) % (uint64_t)m;
    for (;;) {
        uint64_t x = a, y = (uint64_t)m;
        while (y) {
            uint64_t t = x % y;
            x = y, y = t;
        }
        if (x == 1)
            break;
        a = a % (uint64_t)(m - 1) + 1;
    }
    return (int)((a * (uint64_t)i + b) % (uint64_t)m);
}

static const char *const estate_head[] = {
    "锦绣", "翠湖", "羊山", "书香", "金桂", "阳光", "盛世", "明珠", "和谐", "幸福", "紫荆",
    "碧水", "东方", "御景", "丽景", "康桥", "怡和", "万和", "南湖", "北湖", "新华", "春晖",
    "香樟", "桂园", "天润", "润泽", "状元", "学府", "滨湖", "龙山", "凤鸣", "云栖"};
static const char *const estate_tail[] = {"华庭", "家园", "花园", "雅苑", "名邸", "新城", "公馆",
                                          "佳苑", "嘉园", "名苑", "府",   "苑",   "城",   "里"};

void demo_estate_name(uint64_t seed, int i, char *out, size_t outsz)
{
    int nh = (int)(sizeof estate_head / sizeof estate_head[0]);
    int nt = (int)(sizeof estate_tail / sizeof estate_tail[0]);
    int j = permute(seed, 0x657374, i % (nh * nt), nh * nt);
    snprintf(out, outsz, "%s%s", estate_head[j % nh], estate_tail[j / nh]);
}

void demo_hamlet_name(uint64_t seed, int i, char *out, size_t outsz)
{
    static const char *const tail[] = {"洼", "湾", "冲", "畈", "岗", "店", "寨", "楼",
                                       "营", "庄", "塆", "坳", "塘", "河", "岭", "园"};
    int nt = (int)(sizeof tail / sizeof tail[0]), ns = 40;
    int j = permute(seed, 0x68616d, i % (ns * nt), ns * nt);
    snprintf(out, outsz, "%s%s", surnames[j % ns], tail[j / ns]);
}

const char *demo_road(demo_rng *r)
{
    static const char *const roads[] = {
        "新五大街", "新七大街", "新九大街",   "十一大街",    "十三大街", "十六大街",
        "十八大街", "二十大街", "二十二大街", "新二街",      "新四街",   "新六街",
        "新八街",   "羊山大道", "新华东路",   "北湖路",      "前进路",   "湖东路",
        "百花路",   "文化路",   "新十八街",   "新二十四大街"};
    return DEMO_PICK(r, roads);
}

/* ---- firms -------------------------------------------------------------- */
const char *const demo_industries[] = {
    "电子信息", "绿色家具", "农副产品加工", "茶叶",   "建材",     "物流",     "餐饮", "商贸",
    "建筑工程", "纺织服装", "新能源",       "中药材", "花卉苗木", "汽车服务", NULL};

/* For each industry: trade words that end a company name, a shop word for
 * individual businesses and a cooperative word. */
static const struct {
    const char *trade[4];
    const char *shop;
    const char *coop;
} trades[DEMO_N_INDUSTRIES] = {
    {{"电子科技", "智能科技", "光电科技", "信息技术"}, "电脑维修部", "电子"},
    {{"家具", "家居", "木业", "定制家居"}, "家具店", "木制品"},
    {{"农业科技", "食品", "粮油", "农产品"}, "粮油店", "农产品"},
    {{"茶业", "茶叶", "生态茶业", "茶叶科技"}, "茶庄", "茶叶种植"},
    {{"建材", "新型建材", "商砼", "石材"}, "建材门市", "建材"},
    {{"物流", "供应链管理", "运输", "仓储服务"}, "货运部", "运输"},
    {{"餐饮管理", "餐饮服务", "酒店管理", "食品"}, "饭店", "餐饮"},
    {{"商贸", "贸易", "电子商务", "商业管理"}, "便利店", "购销"},
    {{"建筑工程", "建设工程", "装饰工程", "市政工程"}, "装饰部", "建筑"},
    {{"服饰", "纺织", "制衣", "鞋业"}, "服装店", "编织"},
    {{"新能源科技", "光伏科技", "能源科技", "电力科技"}, "电动车行", "光伏"},
    {{"药业", "中药材", "生物科技", "中药饮片"}, "中药材经营部", "中药材种植"},
    {{"园林绿化", "花卉", "苗木", "园艺"}, "花店", "花卉苗木种植"},
    {{"汽车服务", "汽车销售", "汽车维修", "机动车检测"}, "汽修厂", "农机"}};

static const char *const brand_a[] = {"华", "恒", "裕", "鸿", "宏", "金", "新", "凯", "博", "天",
                                      "润", "永", "德", "佳", "盛", "嘉", "泰", "瑞", "鼎", "诚",
                                      "卓", "晟", "昊", "远", "长", "绿", "青", "茂", "兴", "和",
                                      "安", "富", "隆", "昌", "豪", "申", "豫", "淮", "楚", "弘"};
static const char *const brand_b[] = {"鑫", "达", "丰", "源", "祥", "泓", "信", "通", "盛", "宇",
                                      "航", "邦", "诚", "瑞", "禾", "晟", "康", "辉", "创", "峰",
                                      "顺", "利", "坤", "恒", "阳", "泽", "茂", "林", "明", "扬"};

void demo_firm_name(demo_rng *r, int industry, int kind, char *name, size_t namesz,
                    char *short_name, size_t shortsz)
{
    char brand[16];
    const char *a = DEMO_PICK(r, brand_a), *b = DEMO_PICK(r, brand_b);
    if (strcmp(a, b) == 0) /* no doubled character */
        b = "通";
    snprintf(brand, sizeof brand, "%s%s", a, b);
    const char *trade = trades[industry].trade[demo_rng_below(r, 4)];
    if (kind == 1) {
        /* an individual business often carries the owner's surname */
        const char *sur = demo_surname(r);
        if (demo_rng_permille(r, 500))
            snprintf(brand, sizeof brand, "老%s家", sur);
        snprintf(name, namesz, "信阳市羊山新区%s%s", brand, trades[industry].shop);
        snprintf(short_name, shortsz, "%s%s", brand, trades[industry].shop);
        return;
    }
    if (kind == 2) {
        snprintf(name, namesz, "信阳市羊山新区%s%s专业合作社", brand, trades[industry].coop);
        snprintf(short_name, shortsz, "%s合作社", brand);
        return;
    }
    static const char *const lead_in[] = {"信阳", "信阳", "信阳", "信阳市", "河南"};
    snprintf(name, namesz, "%s%s%s有限公司", DEMO_PICK(r, lead_in), brand, trade);
    /* short form: brand and the first two characters (6 bytes) of the trade */
    snprintf(short_name, shortsz, "%s%.6s", brand, trade);
}
