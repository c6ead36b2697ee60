"""Demo data: a realistic, deterministic Chinese 4S dealership, for trials and benchmarks.

:func:`generate_demo_data` fills an already-migrated, customer-free database with one dealer
(华通大众4S店 in Shenzhen), its staff, a vehicle catalogue and any number of customers with their
phones, vehicles, contacts, follow-up tasks, intent level history and consents; about 5% of
the customers (active leads and buyers) have quotes, in every status.

Contracts:

* Deterministic: the same ``seed`` and ``today`` give identical rows, ids included. All the
  randomness comes from ``random()`` of one ``random.Random(seed)``, the one sequence Python
  promises to keep across versions (``randrange``, ``choice``, ``sample`` and ``getrandbits``
  are deliberately not used). Quotes draw from a second ``random.Random`` derived from the
  seed, so adding them left every other row as it was. Only ``updated_by_device`` and the
  device code inside quote numbers differ between databases (both come from the database's
  own device id), and the dealer id when the database already had a dealer.
* Valid: every phone, VIN, plate, ID number and e-mail address is already in the canonical form
  the ``showroom.validation`` normalisers return, so it round-trips through them unchanged.
* Local only: demo rows are not changes to push, so no ``sync_outbox`` row is written; the
  database is flagged with ``local_state`` key ``demo`` = ``"1"`` instead.
* Fast: rows are written with ``executemany`` in chunks inside one transaction, never through
  the ORM unit of work, with the secondary indexes built once at the end (see
  ``_indexes_deferred``); docs/performance.md has the measured times. The values are encoded
  exactly as the column types in :mod:`showroom.db.types` store them; ``_check_encodings``
  compares the two before anything is written.
* Atomic: one transaction; on any error (or an exception from ``progress``) nothing is left.

Times: the dealership keeps China time (UTC+8, no daylight saving). Every event happened before
``today`` (in dealer time) and is stored as naive UTC text, as ``UTCDateTime`` does; due dates of
open follow-ups lie around ``today``.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import itertools
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, text

from showroom.db.engine import Database
from showroom.errors import ValidationError
from showroom.validation import id_check_digit, vin_check_digit
from showroom.vocabulary import (
    ConsentChannel,
    ConsentPurpose,
    ConsentSource,
    CustomerKind,
    Direction,
    FuelType,
    Gender,
    InteractionChannel,
    LifecycleStage,
    LostApproval,
    PhoneLabel,
    Role,
    SourceChannel,
)

__all__ = ["MAX_CUSTOMERS", "DemoSummary", "generate_demo_data"]

MAX_CUSTOMERS = 2_000_000
# Customers generated and written per executemany round: large enough that the per-statement
# overhead vanishes, small enough that one chunk of rows (about 12 per customer) stays in MBs.
CHUNK_CUSTOMERS = 5_000

# UUIDv7 timestamps count from this fixed instant, advancing with each row's creation time, so
# ids do not depend on the day the data was generated (the dates in the rows do).
ID_BASE_MS = 1_640_995_200_000  # 2022-01-01T00:00:00Z
# Customers were registered over the last four years; their contacts cover the last two.
WINDOW_DAYS = 4 * 365
INTERACTION_DAYS = 2 * 365
DEALER_UTC_OFFSET = dt.timedelta(hours=8)
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
OPEN_US, CLOSE_US = 9 * HOUR_US, 21 * HOUR_US  # showroom hours, dealer time


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo_data` wrote: rows per table, time taken and the seed used."""

    seed: int
    today: dt.date
    seconds: float
    dealers: int
    users: int
    trims: int
    trim_options: int
    trim_colours: int
    customers: int
    customer_phones: int
    customer_vehicles: int
    interactions: int
    follow_ups: int
    intent_changes: int
    consents: int
    search_keys: int
    quotes: int = 0
    quote_lines: int = 0

    def table_counts(self) -> dict[str, int]:
        """Rows written, keyed by table name (search_key counts the rebuilt index)."""
        return {
            "dealer": self.dealers,
            "app_user": self.users,
            "catalogue_trim": self.trims,
            "catalogue_option": self.trim_options,
            "catalogue_colour": self.trim_colours,
            "customer": self.customers,
            "customer_phone": self.customer_phones,
            "customer_vehicle": self.customer_vehicles,
            "interaction": self.interactions,
            "follow_up": self.follow_ups,
            "intent_change": self.intent_changes,
            "consent": self.consents,
            "search_key": self.search_keys,
            "quote": self.quotes,
            "quote_line": self.quote_lines,
        }


# --------------------------------------------------------------------------------------------
# Columns written per table. Every row tuple follows this order; the four sync columns close it.
# --------------------------------------------------------------------------------------------

_SYNC = ("server_version", "deleted", "updated_at", "updated_by_device")
_COLUMNS: dict[str, tuple[str, ...]] = {
    "dealer": ("id", "name", "code", "address", "phone", *_SYNC),
    "app_user": (
        "id",
        "dealer_id",
        "username",
        "display_name",
        "role",
        "active",
        "phone",
        "system_account",
        "created_by_id",
        *_SYNC,
    ),
    "catalogue_trim": (
        "id",
        "brand",
        "model",
        "trim",
        "model_year",
        "fuel",
        "msrp",
        "active",
        "dealer_cost",
        *_SYNC,
    ),
    "catalogue_option": ("id", "trim_id", "code", "name", "price", *_SYNC),
    "catalogue_colour": ("id", "trim_id", "name", "code", "price", *_SYNC),
    "customer": (
        "id",
        "kind",
        "name",
        "contact_name",
        "email",
        "wechat_id",
        "gender",
        "birthday",
        "address",
        "id_number",
        "source",
        "assigned_to_id",
        "intent_level",
        "lost_approval",
        "expected_purchase_date",
        "lifecycle_stage",
        "vip",
        "notes",
        "created_at",
        "created_by_id",
        *_SYNC,
    ),
    "customer_phone": ("id", "customer_id", "number", "label", "is_primary", *_SYNC),
    "customer_vehicle": (
        "id",
        "customer_id",
        "vin",
        "plate",
        "trim_id",
        "model_name",
        "colour",
        "purchase_date",
        "mileage_km",
        *_SYNC,
    ),
    "interaction": (
        "id",
        "customer_id",
        "user_id",
        "channel",
        "direction",
        "summary",
        "outcome",
        "occurred_at",
        *_SYNC,
    ),
    "follow_up": (
        "id",
        "customer_id",
        "owner_id",
        "due",
        "purpose",
        "done",
        "done_at",
        "outcome",
        "interaction_id",
        *_SYNC,
    ),
    "intent_change": (
        "id",
        "customer_id",
        "from_level",
        "to_level",
        "reason",
        "changed_at",
        "changed_by_id",
        "approval",
        "decided_by_id",
        "decided_at",
        "decision_note",
        *_SYNC,
    ),
    "consent": (
        "id",
        "customer_id",
        "channel",
        "purpose",
        "granted",
        "given_at",
        "source",
        "recorded_by_id",
        *_SYNC,
    ),
    "quote": (
        "id",
        "number",
        "customer_id",
        "salesperson_id",
        "trim_id",
        "colour",
        "vehicle_price",
        "discount",
        "total",
        "dealer_cost",
        "valid_until",
        "status",
        "approved_by_id",
        "approved_at",
        "approved_signature",
        "rejection_reason",
        "issued_at",
        "issued_snapshot",
        "notes",
        "created_at",
        "created_by_id",
        *_SYNC,
    ),
    "quote_line": (
        "id",
        "quote_id",
        "kind",
        "code",
        "description",
        "quantity",
        "unit_price",
        "position",
        *_SYNC,
    ),
}
# Parents before children: foreign keys are enforced while inserting.
CUSTOMER_TABLES = (
    "customer",
    "customer_phone",
    "customer_vehicle",
    "interaction",
    "follow_up",
    "intent_change",
    "consent",
)


def _insert_sql(table: str) -> str:
    columns = _COLUMNS[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def _utc_text(moment: dt.datetime) -> str:
    """A naive UTC datetime as ``UTCDateTime`` stores it on SQLite (text with microseconds)."""
    return moment.isoformat(" ", "microseconds")


def _fen(amount: str) -> int:
    """Money as ``Money`` stores it: whole fen. Amounts here are exact, two places at most."""
    return int(Decimal(amount) * 100)


def _dealer_cost_fen(msrp: str) -> int:
    """The store's invoice price: 91% of the list price, in whole hundreds of yuan."""
    return int(Decimal(msrp) * Decimal("0.91") / 100) * 100 * 100


# --------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------

# (surname, relative frequency in percent, pinyin for e-mail addresses). Frequencies follow the
# national surname statistics, with 林, 黄, 梁 and 陈 nudged up as they are in Guangdong.
_SURNAMES: tuple[tuple[str, float, str], ...] = (
    ("王", 7.25, "wang"),
    ("李", 7.19, "li"),
    ("张", 6.83, "zhang"),
    ("刘", 5.38, "liu"),
    ("陈", 5.5, "chen"),
    ("杨", 3.08, "yang"),
    ("黄", 3.0, "huang"),
    ("赵", 2.19, "zhao"),
    ("吴", 2.0, "wu"),
    ("周", 1.92, "zhou"),
    ("徐", 1.6, "xu"),
    ("孙", 1.54, "sun"),
    ("马", 1.44, "ma"),
    ("朱", 1.32, "zhu"),
    ("胡", 1.31, "hu"),
    ("郭", 1.15, "guo"),
    ("何", 1.3, "he"),
    ("林", 1.8, "lin"),
    ("高", 1.07, "gao"),
    ("罗", 1.1, "luo"),
    ("郑", 1.0, "zheng"),
    ("梁", 1.2, "liang"),
    ("谢", 0.9, "xie"),
    ("宋", 0.75, "song"),
    ("唐", 0.73, "tang"),
    ("许", 0.7, "xu"),
    ("韩", 0.68, "han"),
    ("冯", 0.64, "feng"),
    ("邓", 0.7, "deng"),
    ("曹", 0.62, "cao"),
    ("彭", 0.59, "peng"),
    ("曾", 0.65, "zeng"),
    ("肖", 0.56, "xiao"),
    ("田", 0.52, "tian"),
    ("董", 0.51, "dong"),
    ("袁", 0.5, "yuan"),
    ("潘", 0.47, "pan"),
    ("于", 0.46, "yu"),
    ("蒋", 0.45, "jiang"),
    ("蔡", 0.5, "cai"),
    ("余", 0.43, "yu"),
    ("杜", 0.42, "du"),
    ("叶", 0.45, "ye"),
    ("程", 0.4, "cheng"),
    ("苏", 0.39, "su"),
    ("魏", 0.38, "wei"),
    ("吕", 0.37, "lv"),
    ("丁", 0.36, "ding"),
    ("任", 0.35, "ren"),
    ("沈", 0.34, "shen"),
    ("姚", 0.33, "yao"),
    ("卢", 0.32, "lu"),
    ("姜", 0.31, "jiang"),
    ("崔", 0.3, "cui"),
    ("钟", 0.35, "zhong"),
    ("谭", 0.3, "tan"),
    ("陆", 0.27, "lu"),
    ("汪", 0.26, "wang"),
    ("范", 0.25, "fan"),
    ("金", 0.24, "jin"),
    ("石", 0.23, "shi"),
    ("廖", 0.25, "liao"),
    ("贾", 0.21, "jia"),
    ("夏", 0.2, "xia"),
    ("韦", 0.19, "wei"),
    ("付", 0.18, "fu"),
    ("方", 0.17, "fang"),
    ("白", 0.16, "bai"),
    ("邹", 0.15, "zou"),
    ("孟", 0.14, "meng"),
    ("熊", 0.13, "xiong"),
    ("秦", 0.12, "qin"),
    ("邱", 0.12, "qiu"),
    ("江", 0.1, "jiang"),
    ("尹", 0.1, "yin"),
    ("薛", 0.09, "xue"),
    ("闫", 0.09, "yan"),
    ("段", 0.09, "duan"),
    ("雷", 0.09, "lei"),
    ("侯", 0.08, "hou"),
    ("龙", 0.08, "long"),
    ("史", 0.08, "shi"),
    ("陶", 0.08, "tao"),
    ("黎", 0.1, "li"),
    ("贺", 0.07, "he"),
    ("顾", 0.07, "gu"),
    ("毛", 0.07, "mao"),
    ("郝", 0.07, "hao"),
    ("龚", 0.07, "gong"),
    ("邵", 0.06, "shao"),
    ("万", 0.06, "wan"),
    ("钱", 0.06, "qian"),
    ("严", 0.06, "yan"),
    ("覃", 0.06, "qin"),
    ("武", 0.06, "wu"),
    ("戴", 0.06, "dai"),
    ("莫", 0.06, "mo"),
    ("孔", 0.05, "kong"),
    ("向", 0.05, "xiang"),
    ("汤", 0.05, "tang"),
    ("欧阳", 0.04, "ouyang"),
    ("司马", 0.01, "sima"),
    ("上官", 0.01, "shangguan"),
    ("诸葛", 0.01, "zhuge"),
)
_MALE_CHARS = (
    "伟强磊军勇杰涛明超斌鹏辉华刚平俊峰浩宇博文志海东林"
    "波飞龙亮鑫健晨凯毅帆昊然轩振国成新建荣坤彬宏锋锐旭阳"
)
_FEMALE_CHARS = (
    "芳娜敏静丽艳娟霞燕玲婷雪慧颖琳洁倩晶欣怡佳梅萍红莉丹璐月蕾瑶雨涵诗悦思梦晓雅妍琪秀英兰凤"
)
_MALE_GIVEN = (
    "建国",
    "建华",
    "志强",
    "志刚",
    "国强",
    "海涛",
    "晓东",
    "文杰",
    "俊杰",
    "浩然",
    "子轩",
    "宇航",
    "博文",
    "家豪",
    "振华",
    "永刚",
    "明辉",
    "伟东",
    "国平",
    "立新",
    "子豪",
    "天宇",
    "嘉豪",
    "家俊",
    "志明",
    "伟强",
    "国华",
    "少华",
    "锦华",
    "建军",
    "小龙",
    "思远",
    "俊熙",
    "梓豪",
)
_FEMALE_GIVEN = (
    "秀英",
    "桂英",
    "丽娟",
    "海燕",
    "晓燕",
    "雪梅",
    "玉兰",
    "美玲",
    "欣怡",
    "子涵",
    "雨涵",
    "诗琪",
    "梓涵",
    "佳怡",
    "婷婷",
    "丽华",
    "淑芬",
    "晓丽",
    "慧敏",
    "嘉欣",
    "颖欣",
    "静怡",
    "晓琳",
    "思琪",
    "美华",
    "丽萍",
    "秀兰",
    "春梅",
    "凤英",
    "诗涵",
)

_COMPANY_WORDS = (
    "华创鼎盛恒达宏远新锐德信盛世中科海纳嘉禾金鹏汇通联创优品天成锦"
    "程博远瑞丰万象星河前海南方永兴佳信腾龙瀚海凯越卓越泰和广源富达"
)
_COMPANY_TRADES = (
    "科技",
    "电子科技",
    "网络科技",
    "贸易",
    "物流",
    "实业",
    "建设工程",
    "餐饮管理",
    "文化传媒",
    "投资咨询",
    "供应链管理",
    "医疗器械",
    "新能源科技",
    "智能装备",
    "装饰工程",
    "商贸",
)

# Shenzhen districts with a few real roads and housing estates each.
_DISTRICTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("南山区", ("科技园南路", "南海大道", "桃园路", "南山大道", "沙河西路", "后海大道")),
    ("福田区", ("深南中路", "福华路", "彩田路", "景田路", "益田路", "新洲路")),
    ("罗湖区", ("东门中路", "人民南路", "宝安南路", "翠竹路", "文锦中路")),
    ("宝安区", ("宝安大道", "新安六路", "建安一路", "西乡大道", "创业一路")),
    ("龙岗区", ("龙岗大道", "布吉路", "五和大道", "龙翔大道", "深惠路")),
    ("龙华区", ("民治大道", "人民路", "梅龙路", "东环一路", "龙华大道")),
    ("光明区", ("光明大道", "华夏路", "观光路")),
    ("坪山区", ("坪山大道", "深汕路")),
)
_DISTRICT_WEIGHTS = (16, 15, 9, 20, 18, 14, 4, 4)
_ESTATES = (
    "阳光花园",
    "丽景苑",
    "海悦华庭",
    "星河明居",
    "万科城",
    "碧海云天",
    "锦绣江南",
    "华润城",
    "天悦湾",
    "金地名津",
    "中海日辉台",
    "龙华新城",
    "翠海花园",
    "桃源居",
    "半山海景",
    "御景华城",
)

# Guangdong resident ID region codes (GB/T 2260), Shenzhen first: most buyers live near the store.
_ID_REGIONS = (
    ("440301", 6),
    ("440303", 5),
    ("440304", 6),
    ("440305", 6),
    ("440306", 8),
    ("440307", 8),
    ("440309", 4),
    ("440103", 1),
    ("440104", 2),
    ("440106", 2),
    ("440111", 1),
    ("440113", 1),
    ("440402", 1),
    ("440604", 1),
    ("440606", 1),
    ("441302", 2),
    ("441900", 2),
    ("442000", 1),
    ("440703", 1),
    ("445102", 1),
    ("440511", 2),
    ("440802", 2),
    ("441402", 2),
    ("441502", 1),
    ("445202", 2),
)

# Mainland mobile prefixes by rough market share. 174 is left out: only 17400-17405 (satellite)
# are assigned in it, so random numbers under it would not be valid mobiles.
_MOBILE_PREFIXES = (
    *((p, 4) for p in (130, 131, 132, 133, 134, 135, 136, 137, 138, 139)),
    *((p, 3) for p in (150, 151, 152, 153, 155, 156, 157, 158, 159)),
    *((p, 1) for p in (170, 171, 172, 173, 175, 176, 177, 178)),
    *((p, 3) for p in (180, 181, 182, 183, 184, 185, 186, 187, 188, 189)),
    (198, 2),
    (199, 2),
)

# Plate authority letters within Guangdong: 粤B is Shenzhen; neighbours register here too.
_PLATE_AUTHORITIES = (("粤B", 82), ("粤A", 5), ("粤S", 5), ("粤E", 2), ("粤L", 4), ("粤C", 2))
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "0123456789"
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
# ISO 3779 model-year codes repeat every 30 years; 1980 is "A".
_VIN_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
_LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"

# Catalogue: brand, model, WMI, VDS stem, plant code, sales weight per trim, trims
# (trim name, model-year offset from this year, fuel, MSRP), options and colours shared by the
# model's trims (code, name, price).
_VW_COLOURS = (
    ("极地白", "0Q", "0"),
    ("深黑珍珠", "2T", "0"),
    ("钨钢灰", "5K", "0"),
    ("冰川蓝", "7E", "2000"),
    ("丝绸银", "8E", "0"),
)
_TOYOTA_COLOURS = (
    ("铂金珍珠白", "089", "3000"),
    ("晶耀黑", "218", "0"),
    ("金属银", "1K0", "0"),
    ("冰晶蓝", "8W9", "0"),
)
_HONDA_COLOURS = (
    ("珍珠白", "NH883P", "2000"),
    ("水晶黑", "NH731P", "0"),
    ("星月银", "NH830M", "0"),
    ("琉璃蓝", "B627M", "0"),
    ("炫晶红", "R569M", "0"),
)
_BYD_COLOURS = (
    ("雪域白", "W1", "0"),
    ("时光灰", "G2", "0"),
    ("汉宫红", "R1", "0"),
    ("天际灰", "G5", "0"),
)
_VW_OPTIONS = (
    ("PANO", "全景天窗", "6000"),
    ("IQL", "IQ.Light 智能大灯", "4500"),
    ("HK", "哈曼卡顿音响", "5000"),
    ("IQD", "IQ.Drive 驾驶辅助包", "8000"),
)
_CATALOGUE: tuple[dict[str, Any], ...] = (
    {
        "brand": "大众",
        "model": "朗逸",
        "wmi": "LSV",
        "vds": "AG6",
        "plant": "S",
        "weight": 10,
        "trims": (
            ("1.5L 自动 满逸版", -1, "petrol", "111900.00"),
            ("280TSI DSG 满逸版", 0, "petrol", "139900.00"),
        ),
        "options": _VW_OPTIONS[:2],
        "colours": _VW_COLOURS,
    },
    {
        "brand": "大众",
        "model": "速腾",
        "wmi": "LFV",
        "vds": "2B2",
        "plant": "3",
        "weight": 8,
        "trims": (
            ("200TSI DSG 飞越版", 0, "petrol", "139900.00"),
            ("300TSI DSG 超越版", 0, "petrol", "169900.00"),
        ),
        "options": _VW_OPTIONS[:3],
        "colours": _VW_COLOURS[:4],
    },
    {
        "brand": "大众",
        "model": "迈腾",
        "wmi": "LFV",
        "vds": "3A2",
        "plant": "4",
        "weight": 6,
        "trims": (
            ("330TSI DSG 领先型", 0, "petrol", "209900.00"),
            ("380TSI DSG 豪华型", 0, "petrol", "249900.00"),
        ),
        "options": _VW_OPTIONS,
        "colours": _VW_COLOURS,
    },
    {
        "brand": "大众",
        "model": "帕萨特",
        "wmi": "LSV",
        "vds": "CA6",
        "plant": "N",
        "weight": 5,
        "trims": (
            ("330TSI 星空精英版", 0, "petrol", "209900.00"),
            ("380TSI 星空豪华版", -1, "petrol", "239900.00"),
        ),
        "options": _VW_OPTIONS,
        "colours": _VW_COLOURS[:4],
    },
    {
        "brand": "大众",
        "model": "途观L",
        "wmi": "LSV",
        "vds": "UA6",
        "plant": "N",
        "weight": 6,
        "trims": (
            ("330TSI 自动两驱智享版", 0, "petrol", "219900.00"),
            ("380TSI 自动四驱R-Line旗舰版", 0, "petrol", "289900.00"),
        ),
        "options": _VW_OPTIONS,
        "colours": _VW_COLOURS,
    },
    {
        "brand": "大众",
        "model": "探岳",
        "wmi": "LFV",
        "vds": "2A2",
        "plant": "5",
        "weight": 5,
        "trims": (
            ("280TSI 两驱豪华Plus进阶版", 0, "petrol", "199900.00"),
            ("330TSI 四驱R-Line智联版", -1, "petrol", "259900.00"),
        ),
        "options": _VW_OPTIONS[1:],
        "colours": _VW_COLOURS[:3],
    },
    {
        "brand": "大众",
        "model": "ID.4 CROZZ",
        "wmi": "LFV",
        "vds": "1E2",
        "plant": "6",
        "weight": 4,
        "trims": (("纯净长续航版", 0, "ev", "179900.00"), ("PRO 长续航版", 0, "ev", "209900.00")),
        "options": (("IQL", "IQ.Light 智能大灯", "4500"), ("ARHUD", "AR-HUD 抬头显示", "5500")),
        "colours": _VW_COLOURS[:4],
    },
    {
        "brand": "大众",
        "model": "ID.6 CROZZ",
        "wmi": "LFV",
        "vds": "1F2",
        "plant": "6",
        "weight": 2,
        "trims": (("长续航 PRO 版", 0, "ev", "239900.00"),),
        "options": (
            ("ARHUD", "AR-HUD 抬头显示", "5500"),
            ("HK", "哈曼卡顿音响", "5000"),
            ("SEAT6", "二排独立座椅", "6000"),
        ),
        "colours": _VW_COLOURS[:3],
    },
    {
        "brand": "丰田",
        "model": "凯美瑞",
        "wmi": "LVG",
        "vds": "B1F",
        "plant": "G",
        "weight": 5,
        "trims": (
            ("2.0E 精英版", 0, "petrol", "171800.00"),
            ("双擎 2.5HE 精英版", 0, "hybrid", "209800.00"),
        ),
        "options": (
            ("TSS", "TSS 智行安全包", "5000"),
            ("JBL", "JBL 音响", "4800"),
            ("SUNROOF", "电动天窗", "5000"),
        ),
        "colours": _TOYOTA_COLOURS,
    },
    {
        "brand": "丰田",
        "model": "RAV4荣放",
        "wmi": "LVG",
        "vds": "D4F",
        "plant": "G",
        "weight": 4,
        "trims": (
            ("2.0L CVT 两驱都市版", 0, "petrol", "175800.00"),
            ("双擎 2.5L 四驱精英Plus版", -1, "hybrid", "249800.00"),
        ),
        "options": (("TSS", "TSS 智行安全包", "5000"), ("ROOF", "车顶行李架", "1800")),
        "colours": _TOYOTA_COLOURS,
    },
    {
        "brand": "丰田",
        "model": "卡罗拉",
        "wmi": "LVG",
        "vds": "C2F",
        "plant": "G",
        "weight": 3,
        "trims": (("双擎 1.8L 先锋版", 0, "hybrid", "129800.00"),),
        "options": (("TSS", "TSS 智行安全包", "5000"), ("LED", "LED 大灯", "2500")),
        "colours": _TOYOTA_COLOURS[:3],
    },
    {
        "brand": "比亚迪",
        "model": "汉",
        "wmi": "LGX",
        "vds": "C16",
        "plant": "S",
        "weight": 5,
        "trims": (
            ("EV 荣耀版 506KM 前驱尊贵型", 0, "ev", "209800.00"),
            ("DM-i 荣耀版 121KM 尊贵型", 0, "phev", "169800.00"),
        ),
        "options": (
            ("DIPILOT", "DiPilot 智能驾驶辅助", "8000"),
            ("DYN", "丹拿音响", "5000"),
            ("HUD", "HUD 抬头显示", "3000"),
        ),
        "colours": _BYD_COLOURS,
    },
    {
        "brand": "比亚迪",
        "model": "宋PLUS DM-i",
        "wmi": "LGX",
        "vds": "E24",
        "plant": "S",
        "weight": 6,
        "trims": (
            ("冠军版 110KM 旗舰型", 0, "phev", "149800.00"),
            ("冠军版 150KM 旗舰PLUS", 0, "phev", "169800.00"),
        ),
        "options": (("V2L", "车外放电枪", "1200"), ("DIPILOT", "DiPilot 智能驾驶辅助", "8000")),
        "colours": _BYD_COLOURS,
    },
    {
        "brand": "比亚迪",
        "model": "秦PLUS DM-i",
        "wmi": "LGX",
        "vds": "A12",
        "plant": "X",
        "weight": 6,
        "trims": (("荣耀版 55KM 领先型", 0, "phev", "79800.00"),),
        "options": (("V2L", "车外放电枪", "1200"), ("FILM", "隐私玻璃贴膜", "1500")),
        "colours": _BYD_COLOURS[:3],
    },
    {
        "brand": "比亚迪",
        "model": "海豹",
        "wmi": "LGX",
        "vds": "F31",
        "plant": "C",
        "weight": 3,
        "trims": (("荣耀版 550KM 精英型", 0, "ev", "189800.00"),),
        "options": (
            ("DYN", "丹拿音响", "5000"),
            ("HUD", "HUD 抬头显示", "3000"),
            ("PANO", "全景玻璃车顶", "0"),
        ),
        "colours": _BYD_COLOURS,
    },
    {
        "brand": "本田",
        "model": "雅阁",
        "wmi": "LHG",
        "vds": "CV1",
        "plant": "5",
        "weight": 5,
        "trims": (
            ("260TURBO 精英版", 0, "petrol", "179800.00"),
            ("锐·混动 2.0L 锐·领先版", -1, "hybrid", "199800.00"),
            ("260TURBO 旗舰版", 0, "petrol", "219800.00"),
        ),
        "options": (
            ("SENSING", "Honda SENSING 安全包", "5000"),
            ("BOSE", "BOSE 音响", "6000"),
            ("WPC", "无线充电", "1000"),
        ),
        "colours": _HONDA_COLOURS,
    },
    {
        "brand": "本田",
        "model": "CR-V",
        "wmi": "LHG",
        "vds": "RW1",
        "plant": "4",
        "weight": 4,
        "trims": (
            ("240TURBO 两驱活力版", 0, "petrol", "185900.00"),
            ("锐·混动 2.0L 两驱净致版", 0, "hybrid", "209900.00"),
        ),
        "options": (("SENSING", "Honda SENSING 安全包", "5000"), ("ROOF", "车顶行李架", "1800")),
        "colours": _HONDA_COLOURS[:4],
    },
)

# Cars of other makes, seen as trade-ins and service walk-ins: (model name, WMI, fuel, weight).
_OTHER_MAKES = (
    ("特斯拉 Model 3", "LRW", "ev", 4),
    ("特斯拉 Model Y", "LRW", "ev", 5),
    ("宝马 3系", "LBV", "petrol", 3),
    ("宝马 X3", "LBV", "petrol", 2),
    ("奔驰 C级", "LE4", "petrol", 3),
    ("奔驰 GLC", "LE4", "petrol", 2),
    ("别克 英朗", "LSG", "petrol", 5),
    ("别克 GL8", "LSG", "petrol", 3),
    ("日产 轩逸", "LGB", "petrol", 7),
    ("吉利 星越L", "L6T", "petrol", 3),
    ("长安 CS75 PLUS", "LS5", "petrol", 4),
    ("哈弗 H6", "LGW", "petrol", 5),
    ("五菱 宏光MINIEV", "LZW", "ev", 3),
    ("大众 宝来", "LFV", "petrol", 6),
    ("本田 飞度", "LHG", "petrol", 3),
)
_GENERIC_COLOURS = ("白色", "黑色", "银色", "灰色", "蓝色", "红色", "珍珠白", "香槟金")
_COMPETITORS = (
    "本田雅阁",
    "丰田凯美瑞",
    "日产天籁",
    "别克君威",
    "比亚迪汉",
    "特斯拉Model 3",
    "吉利星越L",
    "哈弗H6",
    "理想L6",
    "问界M7",
    "小米SU7",
    "长安UNI-V",
)

# Staff: (username, display name, role).
_STAFF: tuple[tuple[str, str, str], ...] = (
    ("admin", "周建国", Role.ADMIN),
    ("manager01", "李志强", Role.MANAGER),
    ("manager02", "陈晓燕", Role.MANAGER),
    *(
        (f"sales{i:02d}", name, Role.SALESPERSON)
        for i, name in enumerate(
            (
                "王磊",
                "张婷",
                "刘洋",
                "陈杰",
                "杨帆",
                "黄丽",
                "赵鹏",
                "吴静",
                "孙浩",
                "林晓明",
                "郑雪",
                "何俊",
            ),
            start=1,
        )
    ),
    *(
        (f"service{i:02d}", name, Role.SERVICE_ADVISOR)
        for i, name in enumerate(("郭强", "罗敏", "梁伟", "谢芳", "宋涛"), start=1)
    ),
)
# Some salespeople sell far more than others, as in every showroom.
_SALES_WEIGHTS = (14, 12, 11, 10, 9, 9, 8, 7, 6, 6, 4, 4)

_DEALER = ("华通大众4S店", "HT-SZ-001", "广东省深圳市南山区深南大道10188号", "+8675586668888")

# Intent levels: (level, share), None meaning owners and service-only customers.
_LEVELS = (("H", 5), ("A", 10), ("B", 20), ("C", 20), ("O", 10), ("F", 8), (None, 27))
# Per level: interactions (min, max), days since the last contact (min, max; levels with a
# follow-up cadence derive it from their open task instead), chance of already owning a car.
# Owners (None) own one by definition; others may be trading one in.
_LEVEL_PLAN: dict[str | None, tuple[tuple[int, int], tuple[int, int], float]] = {
    "H": ((3, 7), (0, 0), 0.26),
    "A": ((2, 6), (0, 0), 0.26),
    "B": ((2, 4), (0, 0), 0.26),
    "C": ((1, 4), (0, 0), 0.26),
    "O": ((3, 7), (1, 30), 0.3),
    "F": ((2, 4), (10, 300), 0.26),
    None: ((1, 3), (1, 700), 0.95),
}
# Levels a lead passed through before reaching its current one (for the history rows).
_PREVIOUS_LEVELS = {
    "H": ("A", "B", "C"),
    "A": ("B", "C"),
    "B": ("C",),
    "C": ("B",),
    "O": ("H", "A", "B"),
    "F": ("B", "C", "A"),
}
_CADENCE = {"H": 1, "A": 3, "B": 7, "C": 14}

_SOURCES = (
    (SourceChannel.WALK_IN, 42),
    (SourceChannel.PHONE, 18),
    (SourceChannel.WEB, 22),
    (SourceChannel.REFERRAL, 12),
    (SourceChannel.EVENT, 6),
)

_V, _P, _S, _W, _E = (
    InteractionChannel.VISIT.value,
    InteractionChannel.PHONE.value,
    InteractionChannel.SMS.value,
    InteractionChannel.WECHAT.value,
    InteractionChannel.EMAIL.value,
)
_IN, _OUT = Direction.INBOUND.value, Direction.OUTBOUND.value
# Plain strings for the hot path (an enum's .value costs a descriptor call each time).
_PERSON, _COMPANY = CustomerKind.PERSON.value, CustomerKind.COMPANY.value
_MALE, _FEMALE = Gender.MALE.value, Gender.FEMALE.value
_MOBILE, _WORK, _HOME = PhoneLabel.MOBILE.value, PhoneLabel.WORK.value, PhoneLabel.HOME.value
_APPROVED, _PENDING = LostApproval.APPROVED.value, LostApproval.PENDING.value
_EMAIL_CHANNEL = ConsentChannel.EMAIL.value
# Interaction templates: (channel, direction, summary, outcome). Placeholders: {model} the car
# the customer looks at, {competitor}, {budget} (万元), {referrer}, {deposit}, {weeks}, {months},
# {days}, {date} (an appointment day), {km}.
_FIRST_CONTACT = {
    SourceChannel.WALK_IN: (
        (_V, _IN, "首次到店，看了{model}的展车，留下联系方式", "已留资"),
        (_V, _IN, "到店了解{model}，重点问了油耗和保养费用", "已留资"),
        (_V, _IN, "携家人到店看{model}，试坐后比较满意", "已留资"),
    ),
    SourceChannel.PHONE: (
        (_P, _IN, "来电咨询{model}现车情况和本月优惠", "已邀约到店"),
        (_P, _IN, "来电询问{model}的落地价，预算{budget}万左右", "已报价"),
    ),
    SourceChannel.WEB: (
        (_P, _OUT, "汽车之家线索回访，客户咨询{model}底价", "已邀约到店"),
        (_P, _OUT, "懂车帝留资回访，客户对{model}感兴趣，预算{budget}万左右", "已加微信"),
        (_W, _OUT, "官网预约试驾线索，微信联系确认试驾时间", "已预约试驾"),
    ),
    SourceChannel.REFERRAL: (
        (_V, _IN, "老客户{referrer}介绍到店，意向{model}", "已留资"),
        (_P, _IN, "经朋友{referrer}推荐来电，想了解{model}", "已邀约到店"),
    ),
    SourceChannel.EVENT: (
        (_V, _IN, "参加周末试驾活动，试驾了{model}", "已试驾"),
        (_V, _IN, "车展现场登记，对{model}感兴趣", "已留资"),
    ),
}
_SALES_FOLLOW = (
    (_P, _OUT, "电话回访，客户本周工作忙，约下周再联系", "客户考虑中"),
    (_P, _OUT, "电话回访未接通，已发短信说明来意", "未接通"),
    (_S, _OUT, "短信发送{model}本月优惠活动信息", None),
    (_W, _OUT, "微信发送{model}配置表和报价单", "已报价"),
    (_W, _IN, "客户微信咨询{model}贷款方案，首付两成", "已发送方案"),
    (_V, _IN, "到店试驾{model}，对动力和空间满意", "已试驾"),
    (_V, _IN, "再次到店洽谈，对比了{competitor}，关注价格", "已报价"),
    (_P, _OUT, "邀约客户参加本周末店内团购会", "已邀约到店"),
    (_W, _OUT, "微信告知客户{model}现车到店，可以看车", "客户考虑中"),
    (_P, _IN, "客户来电询问置换补贴政策，现有车辆准备置换", "已评估置换"),
    (_V, _IN, "客户到店做二手车评估，考虑置换{model}", "已评估置换"),
    (_E, _OUT, "邮件发送{model}报价单和金融方案", "已报价"),
)
_LAST_CONTACT = {
    "H": (
        (_V, _IN, "到店确认{model}配置和颜色，约定本周内签合同", "已谈妥价格"),
        (_P, _OUT, "电话确认客户贷款审批已通过，约定{days}天内到店签约", "待签约"),
    ),
    "A": (
        (_V, _IN, "二次到店试驾{model}，价格差距不大，需与家人商量", "客户考虑中"),
        (_W, _OUT, "微信沟通{model}最终报价，客户表示半个月内决定", "已报价"),
    ),
    "B": (
        (_P, _OUT, "电话回访，客户在对比{competitor}，预计一个月内决定", "客户考虑中"),
        (_W, _OUT, "微信发送{model}试驾视频和优惠政策", "已发送资料"),
    ),
    "C": (
        (_P, _OUT, "电话回访，客户购车计划推迟，预计{months}个月后再考虑", "暂缓购车"),
        (_S, _OUT, "短信关怀，发送店内近期活动信息", None),
    ),
    "O": (
        (_V, _IN, "签订{model}购车合同，已交定金{deposit}元，等待交车", "已下订"),
        (_V, _IN, "客户到店交定金{deposit}元订购{model}，预计{weeks}周后交车", "已下订"),
    ),
    "F": (
        (_P, _OUT, "电话回访得知客户已购买{competitor}，申请战败", "已战败"),
        (_P, _OUT, "客户表示预算不足，暂时放弃购车，申请战败", "已战败"),
    ),
}
_DELIVERY = (_V, _IN, "提车交付{model}，讲解车辆功能，赠送脚垫和贴膜", "已交车")
_SERVICE = (
    (_P, _OUT, "保养到期提醒，客户预约{date}到店做常规保养", "已预约保养"),
    (_V, _IN, "车辆到店做{km}公里保养，更换机油机滤", "保养完成"),
    (_P, _OUT, "保养后满意度回访，客户对服务满意", "满意"),
    (_V, _IN, "车辆到店检查空调异响，已处理", "维修完成"),
    (_W, _OUT, "微信提醒车辆年检和续保事宜", "已提醒"),
    (_P, _IN, "客户来电咨询续保报价", "已报价"),
)
_LAPSED_LAST = (_P, _OUT, "保养提醒电话无人接听，客户可能已转到其他店保养", "未接通")

_FOLLOW_PURPOSE = {
    "H": "确认签约时间",
    "A": "邀约再次到店试驾",
    "B": "跟进报价反馈",
    "C": "定期关怀，了解购车计划",
}
_LEVEL_REASONS = {
    "H": "试驾后意向明确，已确认预算和车型",
    "A": "已试驾，正在比较配置和价格",
    "B": "已报价，客户在对比其他品牌",
    "C": "购车计划不急，暂定半年以后",
    "O": "已签订购车合同并交定金",
}
_LOST_REASONS = ("预算不足，暂缓购车", "预算不足，放弃购车", "家人不同意，暂时不买车")
_FIRST_REASON = "首次登记"
_APPROVAL_NOTES = ("同意战败", "核实属实，同意", None)

_NOTES = (
    "周末才有时间到店",
    "预算20万左右，倾向SUV",
    "需要贷款，首付约三成",
    "有旧车置换需求",
    "家里有两个孩子，关注空间和安全",
    "对价格敏感，多家比价",
    "喜欢白色，不考虑黑色",
    "只接受微信联系，白天不方便接电话",
    "关注新能源补贴政策",
    "老客户，服务满意度高",
    "需要在月底前提车",
    "对智能驾驶辅助功能很感兴趣",
)
_COMPANY_NOTE = "公司采购，需要开增值税专用发票"

# Consent (channel, purpose) pairs people are actually asked for.
_CONSENT_PAIRS = tuple(
    (channel.value, purpose.value)
    for channel, purpose in (
        (ConsentChannel.PHONE, ConsentPurpose.SALES),
        (ConsentChannel.SMS, ConsentPurpose.SERVICE_REMINDERS),
        (ConsentChannel.WECHAT, ConsentPurpose.MARKETING),
        (ConsentChannel.SMS, ConsentPurpose.MARKETING),
        (ConsentChannel.PHONE, ConsentPurpose.SURVEYS),
        (ConsentChannel.WECHAT, ConsentPurpose.SERVICE_REMINDERS),
        (ConsentChannel.EMAIL, ConsentPurpose.MARKETING),
    )
)
_CONSENT_SOURCES = (
    (ConsentSource.PAPER_FORM, 40),
    (ConsentSource.VERBAL, 30),
    (ConsentSource.WECHAT, 15),
    (ConsentSource.WEB, 10),
    (ConsentSource.OTHER, 5),
)
_MAIL_DOMAINS = (
    ("163.com", 5),
    ("126.com", 2),
    ("sina.com", 1),
    ("139.com", 1),
    ("foxmail.com", 1),
)


class _Pick:
    """Weighted choice with a precomputed cumulative table (random.choices recomputes it)."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Iterable[tuple[Any, float]]) -> None:
        pairs = list(pairs)
        self.items = [item for item, _ in pairs]
        self.cum = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


@dataclass(frozen=True)
class _TrimInfo:
    id: str
    brand: str
    model: str
    model_year: int
    fuel: str
    msrp_wan: int  # rounded price in 万元, for "预算 N 万" lines
    wmi: str
    vds: str
    plant: str
    colours: tuple[str, ...]


class _Generator:
    """Makes the rows; all randomness comes from one seeded ``random.Random``."""

    def __init__(self, seed: int, today: dt.date, device_id: str, customers: int) -> None:
        self.rng = random.Random(seed)
        self.rand = self.rng.random
        self.today = today
        self.device = device_id
        self.total = customers
        self.d0 = today - dt.timedelta(days=WINDOW_DAYS)
        # Dealer midnight of day 0, as naive UTC: offsets in microseconds count from here.
        self.t0 = dt.datetime.combine(self.d0, dt.time()) - DEALER_UTC_OFFSET
        self.today_day = WINDOW_DAYS
        self.pick_surname = _Pick((s, w) for s, w, _ in _SURNAMES)
        self.pinyin = {s: p for s, _, p in _SURNAMES}
        self.pick_region = _Pick(_ID_REGIONS)
        self.pick_prefix = _Pick(_MOBILE_PREFIXES)
        self.pick_district = _Pick(zip(_DISTRICTS, _DISTRICT_WEIGHTS, strict=True))
        self.pick_authority = _Pick(_PLATE_AUTHORITIES)
        self.pick_level = _Pick(_LEVELS)
        self.pick_source = _Pick((s.value, w) for s, w in _SOURCES)
        self.pick_consent_source = _Pick((s.value, w) for s, w in _CONSENT_SOURCES)
        self.pick_domain = _Pick(_MAIL_DOMAINS)
        self.pick_other = _Pick((m, m[3]) for m in _OTHER_MAKES)
        # Identifiers a real dealership never holds twice: keep them unique.
        self.phones: set[int] = set()
        self.plates: set[str] = set()
        self.vins: set[str] = set()
        self.id_numbers: set[str] = set()
        self.emails: set[str] = set()
        self.companies: set[str] = set()
        self.dealer_id = ""
        self.users: dict[str, str] = {}
        self.sales_ids: list[str] = []
        self.service_ids: list[str] = []
        self.manager_ids: list[str] = []
        self.pick_sales: _Pick | None = None
        self.trims: list[_TrimInfo] = []
        self.pick_trim: _Pick | None = None
        # trim id -> (MSRP in fen, colours (name, fen), options (code, name, fen)), for quotes
        self.trim_prices: dict[str, tuple[int, tuple, tuple]] = {}

    # --- primitives ---------------------------------------------------------------------
    # random.Random's randrange and choice cost several times more than one random() call;
    # these are the hot path of the generator and stay deterministic all the same.

    def below(self, n: int) -> int:
        """0 <= x < n."""
        return int(self.rand() * n)

    def between(self, low: int, high: int) -> int:
        """low <= x < high."""
        return low + int(self.rand() * (high - low))

    def choose(self, items: Sequence[Any]) -> Any:
        return items[int(self.rand() * len(items))]

    def sample(self, items: Sequence[Any], k: int) -> list[Any]:
        """``k`` distinct items in random order (a partial Fisher-Yates shuffle)."""
        pool = list(items)
        for i in range(k):
            j = i + int(self.rand() * (len(pool) - i))
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]

    def triangular(self, low: float, high: float, mode: float) -> float:
        """Triangular distribution, as random.triangular computes it."""
        u = self.rand()
        c = (mode - low) / (high - low)
        if u > c:
            u, c, low, high = 1.0 - u, 1.0 - c, high, low
        return low + (high - low) * math.sqrt(u * c)

    def new_id(self, us: int) -> str:
        """A UUIDv7-shaped id whose timestamp is ID_BASE_MS plus the row's time offset."""
        ms = ID_BASE_MS + us // 1000
        rand = self.rand
        # 12 + 31 + 31 random bits, from random() only (see the module docstring).
        rand_a = int(rand() * 0x1000)
        rand_b = (int(rand() * 0x8000_0000) << 31) | int(rand() * 0x8000_0000)
        value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
        h = f"{value:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def moment(self, day: int) -> int:
        """A time during showroom hours on ``day`` (days since day 0), in µs since t0."""
        return day * DAY_US + self.between(OPEN_US, CLOSE_US)

    def ts(self, us: int) -> str:
        """Stored form of a UTCDateTime: naive UTC text with microseconds."""
        return _utc_text(self.t0 + dt.timedelta(microseconds=us))

    def date(self, day: int) -> dt.date:
        return self.d0 + dt.timedelta(days=day)

    def mobile(self) -> str:
        rng = self.rng
        while True:
            number = self.pick_prefix(rng) * 100_000_000 + self.below(100_000_000)
            if number not in self.phones:
                self.phones.add(number)
                return f"+86{number}"

    def landline(self) -> str:
        while True:
            # Shenzhen (0755) numbers: eight digits, starting 2-8.
            number = 755_0000_0000 + self.between(2, 9) * 10_000_000 + self.below(10_000_000)
            if number not in self.phones:
                self.phones.add(number)
                return f"+86{number}"

    def person_name(self, male: bool) -> str:
        rng = self.rng
        surname = self.pick_surname(rng)
        chars = _MALE_CHARS if male else _FEMALE_CHARS
        roll = rng.random()
        if roll < 0.3:
            given = self.choose(chars)
        elif roll < 0.5:
            given = self.choose(_MALE_GIVEN if male else _FEMALE_GIVEN)
        else:
            given = self.choose(chars) + self.choose(chars)
        return surname + given

    def company_name(self) -> str:
        rng = self.rng
        while True:
            words = self.choose(_COMPANY_WORDS) + self.choose(_COMPANY_WORDS)
            if rng.random() < 0.3:
                words += self.choose(_COMPANY_WORDS)
            place = "深圳市" if rng.random() < 0.9 else "广东"
            name = f"{place}{words}{self.choose(_COMPANY_TRADES)}有限公司"
            if name not in self.companies:
                self.companies.add(name)
                return name

    def id_number(self, birthday: dt.date, male: bool) -> str:
        rng = self.rng
        stem = f"{birthday.year:04d}{birthday.month:02d}{birthday.day:02d}"
        while True:
            seq = self.below(1000)
            if (seq & 1) != male:  # the 17th digit is odd for men, even for women
                seq ^= 1
            first17 = f"{self.pick_region(rng)}{stem}{seq:03d}"
            number = first17 + id_check_digit(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def email(self, surname: str) -> str:
        rng = self.rng
        while True:
            if rng.random() < 0.55:
                # QQ mail: the QQ number is the mailbox, as most people in China use it.
                address = f"{self.between(10_000, 3_000_000_000)}@qq.com"
            else:
                stem = self.pinyin.get(surname, "vip")
                address = f"{stem}{self.between(1, 100_000)}@{self.pick_domain(rng)}"
            if address not in self.emails:
                self.emails.add(address)
                return address

    def wechat(self, surname: str) -> str:
        rng = self.rng
        if rng.random() < 0.6:
            return "wxid_" + "".join([self.choose(_LOWER_ALNUM) for _ in range(14)])
        return f"{self.pinyin.get(surname, 'wx')}_{self.between(100, 1_000_000)}"

    def address(self) -> str:
        rng = self.rng
        district, roads = self.pick_district(rng)
        return (
            f"广东省深圳市{district}{self.choose(roads)}{self.between(1, 3000)}号"
            f"{self.choose(_ESTATES)}{self.between(1, 30)}栋{self.between(2, 33)}"
            f"{self.between(1, 9):02d}"
        )

    def plate(self, fuel: str) -> str:
        """A unique Guangdong plate: green new-energy plates for EVs and plug-in hybrids."""
        rng = self.rng
        authority = self.pick_authority(rng)
        while True:
            if fuel in ("ev", "phev"):
                # Small new-energy plate: D for battery-electric, F for plug-in hybrids.
                marker = "D" if fuel == "ev" else "F"
                second = self.choose(_DIGITS if rng.random() < 0.7 else _PLATE_LETTERS)
                body = f"{marker}{second}{self.below(10_000):04d}"
            else:
                roll = rng.random()
                if roll < 0.35:
                    body = f"{self.below(100_000):05d}"
                else:
                    chars = [self.choose(_DIGITS) for _ in range(5)]
                    for _ in range(1 if roll < 0.75 else 2):
                        chars[self.below(3)] = self.choose(_PLATE_LETTERS)
                    body = "".join(chars)
            plate = authority + body
            if plate not in self.plates:
                self.plates.add(plate)
                return plate

    def vin(self, wmi: str, vds: str, plant: str, year: int) -> str:
        year_code = _VIN_YEAR_CODES[(year - 1980) % 30]
        while True:
            head = wmi + vds + self.choose(_VIN_CHARS) + self.choose(_VIN_CHARS)
            tail = f"{year_code}{plant}{self.below(1_000_000):06d}"
            draft = f"{head}0{tail}"
            vin = f"{head}{vin_check_digit(draft)}{tail}"
            if vin not in self.vins:
                self.vins.add(vin)
                return vin

    # --- fixed parts ----------------------------------------------------------------------

    def dealer_rows(self, existing_dealer: str | None) -> tuple[list[tuple], list[tuple]]:
        """The dealer (unless the database has one) and its staff."""
        # Set up before the showroom opened on day 0, so before any customer.
        us = 8 * HOUR_US
        stamp = self.ts(us)
        dealers = []
        if existing_dealer:
            self.dealer_id = existing_dealer
        else:
            self.dealer_id = self.new_id(us)
            dealers.append((self.dealer_id, *_DEALER, 0, 0, stamp, self.device))
        users = []
        for username, display_name, role in _STAFF:
            user_id = self.new_id(us + self.below(1_000_000))
            self.users[username] = user_id
            if role == Role.SALESPERSON:
                self.sales_ids.append(user_id)
            elif role == Role.SERVICE_ADVISOR:
                self.service_ids.append(user_id)
            elif role == Role.MANAGER:
                self.manager_ids.append(user_id)
            users.append(
                (
                    user_id,
                    self.dealer_id,
                    username,
                    display_name,
                    role.value,
                    1,
                    self.mobile(),
                    0,
                    None,
                    0,
                    0,
                    stamp,
                    self.device,
                )
            )
        self.pick_sales = _Pick(zip(self.sales_ids, _SALES_WEIGHTS, strict=True))
        return dealers, users

    def catalogue_rows(self) -> tuple[list[tuple], list[tuple], list[tuple]]:
        us = 8 * HOUR_US + HOUR_US // 2
        stamp = self.ts(us)
        trims, options, colours = [], [], []
        weights = []
        for model in _CATALOGUE:
            for name, year_offset, fuel, msrp in model["trims"]:
                trim_id = self.new_id(us)
                year = self.today.year + year_offset
                trims.append(
                    (
                        trim_id,
                        model["brand"],
                        model["model"],
                        name,
                        year,
                        FuelType(fuel).value,
                        _fen(msrp),
                        1,
                        _dealer_cost_fen(msrp),
                        0,
                        0,
                        stamp,
                        self.device,
                    )
                )
                self.trim_prices[trim_id] = (
                    _fen(msrp),
                    tuple((c[0], _fen(c[2])) for c in model["colours"]),
                    tuple((o[0], o[1], _fen(o[2])) for o in model["options"]),
                )
                for code, option_name, price in model["options"]:
                    options.append(
                        (
                            self.new_id(us),
                            trim_id,
                            code,
                            option_name,
                            _fen(price),
                            0,
                            0,
                            stamp,
                            self.device,
                        )
                    )
                for colour_name, code, price in model["colours"]:
                    colours.append(
                        (
                            self.new_id(us),
                            trim_id,
                            colour_name,
                            code,
                            _fen(price),
                            0,
                            0,
                            stamp,
                            self.device,
                        )
                    )
                info = _TrimInfo(
                    trim_id,
                    model["brand"],
                    model["model"],
                    year,
                    fuel,
                    round(Decimal(msrp) / 10_000),
                    model["wmi"],
                    model["vds"],
                    model["plant"],
                    tuple(c[0] for c in model["colours"]),
                )
                self.trims.append(info)
                weights.append(model["weight"])
        self.pick_trim = _Pick(zip(self.trims, weights, strict=True))
        return trims, options, colours

    # --- customers --------------------------------------------------------------------------

    def customers(self, start: int, count: int) -> dict[str, list[tuple]]:
        """Rows for customers number ``start`` .. ``start + count - 1`` and everything theirs."""
        rows: dict[str, list[tuple]] = {table: [] for table in CUSTOMER_TABLES}
        for index in range(start, start + count):
            self._customer(index, rows)
        return rows

    def _customer(self, index: int, rows: dict[str, list[tuple]]) -> None:
        rng = self.rng
        rand = rng.random
        between = self.between
        device = self.device
        today_day = self.today_day

        # Customers are made in creation order, spread evenly over the window, so customer ids
        # (time-ordered) grow with the row number and the customer table is written in key
        # order. Every other row's id carries the time of its own event.
        created_day = min(int((index + rand()) * WINDOW_DAYS / self.total), today_day - 1)
        created_us = self.moment(created_day)
        customer_id = self.new_id(created_us)
        created_ts = self.ts(created_us)

        level = self.pick_level(rng)
        count_range, gap_range, car_chance = _LEVEL_PLAN[level]
        company = rand() < 0.08
        source = self.pick_source(rng)
        # Some web leads still wait for a salesperson to take them on.
        assigned = (
            None if (source == "web" and level == "C" and rand() < 0.3) else (self.pick_sales(rng))
        )
        author = assigned or self.users["manager01"]
        interest = self.pick_trim(rng)

        male = rand() < 0.64
        if company:
            kind = _COMPANY
            name = self.company_name()
            contact_name = self.person_name(male)
            surname = contact_name[:2] if contact_name[:2] in self.pinyin else contact_name[0]
            gender = birthday = id_number = None
        else:
            kind = _PERSON
            name = self.person_name(male)
            contact_name = None
            surname = name[:2] if name[:2] in self.pinyin else name[0]
            gender = _MALE if male else _FEMALE
            age_days = int(self.triangular(22.1, 65.9, 34) * 365.25)
            birth = self.today - dt.timedelta(days=age_days)
            birthday = birth.isoformat()
            id_number = self.id_number(birth, male) if rand() < 0.7 else None

        email = self.email(surname) if rand() < (0.4 if company else 0.22) else None
        wechat = self.wechat(surname) if rand() < 0.38 else None
        address = self.address() if rand() < 0.65 else None

        # Phones: most customers give one mobile; some add a second mobile or a landline.
        roll = rand()
        phone_count = 1 if roll < 0.8 else (2 if roll < 0.96 else 3)
        if company and phone_count == 1 and rand() < 0.5:
            phone_count = 2
        phone_rows = rows["customer_phone"]
        for n in range(phone_count):
            if n == 0:
                number, label = self.mobile(), _MOBILE
            elif company or rand() < 0.3:
                number = self.landline()
                label = _WORK if company or rand() < 0.5 else _HOME
            else:
                number, label = self.mobile(), _MOBILE
            phone_rows.append(
                (
                    self.new_id(created_us),
                    customer_id,
                    number,
                    label,
                    1 if n == 0 else 0,
                    0,
                    0,
                    created_ts,
                    device,
                )
            )

        # Vehicles.
        vehicles: list[tuple[str, str, str]] = []  # (label for texts, plate, vin)
        bought_here_day = None
        if rand() < car_chance:
            vehicle_rows = rows["customer_vehicle"]
            for n in range(2 if rand() < (0.25 if company else 0.1) else 1):
                from_here = rand() < (0.85 if level in (None, "O") else 0.3)
                if from_here:
                    trim = interest if n == 0 else self.pick_trim(rng)
                    if level is None and n == 0:
                        # Owners bought here: between their first visit and last week.
                        latest = max(created_day, today_day - 7)
                        bought_here_day = between(created_day, latest + 1)
                        purchase = self.date(bought_here_day)
                    else:
                        purchase = self.today - dt.timedelta(days=between(30, 1500))
                    if purchase.year >= trim.model_year - 1:
                        trim_id, model_name, year = trim.id, None, trim.model_year
                    else:
                        # Older model years are not in the catalogue: free text instead.
                        trim_id = None
                        model_name = f"{trim.brand} {trim.model} {purchase.year}款"
                        year = purchase.year
                    wmi, vds, plant, fuel = trim.wmi, trim.vds, trim.plant, trim.fuel
                    colour = self.choose(trim.colours)
                    label = trim.model
                else:
                    make, wmi, fuel, _ = self.pick_other(rng)
                    purchase = self.today - dt.timedelta(days=between(200, 3650))
                    year = purchase.year
                    trim_id, model_name = None, make
                    vds = "".join([self.choose(_VIN_CHARS) for _ in range(3)])
                    plant = self.choose(_VIN_CHARS)
                    colour = self.choose(_GENERIC_COLOURS)
                    label = make.split(" ", 1)[1]
                vin = self.vin(wmi, vds, plant, year)
                plate = self.plate(fuel) if rand() < 0.97 else None
                years_owned = max((self.today - purchase).days, 1) / 365.25
                mileage = int(years_owned * between(6_000, 22_000)) // 10 * 10
                vehicle_rows.append(
                    (
                        self.new_id(created_us),
                        customer_id,
                        vin,
                        plate,
                        trim_id,
                        model_name,
                        colour,
                        purchase.isoformat(),
                        mileage,
                        0,
                        0,
                        created_ts,
                        device,
                    )
                )
                vehicles.append((label, plate or "", vin))

        # When the customer was last in touch, and the span their contacts cover (owners who
        # bought here start with the delivery, if it falls in the last two years).
        cadence = _CADENCE.get(level)
        if cadence:
            # Active leads: the open task is due one cadence after the last contact. A fifth
            # are overdue by up to a week and a fifth due today, as in any real task list.
            roll = rand()
            if roll < 0.2:
                due_day = today_day - between(1, 8)
            elif roll < 0.4:
                due_day = today_day
            else:
                due_day = today_day + between(1, cadence + 1)
            last_day = max(min(due_day - cadence, today_day - 1), created_day)
            due_day = max(due_day, last_day + 1)
        else:
            last_day = max(today_day - between(gap_range[0], gap_range[1] + 1), created_day)
        if bought_here_day is not None:
            last_day = max(last_day, bought_here_day)
        lapsed = level is None and last_day < today_day - 365
        first_day = max(created_day, today_day - INTERACTION_DAYS, last_day - between(10, 200))
        delivered_in_window = bought_here_day is not None and bought_here_day >= first_day
        if delivered_in_window:
            first_day = bought_here_day

        # Interactions, oldest first; the last one says where the customer stands now.
        n_contacts = between(count_range[0], count_range[1] + 1)
        days = sorted(between(first_day, last_day + 1) for _ in range(n_contacts - 1))
        days.append(last_day)
        if delivered_in_window:
            days[0] = bought_here_day
        elif level is not None and created_day >= today_day - INTERACTION_DAYS:
            # Registered within the history kept: the first contact is the registration.
            if len(days) > 1:
                days[0] = created_day
            elif days[0] != created_day:
                days.insert(0, created_day)
        fill = {
            "model": interest.model,
            "competitor": self.choose(_COMPETITORS),
            "budget": interest.msrp_wan,
            "referrer": self.person_name(rand() < 0.6),
            "deposit": self.choose((5000, 10000, 20000)),
            "weeks": between(2, 7),
            "months": between(3, 10),
            "days": between(2, 6),
            "km": 5000,
            "date": "",
        }
        owner_like = level is None
        if owner_like and vehicles:
            fill["model"] = vehicles[0][0]
        interaction_rows = rows["interaction"]
        follow_rows = rows["follow_up"]
        service_ids = self.service_ids
        last_us = created_us
        last_template = None
        for n, day in enumerate(days):
            us = created_us if (n == 0 and day == created_day) else self.moment(day)
            if us < last_us:
                # Several contacts on one day: keep them in order, minutes apart.
                us = last_us + between(60_000_000, 600_000_000)
            last_us = us
            user = assigned or author
            if owner_like:
                if n == 0 and delivered_in_window:
                    template = _DELIVERY
                elif n == len(days) - 1 and lapsed:
                    template = _LAPSED_LAST
                else:
                    template = self.choose(_SERVICE)
                    user = self.choose(service_ids)
            elif n == len(days) - 1 and (n or day != created_day):
                template = self.choose(_LAST_CONTACT[level])
                last_template = template
            elif n == 0 and day == created_day:
                template = self.choose(_FIRST_CONTACT[source])
            else:
                # Includes the first contact in the window of a customer registered earlier.
                template = self.choose(_SALES_FOLLOW)
            channel, direction, summary, outcome = template
            if "{" in summary:
                if "{date}" in summary:
                    appointment = self.date(day + between(2, 8))
                    fill["date"] = f"{appointment.month}月{appointment.day}日"
                if "{km}" in summary:
                    fill["km"] = between(1, 9) * 5000
                summary = summary.format_map(fill)
            interaction_id = self.new_id(us)
            stamp = self.ts(us)
            interaction_rows.append(
                (
                    interaction_id,
                    customer_id,
                    user,
                    channel,
                    direction,
                    summary,
                    outcome,
                    stamp,
                    0,
                    0,
                    stamp,
                    device,
                )
            )
            # An outbound call or message after the first contact is usually a follow-up task
            # being done: record the task, closed by this interaction.
            if n and direction == _OUT and rand() < 0.7:
                due = self.date(day - (1 if rand() < 0.2 else 0)).isoformat()
                purpose = _FOLLOW_PURPOSE.get(level, "客户关怀回访") if level else "保养提醒"
                follow_rows.append(
                    (
                        self.new_id(us - HOUR_US),
                        customer_id,
                        user,
                        due,
                        purpose,
                        1,
                        stamp,
                        outcome or summary[:40],
                        interaction_id,
                        0,
                        0,
                        stamp,
                        device,
                    )
                )

        # The open follow-up an active lead always has (due date chosen above).
        if cadence:
            follow_rows.append(
                (
                    self.new_id(last_us + 60_000_000),
                    customer_id,
                    assigned or author,
                    self.date(due_day).isoformat(),
                    f"{level}级客户跟进：{_FOLLOW_PURPOSE[level]}",
                    0,
                    None,
                    None,
                    None,
                    0,
                    0,
                    self.ts(last_us + 60_000_000),
                    device,
                )
            )
        elif level == "O" and rand() < 0.6:
            due_day = today_day + between(3, 30)
            follow_rows.append(
                (
                    self.new_id(last_us + 60_000_000),
                    customer_id,
                    assigned or author,
                    self.date(due_day).isoformat(),
                    "确认交车时间和提车资料",
                    0,
                    None,
                    None,
                    None,
                    0,
                    0,
                    self.ts(last_us + 60_000_000),
                    device,
                )
            )
        elif owner_like and not lapsed and vehicles and rand() < 0.25:
            due_day = today_day + between(-3, 45)
            follow_rows.append(
                (
                    self.new_id(last_us + 60_000_000),
                    customer_id,
                    self.choose(service_ids),
                    self.date(due_day).isoformat(),
                    "保养到期提醒",
                    0,
                    None,
                    None,
                    None,
                    0,
                    0,
                    self.ts(last_us + 60_000_000),
                    device,
                )
            )

        # Intent level history: 1-3 changes ending at the current level.
        lost_approval = None
        updated_ts = created_ts
        if level is not None:
            previous = _PREVIOUS_LEVELS[level]
            # Nobody is registered as ordered or lost: those levels come after another one.
            first = 1 if level in ("O", "F") else 0
            path = [self.choose(previous) for _ in range(between(first, 3))]
            path = [lv for i, lv in enumerate(path) if i == 0 or lv != path[i - 1]]
            if path and path[-1] == level:
                path.pop()
            path.append(level)
            # Changes happen on contact days: the first at registration, the last at the
            # latest contact.
            earlier = days[:-1] or days
            change_days = sorted(self.choose(earlier) for _ in range(len(path) - 1))
            change_days.append(last_day)
            change_rows = rows["intent_change"]
            from_level = None
            change_us = created_us
            for n, (to_level, day) in enumerate(zip(path, change_days, strict=True)):
                us = created_us + 1000 if n == 0 else max(self.moment(day), change_us + 1000)
                if n == len(path) - 1 and n:
                    us = max(us, last_us)
                change_us = us
                stamp = self.ts(us)
                approval = decided_by = decided_at = note = None
                if to_level == "F":
                    # The reason repeats what the last contact found out.
                    if last_template is _LAST_CONTACT["F"][0]:
                        reason = f"已购买{fill['competitor']}"
                    else:
                        reason = self.choose(_LOST_REASONS)
                    if rand() < 0.7 and day + 3 < today_day:
                        approval = _APPROVED
                        decided_by = self.choose(self.manager_ids)
                        decided_at = self.ts(self.moment(day + between(1, 4)))
                        note = self.choose(_APPROVAL_NOTES)
                    else:
                        approval = _PENDING
                    lost_approval = approval
                elif n == 0 and from_level is None:
                    reason = (
                        _FIRST_REASON
                        if len(path) > 1
                        else _LEVEL_REASONS.get(to_level, _FIRST_REASON)
                    )
                else:
                    reason = _LEVEL_REASONS[to_level]
                change_rows.append(
                    (
                        self.new_id(us),
                        customer_id,
                        from_level,
                        to_level,
                        reason,
                        stamp,
                        assigned or author,
                        approval,
                        decided_by,
                        decided_at,
                        note,
                        0,
                        0,
                        decided_at or stamp,
                        device,
                    )
                )
                from_level = to_level
                updated_ts = decided_at or stamp

        # Lifecycle stage follows the level the way the services move it.
        if level is None:
            stage = LifecycleStage.LAPSED if lapsed else LifecycleStage.OWNER
        elif level == "O":
            stage = LifecycleStage.CUSTOMER
        elif level == "F" and lost_approval == _APPROVED:
            stage = LifecycleStage.LOST
        elif vehicles:
            # Adding a vehicle to a prospect makes them an owner (customers.add_vehicle).
            stage = LifecycleStage.OWNER
        elif level in ("H", "A") or (level == "B" and rand() < 0.6):
            stage = LifecycleStage.EVALUATING
        else:
            stage = LifecycleStage.PROSPECT
        expected = self.date(today_day + between(30, 181)).isoformat() if level == "C" else None
        vip = rand() < (0.07 if level is None else 0.015)
        if company and rand() < 0.5:
            notes = _COMPANY_NOTE
        else:
            notes = self.choose(_NOTES) if rand() < 0.15 else None

        # Consents, asked for when the customer was registered.
        pairs = [p for p in _CONSENT_PAIRS if email or p[0] != _EMAIL_CHANNEL]
        consent_rows = rows["consent"]
        for pair in self.sample(pairs, between(1, 5)):
            us = created_us + between(60_000_000, 1_800_000_000)
            stamp = self.ts(us)
            consent_rows.append(
                (
                    self.new_id(us),
                    customer_id,
                    pair[0],
                    pair[1],
                    1 if rand() < 0.85 else 0,
                    stamp,
                    self.pick_consent_source(rng),
                    author,
                    0,
                    0,
                    stamp,
                    device,
                )
            )

        rows["customer"].append(
            (
                customer_id,
                kind,
                name,
                contact_name,
                email,
                wechat,
                gender,
                birthday,
                address,
                id_number,
                source,
                assigned,
                level,
                lost_approval,
                expected,
                stage.value,
                1 if vip else 0,
                notes,
                created_ts,
                author if source != "web" else None,
                0,
                0,
                updated_ts,
                device,
            )
        )


# Quotes: which customers get one, what happens to it, and what goes on it.
_QUOTE_SHARE = {"H": 0.25, "A": 0.12, "B": 0.05, "O": 0.15}
# (status, weight). Each status gets the dates and the discount that lead to it.
_QUOTE_STATUSES = (
    ("draft", 25),
    ("pending_approval", 12),
    ("approved", 13),
    ("issued", 28),
    ("expired", 12),
    ("cancelled", 10),
)
_QUOTE_LIMIT_FEN = 300_000  # the default discount limit, 3,000 CNY
_QUOTE_NOTES = (
    "赠送首保一次及原厂脚垫",
    "客户希望月底前提车",
    "置换旧车，旧车评估另议",
    "贷款购车，首付三成",
    None,
    None,
    None,
)
_REJECTIONS = ("本月优惠额度已用完，请控制在3000元以内", "请先确认客户置换车辆再报")


class _QuoteMaker:
    """Quotes for a share of the customers, from a random sequence of their own.

    It reuses a :class:`_Generator` for the primitives (ids, times, choices) on a second
    ``random.Random`` derived from the seed, so the customers' own rows stay as they were.
    """

    def __init__(self, gen: _Generator, seed: int) -> None:
        from showroom.services.quotes import device_code

        self.gen = gen
        self.r = _Generator(seed * 7919 + 104_729, gen.today, gen.device, 1)
        self.code = device_code(gen.device)
        self.sequence: dict[dt.date, int] = {}
        self.pick_status = _Pick(_QUOTE_STATUSES)
        self.trim_ids = list(gen.trim_prices)
        self.fuel = {t.id: t.fuel for t in gen.trims}

    def quotes(self, customer_rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
        """Quote and line rows for the customers of one chunk (in creation order)."""
        quotes: list[tuple] = []
        lines: list[tuple] = []
        r = self.r
        for row in customer_rows:
            share = _QUOTE_SHARE.get(row[12])
            if share is None or r.rand() >= share:
                continue
            created = dt.datetime.fromisoformat(row[18])
            created_day = (created - self.gen.t0) // dt.timedelta(days=1)
            self._quote(row[0], row[11], created_day, quotes, lines)
            if r.rand() < 0.3:  # compared two trims, or came back for a second offer
                self._quote(row[0], row[11], created_day, quotes, lines)
        return quotes, lines

    def _quote(self, customer_id, salesperson, created_day, quotes, lines) -> None:
        r, gen = self.r, self.gen
        salesperson = salesperson or r.choose(gen.sales_ids)
        status = self.pick_status(r.rng)
        today = gen.today_day
        if status == "expired":
            day = today - r.between(9, 60)
        elif status in ("issued", "cancelled"):
            day = today - r.between(0, 7)
        else:
            day = today - r.between(0, 5)
        day = max(day, created_day)
        if status != "expired" and day + 7 < today:
            status = "expired"  # a customer registered long ago, quoted then
        us = gen.moment(day)
        if us <= (created_day * DAY_US) + OPEN_US:
            us = created_day * DAY_US + CLOSE_US - 60_000_000
        stamp = gen.ts(us)
        quote_date = gen.date(day)
        self.sequence[quote_date] = self.sequence.get(quote_date, 0) + 1
        number = f"Q{quote_date:%Y%m%d}-{self.code}-{self.sequence[quote_date]:04d}"

        trim_id = r.choose(self.trim_ids)
        msrp, colours, options = gen.trim_prices[trim_id]
        colour, colour_fen = r.choose(colours)
        picked = r.sample(options, r.between(0, min(2, len(options)) + 1))
        subtotal = msrp + colour_fen + sum(o[2] for o in picked)
        # Above the limit: 3,500 up to about 6% of the list price (at most 15,000).
        large = r.between(7, max(8, min(31, msrp * 6 // 100 // 50_000 + 1))) * 50_000
        if status in ("pending_approval", "approved"):
            discount = large
        elif status == "draft" and r.rand() < 0.3:
            discount = large  # refused by a manager
        else:
            discount = r.between(0, 7) * 50_000  # up to 3,000: no approval needed
            if status == "issued" and r.rand() < 0.3:
                discount = large
        over = discount > _QUOTE_LIMIT_FEN

        from showroom.services.quotes import (
            LINE_FIELDS,
            approval_signature,
            copy_of_print,
            issued_snapshot,
            purchase_tax,
        )

        quote_id = r.new_id(us)
        rows: list[tuple] = []
        if colour_fen:
            rows.append(("colour", None, f"车身颜色：{colour}", 1, colour_fen))
        for code, name, price in sorted(picked):
            rows.append(("option", code, name, 1, price))
        rows.append(("insurance", None, "交强险+商业险（第一年）", 1, r.between(45, 95) * 10_000))
        rows.append(("registration", None, "上牌服务费", 1, 80_000))
        tax = purchase_tax(Decimal(subtotal - discount) / 100, self.fuel[trim_id], quote_date)
        if tax:
            rows.append(("purchase_tax", None, "车辆购置税", 1, int(tax * 100)))
        if r.rand() < 0.4:
            rows.append(("accessory", None, "原厂脚垫+行车记录仪", 1, 180_000))
        fees = sum(x[3] * x[4] for x in rows if x[0] not in ("colour", "option"))
        for position, (kind, code, description, quantity, price) in enumerate(rows):
            lines.append(
                (r.new_id(us), quote_id, kind, code, description, quantity, price, position, 0, 0,
                 stamp, gen.device)
            )  # fmt: skip

        approved_by = approved_at = rejection = issued_at = None
        if over and status in ("approved", "issued", "expired", "cancelled"):
            approved_by = r.choose(gen.manager_ids)
            approved_at = gen.ts(us + r.between(600_000_000, 7_200_000_000))
        if over and status == "draft":
            rejection = r.choose(_REJECTIONS)
        if over and status == "expired" and r.rand() < 0.5:
            approved_by = approved_at = None
        if status == "issued":
            issued_at = gen.ts(us + 7_300_000_000)
        valid_until = gen.date(day + 7).isoformat()
        if status == "expired":  # stored as it was left; the date makes it read "expired"
            stored = "approved" if approved_by else ("pending_approval" if over else "draft")
        else:
            stored = status
        held = [dict(zip(LINE_FIELDS, (*x[:4], Decimal(x[4]) / 100), strict=True)) for x in rows]
        signature = snapshot = None
        if approved_by:
            signature = approval_signature(
                trim_id, Decimal(msrp) / 100, Decimal(discount) / 100, held
            )
        note = r.choose(_QUOTE_NOTES)
        cost = _dealer_cost_fen(str(Decimal(msrp) / 100))
        if status == "issued":
            printed = copy_of_print(
                trim_id=trim_id,
                colour=colour,
                vehicle_price=Decimal(msrp) / 100,
                discount=Decimal(discount) / 100,
                total=Decimal(subtotal - discount + fees) / 100,
                valid_until=valid_until,
                notes=note,
                lines=held,
            )
            snapshot = issued_snapshot(printed)
        quotes.append(
            (
                quote_id,
                number,
                customer_id,
                salesperson,
                trim_id,
                colour,
                msrp,
                discount,
                subtotal - discount + fees,
                cost,
                valid_until,
                stored,
                approved_by,
                approved_at,
                signature,
                rejection,
                issued_at,
                snapshot,
                note,
                stamp,
                salesperson,
                0,
                0,
                issued_at or approved_at or stamp,
                gen.device,
            )
        )  # fmt: skip


@contextlib.contextmanager
def _indexes_deferred(conn: Connection, tables: Sequence[str]) -> Iterator[None]:
    """Drop the secondary indexes of ``tables`` for the block, then recreate them as they were.

    Bulk loading into indexed tables inserts into every index in the order the rows come,
    which for most indexes here (VIN, e-mail, owner and due date, the search key's ``doc``...)
    is random. With SQLite's default 2 MB page cache nearly every such insert misses the cache:
    at 100,000 customers that made up over half of the run (the search key's ``doc`` index
    alone 27 s of 59 s). Building each index once at the end is a single sort instead.

    The indexes are recreated from their own stored definitions, inside the caller's
    transaction, so the schema ends exactly as the migrations made it; if anything fails, the
    rollback restores them too. Automatic indexes (primary keys, UNIQUE) stay in place, and
    with them every foreign key check.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    marks = ", ".join("?" for _ in tables)
    indexes = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        f" AND tbl_name IN ({marks}) ORDER BY name",
        tuple(tables),
    ).all()
    for name, _ in indexes:
        conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')
    yield
    for name, sql in indexes:
        # Whatever ran in the block may have recreated an index itself already.
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
        ).first()
        if exists is None:
            conn.exec_driver_sql(sql)


def _check_encodings(conn: Connection, tables: dict[str, Table]) -> None:
    """Fail loudly if the column types would store a value differently from the rows here.

    Rows are written with the raw driver, bypassing the TypeDecorators, so their encoding is
    compared with what the types' own bind processors make of the same values.
    """
    dialect = conn.dialect
    sample = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    checks = (
        (tables["customer"].c.created_at, sample, _utc_text(sample.replace(tzinfo=None))),
        (
            tables["customer"].c.created_at,
            sample.replace(microsecond=0),
            _utc_text(sample.replace(tzinfo=None, microsecond=0)),
        ),
        (tables["catalogue_trim"].c.msrp, Decimal("139900.00"), _fen("139900.00")),
        (tables["customer"].c.birthday, dt.date(1990, 1, 2), "1990-01-02"),
        (tables["customer"].c.vip, True, 1),
    )
    for column, value, ours in checks:
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        theirs = process(value) if process else value
        if theirs != ours:
            raise RuntimeError(
                f"demo data encodes {column} as {ours!r} but the column type stores {theirs!r}"
            )
    for table, columns in _COLUMNS.items():
        known = set(tables[table].c.keys())
        unknown = set(columns) - known
        required = {
            c.name
            for c in tables[table].c
            if not c.nullable and c.server_default is None and c.name not in columns
        }
        if unknown or required:
            raise RuntimeError(
                f"demo data is out of date for table {table}: "
                f"unknown {sorted(unknown)}, missing {sorted(required)}"
            )


def generate_demo_data(
    db: Database,
    customers: int,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
    *,
    today: dt.date | None = None,
) -> DemoSummary:
    """Fill ``db`` with a demo dealership and ``customers`` customers; return what was written.

    ``db`` must be migrated and hold no customer. ``today`` (default: the local date) anchors
    every date; with the same ``seed`` and ``today`` the rows are identical, ids included.
    ``progress(done, total)`` is called on the calling thread with ``done`` 0 first, growing
    after each chunk of customers, and ``done == total`` last; the units are abstract (one per
    customer written, then a share for the search index). Staff are attached to the database's
    dealer if it has one; otherwise the demo dealer is created.

    Everything is written in one transaction: on any error nothing is left behind.

    Raises ValidationError("customers") unless 1 <= customers <= 2,000,000, and
    ValidationError("db") if the database already has customers or staff with the demo's
    usernames.
    """
    if (
        isinstance(customers, bool)
        or not isinstance(customers, int)
        or not (1 <= customers <= MAX_CUSTOMERS)
    ):
        raise ValidationError(
            "customers",
            f"客户数量必须是 1 到 {MAX_CUSTOMERS:,} 之间的整数，实际为 {customers!r}。",
            f"The number of customers must be a whole number from 1 to {MAX_CUSTOMERS:,}; "
            f"got {customers!r}.",
        )
    from showroom.models import (
        Consent,
        Customer,
        CustomerPhone,
        CustomerVehicle,
        Dealer,
        FollowUp,
        IntentChange,
        Interaction,
        Quote,
        QuoteLine,
        Trim,
        TrimColour,
        TrimOption,
        User,
    )
    from showroom.search import rebuild_search_index

    tables: dict[str, Table] = {
        m.__tablename__: m.__table__
        for m in (
            Dealer,
            User,
            Trim,
            TrimOption,
            TrimColour,
            Customer,
            CustomerPhone,
            CustomerVehicle,
            Interaction,
            FollowUp,
            IntentChange,
            Consent,
            Quote,
            QuoteLine,
        )
    }
    started = time.perf_counter()
    today = today or dt.date.today()
    # Rebuilding the search index and the deferred indexes takes about 60% of the run
    # (measured at 100,000 and 1,000,000 customers): weigh it so the bar moves evenly.
    index_units = max(1, customers * 3 // 2)
    total_units = customers + index_units
    counts = dict.fromkeys(_COLUMNS, 0)

    engine = db.engine.execution_options(sqlite_begin="IMMEDIATE")
    with engine.begin() as conn:
        _check_encodings(conn, tables)
        if conn.execute(text("SELECT EXISTS (SELECT 1 FROM customer)")).scalar():
            raise ValidationError(
                "db",
                "数据库中已有客户：演示数据只能生成到没有客户的新数据库中。",
                "The database already holds customers; demo data can only be generated into "
                "a database without any.",
            )
        taken = (
            conn.execute(
                text(
                    "SELECT username FROM app_user WHERE username IN ({})".format(
                        ", ".join(f"'{u}'" for u, _, _ in _STAFF)
                    )
                )
            )
            .scalars()
            .all()
        )
        if taken:
            raise ValidationError(
                "db",
                f"数据库中已有同名用户：{'、'.join(sorted(taken))}，无法生成演示员工。",
                f"The database already has users named {', '.join(sorted(taken))}; the demo "
                "staff cannot be added.",
            )
        existing_dealer = conn.execute(
            text("SELECT id FROM dealer WHERE NOT deleted ORDER BY id LIMIT 1")
        ).scalar()

        gen = _Generator(seed, today, db.device_id, customers)

        def write(table: str, rows: Sequence[tuple]) -> None:
            if rows:
                conn.exec_driver_sql(_insert_sql(table), rows)
                counts[table] += len(rows)

        if progress:
            progress(0, total_units)
        dealers, users = gen.dealer_rows(existing_dealer)
        write("dealer", dealers)
        write("app_user", users)
        trims, options, colours = gen.catalogue_rows()
        write("catalogue_trim", trims)
        write("catalogue_option", options)
        write("catalogue_colour", colours)
        quote_maker = _QuoteMaker(gen, seed)

        with _indexes_deferred(conn, (*CUSTOMER_TABLES, "search_key")):
            for start in range(0, customers, CHUNK_CUSTOMERS):
                chunk = gen.customers(start, min(CHUNK_CUSTOMERS, customers - start))
                for table in CUSTOMER_TABLES:
                    write(table, chunk[table])
                quote_rows, line_rows = quote_maker.quotes(chunk["customer"])
                write("quote", quote_rows)
                write("quote_line", line_rows)
                del chunk
                if progress:
                    progress(min(start + CHUNK_CUSTOMERS, customers), total_units)
            del (
                gen,
                quote_maker,
            )  # its uniqueness sets are large; free them before the index needs memory
            search_keys = rebuild_search_index(conn)
        conn.exec_driver_sql(
            "INSERT INTO local_state (key, value) VALUES ('demo', '1') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
    if progress:
        progress(total_units, total_units)

    return DemoSummary(
        seed=seed,
        today=today,
        seconds=time.perf_counter() - started,
        dealers=counts["dealer"],
        users=counts["app_user"],
        trims=counts["catalogue_trim"],
        trim_options=counts["catalogue_option"],
        trim_colours=counts["catalogue_colour"],
        customers=counts["customer"],
        customer_phones=counts["customer_phone"],
        customer_vehicles=counts["customer_vehicle"],
        interactions=counts["interaction"],
        follow_ups=counts["follow_up"],
        intent_changes=counts["intent_change"],
        consents=counts["consent"],
        search_keys=search_keys,
        quotes=counts["quote"],
        quote_lines=counts["quote_line"],
    )
