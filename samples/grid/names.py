"""Name tables of the synthetic city: people, communities, villages, roads, events.

Invented combinations of common characters; any likeness to a real person or place is
chance. Surname weights follow the rough national frequency order (王李张刘陈 first).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严武戴孔汤"
)
"""Single-character surnames, most frequent first."""

MALE_GIVEN_OLD: Final = "建国军民华平强明伟勇杰峰忠福海波林东刚兵庆成志学文斌利德贵生永"
MALE_GIVEN_YOUNG: Final = "浩宇轩子涵然俊博睿哲皓瑞鹏辰泽宸铭航翔凯煜晨昊天逸嘉奕轩诚毅"
FEMALE_GIVEN_OLD: Final = "秀英兰芳玉珍桂华梅凤霞红丽萍敏琴云娟翠莲淑荣洁静燕芬春爱美"
FEMALE_GIVEN_YOUNG: Final = "欣怡雨萱梓涵诗琪佳悦可馨语彤思颖紫晴若雪婷妍一诺晓梦瑶菲璐安"

COMMUNITY_WORDS: Final = (
    "朝阳", "幸福", "解放", "建设", "人民", "民主", "和平", "新华", "盐河", "通灌", "陇海", "巨龙",
    "苍梧", "凤凰", "锦华", "秀逸", "瀛洲", "东盐", "西盐", "南城", "北城", "郁洲", "海连", "花园",
    "龙尾", "玉带", "蔷薇", "学院", "孔望", "鼓楼", "白虎", "双龙", "沿河", "利民", "团结", "友谊",
    "向阳", "光明", "育才", "振兴", "文化", "新村", "港城", "云台", "秦东", "墟沟", "平山", "海滨",
    "南极", "北固", "东港", "西苑", "金海", "银河", "春晖", "晨光", "丽景", "翠苑", "康乐", "安居",
    "恒泰", "福海", "盛世", "东方", "滨湖", "凌州", "新浦", "朐山", "镇海", "望海", "观澜", "临洪",
)  # fmt: skip
"""Words for 社区 names (居委会)."""

VILLAGE_SUFFIXES: Final = "庄圩集湾河岭沟埠口墩桥店营湖坝岗寨楼洼塘"
"""Endings of village names: 张庄, 王圩, 李集..."""

ROAD_WORDS: Final = (
    "海连", "通灌", "解放", "人民", "建设", "新浦", "朝阳", "巨龙", "苍梧", "郁洲", "陇海", "盐河",
    "幸福", "花果山", "云台", "中山", "墟沟", "港城", "凤凰", "瀛洲", "利民", "凌州", "孔望山",
    "玉带河", "猴嘴", "宋跳", "秦山", "东方", "临洪", "锦屏", "板浦", "南城", "北固山", "海宁",
)  # fmt: skip
ROAD_KINDS: Final = ("路", "路", "路", "街", "大道", "巷")

EVENT_TYPES: Final = (
    ("市容环境", "占道经营", "商户在人行道上摆放货架，影响行人通行"),
    ("市容环境", "乱堆物料", "路边堆放建筑垃圾和杂物，未及时清运"),
    ("市容环境", "暴露垃圾", "垃圾桶满溢，周边有散落垃圾"),
    ("公用设施", "井盖缺失", "窨井盖缺失，存在安全隐患，已临时设置警示"),
    ("公用设施", "路灯损坏", "路灯夜间不亮，居民反映出行不便"),
    ("道路交通", "路面破损", "路面出现坑槽，雨后积水"),
    ("道路交通", "乱停乱放", "机动车占用消防通道停放"),
    ("园林绿化", "绿地脏乱", "绿化带内有生活垃圾，部分苗木枯死"),
    ("房屋土地", "违章搭建", "楼顶新搭建彩钢板房，疑似违建"),
    ("社会治理", "邻里纠纷", "楼上楼下因漏水产生纠纷，需社区调解"),
    ("安全隐患", "电动车违规充电", "楼道内私拉电线为电动车充电"),
    ("安全隐患", "消防通道堵塞", "小区消防通道被杂物堵塞"),
)
"""(major class, minor class, description) of events a grid worker reports."""

Strings = NDArray[np.str_]


def _pick(rng: np.random.Generator, chars: str, n: int) -> Strings:
    table = np.array(list(chars))
    return table[rng.integers(0, len(table), n)]


def surname_indexes(rng: np.random.Generator, n: int) -> NDArray[np.int64]:
    """Surname indexes into :data:`SURNAMES` with a Zipf-like frequency (王李张 first)."""
    weights = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.9
    return rng.choice(len(SURNAMES), size=n, p=weights / weights.sum())


def given_names(
    rng: np.random.Generator, male: NDArray[np.bool_], birth_year: NDArray[np.int64]
) -> Strings:
    """One- or two-character given names; older people get the older-style characters."""
    n = len(male)
    old = birth_year < 1980
    out = np.empty(n, dtype="<U2")
    for is_male in (True, False):
        for is_old in (True, False):
            mask = (male == is_male) & (old == is_old)
            chars = (
                (MALE_GIVEN_OLD if is_old else MALE_GIVEN_YOUNG)
                if is_male
                else (FEMALE_GIVEN_OLD if is_old else FEMALE_GIVEN_YOUNG)
            )
            k = int(mask.sum())
            first = _pick(rng, chars, k)
            second = _pick(rng, chars, k)
            two = rng.random(k) < (0.55 if is_old else 0.8)
            out[mask] = np.where(two, np.char.add(first, second), first)
    return out


def full_names(surnames: NDArray[np.int64], given: Strings) -> Strings:
    """Surname + given name."""
    table = np.array(list(SURNAMES))
    return np.asarray(np.char.add(table[surnames], given))


def community_name(rng: np.random.Generator, taken: set[str]) -> str:
    """A 社区 name not yet used in this street."""
    for _ in range(200):
        word = COMMUNITY_WORDS[int(rng.integers(len(COMMUNITY_WORDS)))]
        for extra in ("", "东", "西", "南", "北", "新", "中"):
            name = f"{word}{extra}社区" if extra else f"{word}社区"
            if name not in taken:
                taken.add(name)
                return name
    raise RuntimeError("community names exhausted")  # pragma: no cover


def village_name(rng: np.random.Generator, taken: set[str]) -> str:
    """A 村 name not yet used in this street: surname + ending, e.g. 张庄村."""
    for _ in range(500):
        surname = SURNAMES[int(rng.integers(40))]
        suffix = VILLAGE_SUFFIXES[int(rng.integers(len(VILLAGE_SUFFIXES)))]
        prefix = ("", "大", "小", "前", "后", "东", "西", "南", "北")[int(rng.integers(9))]
        name = f"{prefix}{surname}{suffix}村"
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("village names exhausted")  # pragma: no cover


def road_name(rng: np.random.Generator) -> str:
    """A road name such as 朝阳路 or 海连大道."""
    word = ROAD_WORDS[int(rng.integers(len(ROAD_WORDS)))]
    direction = ("", "", "东", "西", "南", "北", "中")[int(rng.integers(7))]
    kind = ROAD_KINDS[int(rng.integers(len(ROAD_KINDS)))]
    return f"{word}{direction}{kind}"
