/* demo_texts.c - the chat messages of the demo district, from templates.
 *
 * demo_messages.c decides who writes what kind of message when; this file
 * turns that decision into text the way residents and firms write in their
 * WeChat groups: short, colloquial, often without punctuation. Each
 * template has slots ({b} a building, {p} a spot, {t} a time ...) filled
 * from the group's own estate, village or park, so a message reads as if it
 * came from that place, and the case made from it gets a fitting title and
 * location. Problem templates carry their category and 12345 urgency class;
 * a framing prefix or suffix ("@网格员", "麻烦来看看") adds variety. All
 * templates were written for this project. */
#include <stdio.h>
#include <string.h>

#include "demo_int.h"

/* where a template fits: town estates, villages, enterprise parks */
enum { T = 1, V = 2, E = 4, R = T | V, A = T | V | E };
/* when an 'other' template fits */
enum { ANY, MORNING, NIGHT, SUMMER, WINTER, RAINY };
/* categories (domain_categories order) and urgency classes */
enum { CJ, HB, JT, JY, LB, SM, WS, NONE };
enum { U_EMERG, U_UTIL, U_GEN, U_COMPLEX };

typedef struct tpl {
    unsigned char where, cat, urg, weight, when;
    const char *title; /* case title, NULL for messages that are no case */
    const char *text;
} tpl;

static const tpl reports[] = {
    {T, CJ, U_GEN, 8, 0, "路灯不亮", "{e}{p}的路灯{d}不亮了 晚上黑咕隆咚的"},
    {T, CJ, U_GEN, 8, 0, "楼道灯损坏", "{b}{u}楼道灯坏了 {f}往上全是黑的"},
    {R, CJ, U_GEN, 6, 0, "井盖松动", "{p}那个井盖松了 车一压哐哐响 小孩踩上去太危险"},
    {R, CJ, U_GEN, 6, 0, "下水道堵塞", "{p}下水道堵了 污水漫到路上 臭得很"},
    {T, CJ, U_GEN, 6, 0, "电梯故障", "{b}{u}电梯{t}又坏了 停在{f}不动 老人上下楼太难了"},
    {T, CJ, U_GEN, 4, 0, "外墙脱落", "{b}外墙的瓷砖往下掉 {t}差点砸到人"},
    {T, CJ, U_COMPLEX, 3, 0, "楼顶漏水", "{b}顶楼漏水{d}了 找物业一直拖着不修"},
    {R, CJ, U_UTIL, 5, 0, "停水", "{e}{t}开始停水 也没通知 到现在还没来水"},
    {R, CJ, U_UTIL, 4, 0, "停电", "{e}{b}那一片{t}停电了 到现在还没来电"},
    {T, CJ, U_UTIL, 3, 0, "燃气停供", "{e}天然气{t}就没了 饭都做不成"},
    {T, CJ, U_GEN, 4, 0, "路面破损", "{r}靠近{e}那段路坑坑洼洼的 一下雨全是水坑"},
    {V, CJ, U_GEN, 5, 0, "村道破损", "{e}到村部那条水泥路塌了一块 电动车都过不去"},
    {V, CJ, U_GEN, 3, 0, "桥面损坏", "{p}那座小桥栏杆断了{d}了 晚上走很危险"},
    {T, CJ, U_COMPLEX, 3, 0, "违章搭建", "{b}一楼有户在院子里私搭乱建 把消防通道都占了"},
    {R, CJ, U_GEN, 3, 0, "消防通道堵塞", "{p}的消防通道被车堵死了 万一着火消防车都进不来"},
    {T, CJ, U_GEN, 3, 0, "楼道堆物", "{b}{u}楼道里堆满了纸箱子 有安全隐患"},
    {T, CJ, U_GEN, 3, 0, "飞线充电", "{b}有人从楼上拉电线下来给电动车充电 太危险了"},
    {V, CJ, U_COMPLEX, 2, 0, "危房隐患", "{e}有间老房子墙都裂了 还有老人住在里面"},
    {R, HB, U_GEN, 7, 0, "垃圾未清运", "{p}的垃圾桶{d}没人清了 满得溢出来 苍蝇到处飞"},
    {V, HB, U_GEN, 4, 0, "垃圾乱倒", "{p}有人乱倒建筑垃圾 都堆成小山了"},
    {R, HB, U_GEN, 3, 0, "污水直排", "{p}有黑水往河沟里排 臭味熏人"},
    {R, HB, U_GEN, 3, 0, "露天焚烧", "{p}有人烧垃圾 浓烟滚滚 窗户都不敢开"},
    {V, HB, U_GEN, 3, 0, "焚烧秸秆", "{e}地里有人烧秸秆 烟大得路都看不清"},
    {T, HB, U_GEN, 2, 0, "毁绿种菜", "{p}的绿化带被人挖了种菜"},
    {R, HB, U_GEN, 2, SUMMER, "水体污染", "{p}塘里漂了好多死鱼 臭死了"},
    {R, JT, U_GEN, 5, 0, "信号灯故障", "{r}路口的红绿灯{t}就不亮了 车和人抢着过"},
    {R, JT, U_GEN, 4, 0, "车辆乱停", "{p}天天有车乱停 把路堵得只剩一条缝"},
    {R, JT, U_GEN, 3, 0, "公交站牌损坏", "{r}那个公交站的站牌被撞歪了"},
    {T, JT, U_GEN, 3, 0, "僵尸车", "{p}停了辆破车{d}了 落满了灰 占着车位"},
    {R, JT, U_GEN, 3, 0, "路面塌陷", "{r}有个大坑 {t}有骑电动车的摔倒了"},
    {R, JY, U_GEN, 3, 0, "校门口交通安全", "{s}门口放学时车堵成一锅粥 小孩在车缝里穿来穿去"},
    {R, JY, U_GEN, 2, 0, "健身器材损坏", "{p}的健身器材坏了 铁管子都断了 孩子还在上面玩"},
    {R, WS, U_GEN, 3, 0, "鼠患", "{p}老鼠成群 {t}还看见大老鼠往垃圾桶里钻"},
    {R, WS, U_GEN, 2, SUMMER, "蚊虫滋生", "{p}那片积水好久了 蚊子多得要命 孩子腿上全是包"},
    {R, WS, U_GEN, 1, 0, "非法行医", "{p}有个摊子在给老人输液 也不知道有没有资质"},
    {R, SM, U_GEN, 2, 0, "占道经营", "{r}路边摆满了卖菜的摊子 车都过不去"},
    {R, SM, U_GEN, 2, 0, "校门口三无食品", "{s}门口有人卖三无辣条 孩子们都去买"},
    {E, CJ, U_GEN, 4, 0, "园区路灯不亮", "{e}{p}的路灯{d}没亮了 上夜班的工人摸黑走"},
    {E, CJ, U_GEN, 3, 0, "园区道路积水", "{e}{p}一下雨就积水 货车过去溅人一身"},
    {E, CJ, U_GEN, 3, 0, "园区排水堵塞", "{e}{p}的雨水管堵了 水都倒灌进厂房了"},
    {E, JT, U_GEN, 3, 0, "园区路口缺信号灯",
     "{e}门口那个路口没有红绿灯 大货车进出太危险 能不能装一个"},
    {E, HB, U_GEN, 3, 0, "偷排废水", "{e}{p}附近有企业往雨水管里排废水 颜色都不对"},
    {E, JT, U_GEN, 2, 0, "公交站牌损坏", "{e}{p}的公交站牌被撞倒{d}了 也没人管"},
    {E, CJ, U_UTIL, 3, 0, "园区停电", "{e}{t}突然停电 生产线全停了 也没提前通知"},
    {E, CJ, U_UTIL, 2, 0, "园区停水", "{e}{t}停水了 食堂做不了饭 啥时候能来水"},
};

static const tpl complaints[] = {
    {R, HB, U_GEN, 6, 0, "广场舞噪声", "{p}广场舞音响开得震天响 晚上十点了还不停"},
    {T, HB, U_GEN, 5, 0, "装修噪声", "{b}有户装修 早上七点就开始砸墙 周末也不歇"},
    {R, HB, U_GEN, 5, 0, "餐饮油烟", "{r}那家烧烤店的油烟直往楼上窜 窗户上全是油"},
    {R, HB, U_GEN, 3, 0, "夜间施工", "{r}那个工地半夜十二点还在打桩 吵得根本睡不着"},
    {T, CJ, U_GEN, 4, 0, "物业不作为", "物业费一分不少收 啥事都不管 {b}电梯坏了{d}都没修"},
    {T, CJ, U_COMPLEX, 3, 0, "物业乱收费", "物业又要涨停车费 也没开业主大会 凭什么说涨就涨"},
    {R, WS, U_GEN, 3, 0, "犬只扰民", "{b}那家的大狗遛的时候不牵绳 {t}扑到小孩身上了"},
    {T, CJ, U_GEN, 3, 0, "高空抛物", "{b}有人从楼上往下扔垃圾 {t}差点砸到人"},
    {R, SM, U_GEN, 3, 0, "短斤少两", "{p}那个卖菜的秤有问题 买二斤回家一称一斤六两"},
    {R, SM, U_GEN, 2, 0, "预付卡退费", "{r}那家健身房收了年卡就关门了 老板电话也打不通"},
    {R, LB, U_COMPLEX, 4, 0, "拖欠农民工工资", "在{r}那个工地干了三个月 包工头到现在一分钱没给"},
    {R, JT, U_GEN, 3, 0, "出租车拒载", "在{r}打车 司机嫌近不拉 还骂人"},
    {R, JY, U_GEN, 2, 0, "培训机构乱收费", "{s}旁边那个培训班 一学期收好几千 还不给开票"},
    {R, WS, U_GEN, 2, 0, "食品卫生", "{p}那家卤菜店的东西吃了拉肚子 后厨脏得很"},
    {V, CJ, U_COMPLEX, 2, 0, "占用耕地建房", "{e}有人在基本农田上盖房子 也没人管"},
    {R, LB, U_GEN, 2, 0, "养老金未到账", "我爸的养老金{d}没到账了 去问了几次都说等通知"},
    {E, LB, U_COMPLEX, 3, 0, "拖欠工资", "{k}拖欠工人工资两个月了 工人天天堵在厂门口"},
    {E, HB, U_GEN, 3, 0, "企业噪声", "{k}晚上开机器 噪音太大 旁边厂的宿舍没法睡"},
    {E, HB, U_GEN, 3, 0, "废气异味", "{e}{p}有家厂子夜里排气 一股刺鼻的味"},
    {E, SM, U_COMPLEX, 2, 0, "拖欠货款", "{k}欠我们的货款半年了 一直推 能不能帮忙协调一下"},
    {E, JT, U_GEN, 2, 0, "货车乱停", "{e}门口大货车乱停 把我们厂门都堵了"},
};

static const tpl helps[] = {
    {R, NONE, U_GEN, 6, 0, "独居老人无人应门",
     "{b}{u}{h}的老人一个人住 {d}没见出门了 谁能去敲个门"},
    {R, NONE, U_GEN, 4, 0, "老人走失", "我家老人早上出门到现在没回来 穿灰色外套 大家帮忙留意一下"},
    {R, WS, U_GEN, 4, 0, "行动不便就医", "家里老人{t}发烧了 腿脚不方便 能不能帮忙联系社区医生上门"},
    {R, WS, U_GEN, 3, 0, "代买药品", "我一个人在家 腰扭了下不了楼 谁能帮忙带盒膏药 钱我转你"},
    {R, LB, U_GEN, 4, 0, "养老资格认证", "手机上的养老金资格认证我弄不来 谁能教教我"},
    {R, LB, U_GEN, 3, 0, "求职帮助", "家里孩子毕业了还没找到工作 社区有没有招聘的信息"},
    {R, LB, U_GEN, 3, 0, "残疾评定", "我家老人腿不行了 想办残疾证 能不能帮忙联系上门评定"},
    {R, NONE, U_GEN, 4, 0, "开锁求助", "钥匙锁屋里了 谁有靠谱的开锁电话"},
    {T, CJ, U_GEN, 4, 0, "楼上渗水", "楼上往我家滴水 敲门没人 {b}{u}{h} 谁认识这家人"},
    {R, CJ, U_UTIL, 3, 0, "水管爆裂", "家里水管爆了 总阀在哪关啊 快帮帮忙"},
    {R, JY, U_GEN, 2, 0, "入学咨询求助", "孩子户口刚迁过来 不知道能不能上{s} 能帮忙问问吗"},
    {R, NONE, U_GEN, 3, 0, "宠物走失", "我家小白狗走丢了 脖子上系着红绳 看到的麻烦说一声"},
    {V, NONE, U_GEN, 3, 0, "农忙缺人手", "{e}这片的稻子该收了 家里没劳力 能不能帮忙找台收割机"},
    {R, WS, U_GEN, 2, 0, "疫苗预约", "孩子该打疫苗了 社区卫生服务中心要预约吗 我不会弄"},
    {E, LB, U_GEN, 5, 0, "企业招工", "我们厂急招普工{n}十人 能不能帮忙在群里推一推"},
    {E, LB, U_GEN, 3, 0, "员工社保办理", "新来的员工社保不会在网上办 谁能指导一下"},
    {E, SM, U_COMPLEX, 3, 0, "融资对接", "订单多了资金周转不过来 有没有贴息贷款能帮忙对接"},
    {E, CJ, U_COMPLEX, 2, 0, "验收手续协调", "厂房验收的手续卡住了 不知道找哪个部门 能帮忙协调吗"},
};

static const tpl emergencies[] = {
    {R, CJ, U_EMERG, 5, 0, "燃气泄漏", "{b}{u}一股很冲的煤气味 好像哪家漏气了 敲门没人应"},
    {T, CJ, U_EMERG, 4, 0, "楼内起火", "{b}{f}冒黑烟了 好像着火了 已经打119了 大家赶紧下楼"},
    {V, CJ, U_EMERG, 3, 0, "民房起火", "{e}有户人家的柴房着火了 火很大 快来人"},
    {T, CJ, U_EMERG, 4, 0, "电梯困人", "{b}{u}电梯困人了 里面有老人和小孩 物业电话打不通"},
    {R, WS, U_EMERG, 4, 0, "老人晕倒", "{p}有个老人突然倒地不起 已经打120了 谁会急救快来"},
    {R, JT, U_EMERG, 3, 0, "交通事故", "{r}路口两车撞了 有人受伤躺在地上 快叫救护车"},
    {R, NONE, U_EMERG, 2, SUMMER, "儿童落水", "{p}塘里有个小孩掉下去了 快来人"},
    {R, CJ, U_EMERG, 2, RAINY, "暴雨积水进屋", "{e}雨太大了 水已经淹到家门口 老人出不来"},
    {R, HB, U_EMERG, 1, 0, "危化品泄漏", "{r}有辆罐车翻了 往外冒刺鼻的气体"},
    {R, CJ, U_EMERG, 2, 0, "广告牌坠落风险", "{p}的广告牌被风刮得摇摇晃晃 底下还有人走"},
    {R, NONE, U_EMERG, 2, 0, "打架斗殴", "{p}有人打架 手里还拿着棍子 快来人"},
    {E, CJ, U_EMERG, 3, 0, "车间火情", "{k}车间起火了 已经打119 火往隔壁仓库蔓延"},
    {E, WS, U_EMERG, 2, 0, "工伤急救", "{k}有工人被机器夹伤了 流了很多血 120在路上 谁离得近"},
    {E, HB, U_EMERG, 2, 0, "化学品泄漏", "{e}{p}有桶化学品漏了 味道很大 工人都头晕"},
};

static const tpl consults[] = {
    {T, CJ, 0, 4, 0, NULL, "老旧小区改造{e}排上了没有 什么时候开工"},
    {T, CJ, 0, 3, 0, NULL, "公租房怎么申请 要什么材料"},
    {T, CJ, 0, 3, 0, NULL, "交房好几年了房产证还没下来 该找哪个部门"},
    {T, CJ, 0, 3, 0, NULL, "老楼加装电梯政府补贴多少"},
    {T, CJ, 0, 2, 0, NULL, "维修基金怎么申请使用 楼顶要修"},
    {V, CJ, 0, 4, 0, NULL, "农村自建房要办什么手续 找乡里还是区里"},
    {R, HB, 0, 3, 0, NULL, "垃圾分类到底怎么分 剩饭剩菜放哪个桶"},
    {T, HB, 0, 2, 0, NULL, "家里装修的建筑垃圾能扔到哪"},
    {V, HB, 0, 2, 0, NULL, "秸秆禁烧要禁到什么时候 不烧咋处理"},
    {R, JT, 0, 3, 0, NULL, "{r}那边的公交线路什么时候开通"},
    {R, JT, 0, 3, 0, NULL, "电动车上牌在哪里办 要带啥证件"},
    {R, JT, 0, 2, 0, NULL, "驾照到期换证能在手机上办吗"},
    {R, JY, 0, 4, 0, NULL, "今年{s}的划片范围出来没有"},
    {R, JY, 0, 3, 0, NULL, "小学一年级报名要准备哪些材料"},
    {R, JY, 0, 2, SUMMER, NULL, "社区的暑期托管班怎么报名 收不收钱"},
    {R, JY, 0, 1, 0, NULL, "{c}的图书室周末开门吗"},
    {R, LB, 0, 5, 0, NULL, "城乡居民医保今年交多少钱 在哪交"},
    {R, LB, 0, 3, 0, NULL, "灵活就业的社保怎么交 一个月多少"},
    {R, LB, 0, 3, 0, NULL, "失业了能领失业金吗 要什么条件"},
    {R, LB, 0, 3, 0, NULL, "低保怎么申请 家里什么条件才够"},
    {R, LB, 0, 3, 0, NULL, "高龄补贴满多少岁能领 要去哪认证"},
    {R, LB, 0, 2, 0, NULL, "残疾人两项补贴怎么申请"},
    {R, SM, 0, 2, 0, NULL, "开个小吃店要办哪些证"},
    {R, SM, 0, 2, 0, NULL, "政府发的消费券在哪领"},
    {R, WS, 0, 3, 0, NULL, "六十五岁以上老人免费体检什么时候开始"},
    {R, WS, 0, 3, 0, NULL, "家庭医生签约怎么签 要花钱吗"},
    {R, WS, 0, 2, 0, NULL, "生三孩有没有育儿补贴"},
    {R, WS, 0, 2, 0, NULL, "被狗抓了一下 狂犬疫苗在哪能打"},
    {E, LB, 0, 4, 0, NULL, "稳岗补贴今年还有吗 怎么申请"},
    {E, LB, 0, 3, 0, NULL, "招用高校毕业生企业有补贴吗"},
    {E, LB, 0, 2, 0, NULL, "工伤保险怎么给员工参保"},
    {E, SM, 0, 3, 0, NULL, "高新技术企业认定什么时候申报"},
    {E, SM, 0, 2, 0, NULL, "出口退税的事找哪个部门问"},
    {E, SM, 0, 3, 0, NULL, "小微企业贷款贴息政策今年还有没有"},
    {E, HB, 0, 2, 0, NULL, "环评手续怎么办 大概要多久"},
    {E, HB, 0, 2, 0, NULL, "排污许可证快到期了 怎么延续"},
    {E, CJ, 0, 2, 0, NULL, "厂房的消防验收找哪个部门"},
    {E, JT, 0, 1, 0, NULL, "大件运输的超限证在哪办"},
};

static const tpl others[] = {
    {A, NONE, 0, 30, 0, NULL, "收到"},
    {A, NONE, 0, 12, 0, NULL, "收到 谢谢"},
    {A, NONE, 0, 12, 0, NULL, "好的"},
    {A, NONE, 0, 6, 0, NULL, "好的好的"},
    {A, NONE, 0, 8, 0, NULL, "收到[强]"},
    {A, NONE, 0, 6, 0, NULL, "👍"},
    {A, NONE, 0, 4, 0, NULL, "[强][强][强]"},
    {A, NONE, 0, 4, 0, NULL, "明白"},
    {R, NONE, 0, 6, 0, NULL, "谢谢{g}"},
    {R, NONE, 0, 5, 0, NULL, "辛苦{g}了"},
    {A, NONE, 0, 3, 0, NULL, "已阅"},
    {A, NONE, 0, 3, 0, NULL, "知道了"},
    {A, NONE, 0, 2, 0, NULL, "+1"},
    {A, NONE, 0, 3, 0, NULL, "[抱拳][抱拳]"},
    {A, NONE, 0, 3, 0, NULL, "谢谢提醒"},
    {R, NONE, 0, 3, 0, NULL, "好的 已经转给家里老人了"},
    {R, NONE, 0, 4, 0, NULL, "谢谢{g} {x}已经修好了"},
    {R, NONE, 0, 3, 0, NULL, "点赞 昨天说的{x}今天就弄好了 效率真高"},
    {R, NONE, 0, 2, 0, NULL, "前两天反映的{x}今天来人处理了 谢谢社区"},
    {A, NONE, 0, 5, MORNING, NULL, "早上好"},
    {A, NONE, 0, 3, MORNING, NULL, "大家早"},
    {R, NONE, 0, 2, MORNING, NULL, "早安 新的一天加油[太阳]"},
    {R, NONE, 0, 3, NIGHT, NULL, "晚安"},
    {R, NONE, 0, 2, NIGHT, NULL, "大家早点休息"},
    {T, NONE, 0, 4, 0, NULL, "谁家的快递放错了 在{b}门口"},
    {R, NONE, 0, 3, 0, NULL, "今天菜市场的青菜好便宜"},
    {R, NONE, 0, 3, 0, NULL, "{p}新开了家面馆 味道还行"},
    {R, NONE, 0, 3, WINTER, NULL, "降温了 大家多穿点"},
    {R, NONE, 0, 3, RAINY, NULL, "下雨了 谁家被子还晒在外面"},
    {R, NONE, 0, 3, 0, NULL, "有没有拼车去火车站的 {m}早上走"},
    {R, NONE, 0, 3, 0, NULL, "捡到一串钥匙 放在{p}了 谁的去拿"},
    {T, NONE, 0, 2, 0, NULL, "谁家有多的纸箱子 搬家要用"},
    {R, NONE, 0, 2, 0, NULL, "有没有人知道附近哪里能修手机"},
    {R, NONE, 0, 2, 0, NULL, "孩子的校服谁家有穿不了的 160码"},
    {R, NONE, 0, 3, SUMMER, NULL, "今天太热了 空调开了一整天"},
    {T, NONE, 0, 2, 0, NULL, "晚上一起去{p}散步啊"},
    {R, NONE, 0, 2, 0, NULL, "群里有没有会修电脑的"},
    {R, NONE, 0, 2, 0, NULL, "{s}今天开家长会 别忘了"},
    {T, NONE, 0, 2, 0, NULL, "谁家孩子的滑板车落在{p}了"},
    {R, NONE, 0, 2, 0, NULL, "今天的晚霞真好看"},
    {R, NONE, 0, 2, 0, NULL, "周末有人去南湾湖钓鱼吗"},
    {R, NONE, 0, 2, 0, NULL, "这天说变就变 出门记得带伞"},
    {V, NONE, 0, 3, 0, NULL, "今年的稻子收成不错"},
    {V, NONE, 0, 2, 0, NULL, "谁家的鸡跑到我菜地里了 把菜都刨了[捂脸]"},
    {V, NONE, 0, 2, 0, NULL, "村口那棵老树今年结的果子真多"},
    {R, NONE, 0, 4, 0, NULL, "自家种的{v} 新鲜 需要的私聊"},
    {R, NONE, 0, 2, 0, NULL, "家政保洁 擦玻璃 清洗空调 有需要的联系我"},
    {R, NONE, 0, 2, 0, NULL, "专业疏通下水道 开锁换锁 随叫随到"},
    {T, NONE, 0, 2, 0, NULL, "房屋出租 {b}两室一厅 拎包入住"},
    {R, NONE, 0, 2, 0, NULL, "老家带来的{v} 量不多 要的抓紧"},
    {R, NONE, 0, 1, SUMMER, NULL, "暑假托管班招生 接送孩子 管午饭"},
    {R, NONE, 0, 1, 0, NULL, "二手电动车便宜出 八成新"},
    {E, NONE, 0, 4, 0, NULL, "收到 我们准时参加"},
    {E, NONE, 0, 2, 0, NULL, "{k}招电工两名 有推荐的联系我"},
    {E, NONE, 0, 2, 0, NULL, "厂房出租 {n}千平 层高八米 有意私聊"},
    {E, NONE, 0, 2, 0, NULL, "代理记账 工商注册 有需要的找我"},
    {E, NONE, 0, 2, 0, NULL, "恭喜{k}拿下大订单[强]"},
    {E, NONE, 0, 2, 0, NULL, "有没有做包装箱的厂家 求推荐"},
    {E, NONE, 0, 1, 0, NULL, "谁家有叉车 借用半天"},
    {E, NONE, 0, 1, 0, NULL, "园区食堂今天的红烧肉不错"},
};

/* What staff post: notices and replies (all 'other'). */
static const tpl staff_posts[] = {
    {T, NONE, 0, 4, 0, NULL, "【通知】{m}{o}{b}停水检修 请大家提前储水"},
    {R, NONE, 0, 4, 0, NULL,
     "【温馨提示】近期冒充客服的电信诈骗多发 陌生链接不要点 陌生人要钱先核实"},
    {R, NONE, 0, 3, 0, NULL, "【通知】{m}{o}在{c}党群服务中心开展义诊 免费量血压测血糖"},
    {T, NONE, 0, 3, 0, NULL, "【提醒】楼道里不能给电动车充电 也不能停放 请大家配合"},
    {R, NONE, 0, 2, 0, NULL, "【招聘】{k}招普工 月薪四五千 包吃住 有意的私聊我"},
    {R, NONE, 0, 3, WINTER, NULL, "【通知】城乡居民医保开始缴费了 可以在微信上交 不会的找网格员"},
    {R, NONE, 0, 3, RAINY, NULL, "【防汛提醒】未来两天有强降雨 低洼地带的住户注意防范"},
    {R, NONE, 0, 2, 0, NULL, "【通知】{m}{o}在{c}开展反诈宣传 欢迎大家参加"},
    {R, NONE, 0, 2, 0, NULL, "【通知】高龄补贴认证开始了 请符合条件的家属带身份证到社区办理"},
    {T, NONE, 0, 2, 0, NULL, "【提醒】请大家不要高空抛物 注意安全"},
    {T, NONE, 0, 2, 0, NULL, "【通知】{m}{o}小区消防演练 听到警报不要惊慌"},
    {R, NONE, 0, 2, WINTER, NULL, "【通知】春节期间城区禁止燃放烟花爆竹 请大家遵守"},
    {V, NONE, 0, 3, 0, NULL, "【通知】{m}{o}村部发放惠农补贴明白卡 请各户派人来领"},
    {R, NONE, 0, 4, 0, NULL, "收到 马上安排人去看"},
    {R, NONE, 0, 3, 0, NULL, "已经联系物业了 今天下午来修"},
    {R, NONE, 0, 3, 0, NULL, "已上报 请耐心等待"},
    {R, NONE, 0, 2, 0, NULL, "大家有问题随时在群里说"},
    {E, NONE, 0, 3, 0, NULL, "【通知】{m}{o}在{e}管委会召开安全生产会议 请各企业负责人参加"},
    {E, NONE, 0, 2, SUMMER, NULL, "【提醒】近期用电高峰 请各企业错峰生产"},
    {E, NONE, 0, 2, 0, NULL, "【通知】{m}开展消防安全检查 请各企业做好自查"},
    {E, NONE, 0, 2, 0, NULL, "【政策】今年的稳岗返还开始申报了 符合条件的企业抓紧报"},
    {E, NONE, 0, 2, 0, NULL, "收到 已经转给相关部门了"},
};

/* Festival greetings, on and around the day (month, first day, last day). */
static const struct {
    int month, from, to;
    const char *text[3];
} festivals[] = {
    {12, 31, 31, {"明天就元旦了 提前祝大家新年快乐", "新年快乐[烟花]", "2026加油"}},
    {1, 1, 1, {"元旦快乐 新年新气象", "新年快乐[烟花]", "祝大家元旦快乐 身体健康"}},
    {2, 16, 22, {"给大家拜年了 新年快乐 身体健康[红包]", "过年好 马年大吉", "新春快乐 阖家幸福"}},
    {3, 3, 3, {"元宵节快乐", "元宵快乐 记得吃汤圆", "祝大家元宵节快乐"}},
    {6, 19, 19, {"端午安康", "端午节快乐 吃粽子了没", "祝大家端午安康"}},
    {9, 25, 25, {"中秋快乐 月圆人团圆", "中秋节快乐[月亮]", "祝大家中秋快乐"}},
    {10, 1, 3, {"国庆快乐", "祝祖国繁荣昌盛 国庆快乐", "国庆假期出游注意安全"}},
};

/* ---- slot fillers ------------------------------------------------------ */
static const char *const town_spots[] = {"小区东门",   "小区北门口", "地下车库",   "垃圾站旁边",
                                         "中心花园",   "篮球场边上", "物业楼后面", "幼儿园门口",
                                         "菜市场门口", "小区南门外"};
static const char *const village_spots[] = {"村口", "村部门口", "大塘边",   "村小学门口",
                                            "桥头", "大路边",   "文化广场", "老槐树下面"};
static const char *const park_spots[] = {"大门口",         "二号路口", "污水泵站旁边", "公交站",
                                         "标准化厂房后面", "食堂门口", "东区停车场"};
static const char *const town_schools[] = {"羊山外国语小学",   "新区第三小学",   "羊山实验学校",
                                           "新区第二初级中学", "羊山外国语中学", "新区实验幼儿园"};
static const char *const village_schools[] = {"村小学", "乡中心小学", "乡中心幼儿园", "乡初级中学"};
static const char *const village_roads[] = {"进村那条路", "乡道", "村村通公路", "乡政府门口"};
static const char *const whens[] = {"昨天晚上", "今天早上", "刚才", "前天",
                                    "上午",     "这两天",   "中午", "前天晚上"};
static const char *const durations[] = {"好几天", "三四天", "一个多星期", "半个月", "快十天"};
static const char *const days[] = {"明天", "后天", "本周六", "下周一", "这周五", "周日"};
static const char *const clocks[] = {"上午9点", "上午8点半", "下午3点", "下午2点半", "晚上7点"};
static const char *const goods[] = {"土鸡蛋", "新米", "信阳毛尖", "红薯粉条", "腊肉",
                                    "板栗",   "草莓", "菜籽油",   "咸鸭蛋",   "香椿"};
static const char *const fixed_town[] = {"路灯", "电梯", "下水道", "垃圾桶", "井盖", "楼道灯"};
static const char *const fixed_village[] = {"路灯", "下水道", "垃圾桶", "村道", "自来水管"};

/* The sending context: which group, and the place slots drawn for it. */
typedef struct ctx {
    const demo_world *w;
    const demo_group *g;
    int where;
    char area[32];     /* {e} as drawn in a village, kept for the location */
    char building[32]; /* {b} as drawn, kept for the location */
    const char *spot, *road;
} ctx;

static const char *firm_name(demo_rng *r, const ctx *c)
{
    const demo_world *w = c->w;
    const demo_park *pk = c->g->park >= 0 ? &w->parks[c->g->park] : NULL;
    if (!pk || pk->n_firms == 0)
        return w->n_firms ? w->firms[demo_rng_below(r, (uint32_t)w->n_firms)].short_name
                          : "园区企业";
    return w->firms[pk->first_firm + (int)demo_rng_below(r, (uint32_t)pk->n_firms)].short_name;
}

/* Appends the filler of slot k to out (at *len, capacity cap). */
static void fill(demo_rng *r, ctx *c, char k, char *out, size_t *len, size_t cap)
{
    const demo_grid *gr = c->g->grid >= 0 ? &c->w->grids[c->g->grid] : NULL;
    char buf[64];
    const char *v = buf;
    buf[0] = '\0';
    switch (k) {
    case 'e': /* the estate, the village group or the park */
        if (c->where == E)
            v = c->w->parks[c->g->park].name;
        else if (c->where == V) {
            snprintf(c->area, sizeof c->area, "%s组",
                     gr->place[demo_rng_below(r, (uint32_t)gr->n_places)]);
            v = c->area;
        } else
            v = gr->place[0];
        break;
    case 'c':
        v = c->where == E ? c->w->parks[c->g->park].name : c->w->comms[gr->comm].name;
        break;
    case 'b':
        if (c->where == T)
            snprintf(c->building, sizeof c->building, "%d号楼",
                     gr->first_building + (int)demo_rng_below(r, (uint32_t)gr->n_buildings));
        else if (c->where == V)
            snprintf(c->building, sizeof c->building, "%s组%d号",
                     gr->place[demo_rng_below(r, (uint32_t)gr->n_places)],
                     demo_rng_range(r, 1, 90));
        else
            snprintf(c->building, sizeof c->building, "%d号厂房", demo_rng_range(r, 1, 24));
        v = c->building;
        break;
    case 'u':
        if (c->where == T)
            snprintf(buf, sizeof buf, "%d单元", demo_rng_range(r, 1, gr->stair_units));
        break;
    case 'h':
        if (c->where == T)
            snprintf(buf, sizeof buf, "%d%02d", demo_rng_range(r, 1, gr->floors),
                     demo_rng_range(r, 1, 2));
        break;
    case 'f':
        snprintf(buf, sizeof buf, "%d楼",
                 gr && gr->floors > 1 ? demo_rng_range(r, 2, gr->floors) : 2);
        break;
    case 'p':
        c->spot = c->where == E   ? DEMO_PICK(r, park_spots)
                  : c->where == V ? DEMO_PICK(r, village_spots)
                                  : DEMO_PICK(r, town_spots);
        v = c->spot;
        break;
    case 'r':
        c->road = c->where == T   ? gr->road
                  : c->where == V ? DEMO_PICK(r, village_roads)
                                  : demo_road(r);
        v = c->road;
        break;
    case 's':
        c->spot = c->where == V ? DEMO_PICK(r, village_schools) : DEMO_PICK(r, town_schools);
        v = c->spot;
        break;
    case 'g':
        if (c->where == E)
            v = "园区专员";
        else if (demo_rng_permille(r, 500))
            v = "网格员";
        else
            snprintf(buf, sizeof buf, "小%.3s", gr->worker); /* the surname (one character) */
        break;
    case 't':
        v = DEMO_PICK(r, whens);
        break;
    case 'd':
        v = DEMO_PICK(r, durations);
        break;
    case 'm':
        v = DEMO_PICK(r, days);
        break;
    case 'o':
        v = DEMO_PICK(r, clocks);
        break;
    case 'v':
        v = DEMO_PICK(r, goods);
        break;
    case 'x':
        v = c->where == V ? DEMO_PICK(r, fixed_village) : DEMO_PICK(r, fixed_town);
        break;
    case 'k':
        v = firm_name(r, c);
        break;
    case 'n':
        snprintf(buf, sizeof buf, "%d", demo_rng_range(r, 2, 9));
        break;
    default:
        break;
    }
    size_t n = strlen(v);
    if (*len + n < cap) {
        memcpy(out + *len, v, n + 1);
        *len += n;
    }
}

/* Renders template text into out, filling the slots. */
static size_t render(demo_rng *r, ctx *c, const char *text, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (const char *p = text; *p; p++) {
        if (p[0] == '{' && p[1] && p[2] == '}') {
            fill(r, c, p[1], out, &len, cap);
            p += 2;
        } else if (len + 1 < cap) {
            out[len++] = *p;
            out[len] = '\0';
        }
    }
    return len;
}

static int fits_when(int when, const demo_text_req *q)
{
    switch (when) {
    case MORNING:
        return q->hour >= 5 && q->hour <= 9;
    case NIGHT:
        return q->hour >= 21 || q->hour <= 1;
    case SUMMER:
        return q->month >= 6 && q->month <= 8;
    case WINTER:
        return q->month == 12 || q->month <= 2;
    case RAINY:
        return q->month >= 4 && q->month <= 9;
    default:
        return 1;
    }
}

/* A template of the table fitting the place and the time, by weight. */
static const tpl *pick(demo_rng *r, const tpl *t, int n, int where, const demo_text_req *q)
{
    int total = 0;
    for (int i = 0; i < n; i++)
        if ((t[i].where & where) && fits_when(t[i].when, q))
            total += t[i].weight;
    int x = (int)demo_rng_below(r, (uint32_t)(total > 0 ? total : 1));
    for (int i = 0; i < n; i++) {
        if (!(t[i].where & where) || !fits_when(t[i].when, q))
            continue;
        if (x < t[i].weight)
            return &t[i];
        x -= t[i].weight;
    }
    return &t[0];
}

#define PICK_FROM(r, table, where, q)                                                              \
    pick((r), (table), (int)(sizeof(table) / sizeof(table)[0]), (where), (q))

/* Framing of problem messages: how people open and close them. */
static const char *const pre_report[] = {"",      "",         "",          "反映个问题 ",
                                         "@{g} ", "{g}在吗 ", "各位邻居 ", "说个事 "};
static const char *const post_report[] = {"",
                                          "",
                                          " 麻烦来看看",
                                          " 谁来管管",
                                          " 有没有人管啊",
                                          " 赶紧修修吧",
                                          "[捂脸]",
                                          " 照片发群里了",
                                          " 希望尽快处理",
                                          "🙏"};
static const char *const pre_complaint[] = {"",          "",        "投诉 ",
                                            "我要投诉 ", "说真的 ", "实在忍不了了 "};
static const char *const post_complaint[] = {
    "", " 说了多少次了", " 到底有没有人管", " 希望社区出面管一管", "[发怒]", " 太不像话了"};
static const char *const pre_help[] = {"", "", "求助 ", "求助各位 ", "@{g} ", "麻烦大家 "};
static const char *const post_help[] = {"", " 谢谢大家了", " 先谢谢了🙏", " 急", " 在线等"};
static const char *const pre_emerg[] = {"", "快来人 ", "紧急 ", "@所有人 ", "{g}快来 "};
static const char *const post_emerg[] = {"", "！！", " 快", " 谁在附近快去看看"};
static const char *const pre_consult[] = {"",      "请问",    "问一下 ",  "请问一下 ",
                                          "@{g} ", "谁知道 ", "打听一下 "};
static const char *const post_consult[] = {"", "？", "？谢谢", "？？", "[疑问]"};
static const char *const post_other[] = {"哈", "啦", "～", "🙏", "[玫瑰]", "[呲牙]", "！", "哈哈"};

/* The place a case is about, from the slots the text used. */
static void locate(const ctx *c, char *out, size_t cap)
{
    const demo_world *w = c->w;
    if (c->where == E) {
        snprintf(out, cap, "%s%s", w->parks[c->g->park].name, c->spot ? c->spot : "");
        return;
    }
    const demo_grid *gr = &w->grids[c->g->grid];
    const char *comm = w->comms[gr->comm].name;
    const char *area = c->where == T ? gr->place[0] : c->area;
    if (c->building[0])
        snprintf(out, cap, "%s%s%s", comm, c->where == T ? area : "", c->building);
    else if (c->spot)
        snprintf(out, cap, "%s%s%s", comm, area, c->spot);
    else if (c->road)
        snprintf(out, cap, "%s%s", comm, c->road);
    else
        snprintf(out, cap, "%s%s", comm, area);
}

void demo_text_make(demo_rng *r, const demo_text_req *q, demo_text *out)
{
    ctx c = {q->w, q->g, 0, {0}, {0}, NULL, NULL};
    c.where = q->g->enterprise ? E : q->w->comms[q->w->grids[q->g->grid].comm].village ? V : T;
    const tpl *t;
    const char *pre = "", *post = "";
    out->title[0] = out->location[0] = '\0';
    out->urgency = U_GEN;
    switch (q->intent) {
    case 0: /* consult */
        t = PICK_FROM(r, consults, c.where, q);
        pre = DEMO_PICK(r, pre_consult), post = DEMO_PICK(r, post_consult);
        break;
    case 1:
        t = PICK_FROM(r, helps, c.where, q);
        pre = DEMO_PICK(r, pre_help), post = DEMO_PICK(r, post_help);
        break;
    case 2:
        t = PICK_FROM(r, reports, c.where, q);
        pre = DEMO_PICK(r, pre_report), post = DEMO_PICK(r, post_report);
        break;
    case 3:
        t = PICK_FROM(r, emergencies, c.where, q);
        pre = DEMO_PICK(r, pre_emerg), post = DEMO_PICK(r, post_emerg);
        break;
    case 4:
        t = PICK_FROM(r, complaints, c.where, q);
        pre = DEMO_PICK(r, pre_complaint), post = DEMO_PICK(r, post_complaint);
        break;
    default:
        t = q->from_staff ? PICK_FROM(r, staff_posts, c.where, q)
                          : PICK_FROM(r, others, c.where, q);
        break;
    }
    size_t len = render(r, &c, pre, out->text, sizeof out->text);
    if (q->intent == 5 && !q->from_staff && demo_rng_permille(r, 200)) {
        for (size_t i = 0; i < sizeof festivals / sizeof festivals[0]; i++)
            if (festivals[i].month == q->month && q->mday >= festivals[i].from &&
                q->mday <= festivals[i].to) {
                snprintf(out->text, sizeof out->text, "%s", DEMO_PICK(r, festivals[i].text));
                out->category = NONE;
                return;
            }
    }
    if (q->intent == 5 && !q->from_staff && demo_rng_permille(r, 250))
        post = DEMO_PICK(r, post_other); /* people sign off in their own way */
    len += render(r, &c, t->text, out->text + len, sizeof out->text - len);
    render(r, &c, post, out->text + len, sizeof out->text - len);
    out->category = t->cat;
    if (t->title) {
        snprintf(out->title, sizeof out->title, "%s", t->title);
        out->urgency = t->urg;
        locate(&c, out->location, sizeof out->location);
    }
}
