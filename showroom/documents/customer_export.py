"""The readable PDF of a customer's data export (PIPL access request), in Chinese.

Rendered from the same data as the JSON export (``showroom.services.privacy``), so the two always
agree. Values are printed in full: the document is for the customer themself.
"""

from __future__ import annotations

from typing import Any

from showroom.documents import quote as quote_document
from showroom.documents.base import DocumentRenderer, Letterhead, local_time

_CODES = {
    "kind": {"person": "个人", "company": "公司"},
    "gender": {"male": "男", "female": "女"},
    "source": {"walk_in": "到店", "phone": "来电", "web": "网络", "referral": "转介绍",
               "event": "活动"},
    "lifecycle_stage": {"prospect": "潜在客户", "evaluating": "评估中", "customer": "已购车",
                        "owner": "保有客户", "lapsed": "流失", "lost": "战败"},
    "channel": {"visit": "到店", "phone": "电话", "sms": "短信", "wechat": "微信",
                "email": "邮件", "other": "其他"},
    "direction": {"inbound": "客户联系", "outbound": "我方联系"},
    "purpose": {"sales": "销售", "service_reminders": "保养提醒", "marketing": "营销关怀",
                "surveys": "满意度调查"},
    "consent_source": {"paper_form": "纸质表格", "verbal": "口头", "web": "网络", "wechat": "微信",
                       "other": "其他"},
    "label": {"mobile": "手机", "home": "住宅", "work": "工作", "other": "其他"},
    "status": {"booked": "已预约", "done": "已完成", "cancelled": "已取消"},
    "quote_status": {"draft": "草稿", "pending_approval": "需审批", "approved": "已批准",
                     "issued": "已出具", "expired": "已过期", "cancelled": "已取消"},
    "action": {"reveal_id_number": "查看完整证件号", "reveal_phone": "查看完整电话",
               "print": "打印", "export": "导出", "merge": "合并", "delete": "删除",
               "consent": "变更授权", "role": "变更角色", "erase": "删除个人信息",
               "user": "用户管理", "login_failed": "登录失败", "lockout": "账户锁定",
               "discount": "审批优惠", "quote_split": "恢复已打印报价并另存修改",
               "password": "修改本人密码"},
    "line_kind": quote_document._KINDS,
    "role": {"salesperson": "销售顾问", "service_advisor": "服务顾问", "manager": "经理",
             "admin": "管理员"},
}  # fmt: skip


def _code(kind: str, value: Any) -> str:
    if value in (None, ""):
        return ""
    return _CODES.get(kind, {}).get(str(value), str(value))


def _phone(e164: str) -> str:
    from showroom.validation import format_phone

    try:
        return format_phone(e164)
    except ValueError:
        return e164


def _yuan(value: Any) -> str:
    """A wire amount ("219900.00") as "¥219,900.00"."""
    from decimal import Decimal, InvalidOperation

    from showroom.money import format_cny

    if value in (None, ""):
        return ""
    try:
        return format_cny(Decimal(str(value)))
    except InvalidOperation:
        return str(value)


def _vehicle(quote: dict[str, Any]) -> str:
    v = quote.get("vehicle") or {}
    name = " ".join(str(v[k]) for k in ("brand", "model", "trim") if v.get(k))
    if v.get("model_year"):
        name += f"（{v['model_year']}款）"
    return name


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


class CustomerExportDocument(DocumentRenderer):
    """个人信息副本: every section of the export, each as a table."""

    title = "个人信息副本"

    def __init__(self, data: dict[str, Any]) -> None:
        dealer = data.get("dealer") or {}
        super().__init__(
            Letterhead(
                name=dealer.get("name") or "",
                address=dealer.get("address"),
                phone=dealer.get("phone"),
            )
        )
        self.data = data
        self.staff: dict[str, str] = data.get("staff") or {}

    def _who(self, user_id: str | None) -> str:
        if not user_id:
            return ""
        return self.staff.get(user_id, "前同事")

    def story(self) -> list:
        from reportlab.platypus import Spacer

        d = self.data
        c = d["customer"]
        out: list = [
            self.paragraph(f"{self.title}：{c.get('name', '')}", "title"),
            self.paragraph(
                "应您依据《中华人民共和国个人信息保护法》提出的请求，以下列出本店保存的您的全部"
                "个人信息及相关记录。如有疑问或需更正、删除，请联系本店。",
                "small",
            ),
            self.paragraph(
                f"导出时间：{local_time(d.get('exported_at'))}    "
                f"经办人：{(d.get('exported_by') or {}).get('name', '')}    "
                f"客户编号：{c.get('id', '')}",
                "small",
            ),
            Spacer(1, 6),
            *self.section("基本信息"),
            self.fields(
                [
                    ("姓名", _text(c.get("name"))),
                    ("类型", _code("kind", c.get("kind"))),
                    ("联系人", _text(c.get("contact_name"))),
                    ("性别", _code("gender", c.get("gender"))),
                    ("生日", _text(c.get("birthday"))),
                    ("证件号码", _text(c.get("id_number"))),
                    ("电子邮箱", _text(c.get("email"))),
                    ("微信号", _text(c.get("wechat_id"))),
                    ("地址", _text(c.get("address"))),
                    ("来源", _code("source", c.get("source"))),
                    ("意向级别", _text(c.get("intent_level"))),
                    ("客户阶段", _code("lifecycle_stage", c.get("lifecycle_stage"))),
                    ("销售顾问", self._who(c.get("assigned_to_id"))),
                    ("建档时间", local_time(c.get("created_at"))),
                    ("备注", _text(c.get("notes"))),
                    ("VIP", _text(c.get("vip"))),
                ]
            ),
        ]
        sections = [
            (
                "电话",
                ["号码", "类型", "首选"],
                [[_phone(p["number"]), _code("label", p["label"]), _text(p["is_primary"])]
                 for p in d["phones"]],
                [0.5, 0.25, 0.25],
            ),
            (
                "车辆",
                ["车型", "车架号", "车牌", "颜色", "购车日期", "里程（公里）"],
                [[_text(v["model_name"]), _text(v["vin"]), _text(v["plate"]), _text(v["colour"]),
                  _text(v["purchase_date"]), _text(v["mileage_km"])] for v in d["vehicles"]],
                [0.18, 0.26, 0.14, 0.1, 0.16, 0.16],
            ),
            (
                "个人信息使用授权",
                ["渠道", "用途", "是否同意", "时间", "方式", "记录人"],
                [[_code("channel", x["channel"]), _code("purpose", x["purpose"]),
                  "同意" if x["granted"] else "不同意", local_time(x["given_at"]),
                  _code("consent_source", x["source"]), self._who(x["recorded_by_id"])]
                 for x in d["consents"]],
                [0.1, 0.18, 0.12, 0.22, 0.16, 0.22],
            ),
            (
                "接触记录",
                ["时间", "方式", "方向", "内容", "结果", "接待人"],
                [[local_time(i["occurred_at"]), _code("channel", i["channel"]),
                  _code("direction", i["direction"]), _text(i["summary"]), _text(i["outcome"]),
                  self._who(i["user_id"])] for i in d["interactions"]],
                [0.17, 0.08, 0.11, 0.34, 0.16, 0.14],
            ),
            (
                "跟进任务",
                ["日期", "事项", "已完成", "结果", "负责人"],
                [[_text(f["due"]), _text(f["purpose"]), _text(f["done"]), _text(f["outcome"]),
                  self._who(f["owner_id"])] for f in d["follow_ups"]],
                [0.14, 0.34, 0.1, 0.28, 0.14],
            ),
            (
                "意向级别变更",
                ["时间", "原级别", "新级别", "原因", "操作人"],
                [[local_time(h["changed_at"]), _text(h["from_level"]), _text(h["to_level"]),
                  _text(h["reason"]), self._who(h["changed_by_id"])]
                 for h in d["intent_history"]],
                [0.2, 0.1, 0.1, 0.44, 0.16],
            ),
            (
                "试驾",
                ["开始", "结束", "试驾车", "状态", "备注"],
                [[local_time(t["starts_at"]), local_time(t["ends_at"]), _text(t["demo_car"]),
                  _code("status", t["status"]), _text(t["notes"])] for t in d["test_drives"]],
                [0.19, 0.19, 0.16, 0.12, 0.34],
            ),
        ]  # fmt: skip
        records = [
            (
                "合并的重复档案",
                ["被合并档案编号", "合并时间"],
                [[m["merged_id"], local_time(m["merged_at"])] for m in d["merged_records"]],
                [0.6, 0.4],
            ),
            (
                "个人信息访问与处理记录",
                ["时间", "操作", "操作人", "角色"],
                [[local_time(e["at"]), _code("action", e["action"]), _text(e["actor_name"]),
                  _code("role", e["actor_role"])] for e in d["audit_entries"]],
                [0.24, 0.36, 0.22, 0.18],
            ),
        ]  # fmt: skip
        for heading, header, rows, widths in sections:
            out.extend(self.listing(heading, header, rows, widths))
        out.extend(self.quotes(d.get("quotes") or []))
        for heading, header, rows, widths in records:
            out.extend(self.listing(heading, header, rows, widths))
        return out

    def listing(self, heading: str, header: list[str], rows: list[list[str]], widths) -> list:
        """A titled table, or "无记录" under the title."""
        if rows:
            return [*self.section(heading), self.table(header, rows, widths)]
        return [*self.section(heading), self.paragraph("无记录", "small")]

    def quotes(self, quotes: list[dict[str, Any]]) -> list:
        """报价单: each quote's particulars, then its lines."""
        from reportlab.platypus import KeepTogether, Spacer

        out: list = self.section("报价单")
        if not quotes:
            out.append(self.paragraph("无记录", "small"))
            return out
        for q in quotes:
            status = "expired" if q.get("expired") else q.get("status")
            head = [
                self.paragraph(f"报价单 {q.get('number', '')}", "body"),
                self.fields(
                    [
                        ("报价日期", local_time(q.get("created_at"))),
                        ("有效期至", _text(q.get("valid_until"))),
                        ("车型", _vehicle(q)),
                        ("颜色", _text(q.get("colour"))),
                        ("车辆指导价", _yuan(q.get("vehicle_price"))),
                        ("优惠", _yuan(q.get("discount"))),
                        ("报价总额", _yuan(q.get("total"))),
                        ("状态", _code("quote_status", status)),
                        ("销售顾问", self._who(q.get("salesperson_id"))),
                        ("优惠审批人", self._who(q.get("approved_by_id"))),
                        ("审批时间", local_time(q.get("approved_at"))),
                        ("出具时间", local_time(q.get("issued_at"))),
                        ("未批准原因", _text(q.get("rejection_reason"))),
                        ("备注", _text(q.get("notes"))),
                    ]
                ),
            ]
            lines = [
                [_code("line_kind", x.get("kind")), _text(x.get("description")),
                 _text(x.get("quantity")), _yuan(x.get("unit_price")), _yuan(x.get("amount"))]
                for x in q.get("lines") or []
            ]  # fmt: skip
            if lines:
                head.append(
                    self.table(
                        ["项目", "说明", "数量", "单价", "金额"],
                        lines,
                        [0.16, 0.42, 0.1, 0.16, 0.16],
                    )
                )
            out.append(KeepTogether([*head, Spacer(1, 6)]))
        return out


def render_customer_export(data: dict[str, Any]) -> bytes:
    """The PDF for the JSON-ready export data (``CustomerExport.data``)."""
    return CustomerExportDocument(data).render()
