"""Every Chinese text of the console that is not in a template, one section per page."""

from __future__ import annotations

APP_NAME = "政协委员履职助手 · 工作台"

# ---- navigation and page titles ------------------------------------------------------------------
NAV = (
    ("home", "总览"),
    ("kb", "知识库"),
    ("qa", "问答"),
    ("members", "委员"),
    ("quiz", "题库"),
    ("audit", "操作记录"),
)
TITLE_HOME = "总览"
TITLE_KB = "知识库"
TITLE_DOC = "文档：{source}"
TITLE_QA = "问答"
TITLE_QUESTIONS = "问题列表"
TITLE_MEMBERS = "委员"
TITLE_MEMBER = "委员：{name}"
TITLE_IMPORT = "导入名单"
TITLE_AUDIT = "操作记录"
TITLE_SIGNIN = "登录工作台"
TITLE_LIST = "列表"
TITLE_CHECKINS = "本周学习打卡"
TITLE_PROPOSALS = "办理中的建议"
TITLE_BROADCASTS = "进行中的通知"
TITLE_QUIZ = "题库（每日一题）"

# ---- sign-in -----------------------------------------------------------------------------------
SIGNIN_HOWTO = "请在与机器人的私聊中发送 /console，点击收到的登录链接（10 分钟内有效，只能使用一次）。"
SIGNIN_CONFIRM = "{name}，您好。点击下方按钮登录工作台。"
SIGNIN_BUTTON = "登录"
LINK_INVALID = "登录链接无效。请在机器人私聊中发送 /console 获取新的链接。"
LINK_EXPIRED = "登录链接已过期（有效期 10 分钟）。请发送 /console 获取新的链接。"
LINK_USED = "这个登录链接已经用过了。请发送 /console 获取新的链接。"
LINK_FORBIDDEN = "您的账号没有使用工作台的权限。"
TOO_MANY = "尝试次数过多，请稍后再试。"
SIGNED_OUT = "您已退出登录。"
SESSION_ENDED = "登录已失效（长时间未操作或已退出），请重新登录。"
CSRF_FAILED = "页面已过期或请求来源不明，操作未执行。请刷新页面后重试。"
NOT_FOUND = "找不到这个页面或记录。"
FORBIDDEN_ADMIN = "只有管理员可以执行这个操作。"
SIGN_OUT = "退出"

# ---- flash messages (keys in the redirect URL; never user text) ---------------------------------
FLASH: dict[str, str] = {
    "signed_in": "登录成功。",
    "uploaded": "已导入 {n} 个文件，机器人几秒内即可引用。",
    "upload_partial": "已导入 {n} 个文件，{m} 个未导入（见下方原因）。",
    "removed": "文档已移除，机器人不再引用它。",
    "faq_saved": "问答已保存，机器人立即使用。",
    "faq_retired": "问答已停用。",
    "faq_restored": "问答已恢复使用。",
    "gap_handled": "已标记为处理完毕。",
    "gap_faq": "已转为常见问答，并标记为处理完毕。",
    "imported": "名单已导入：新增 {n} 人，更新 {m} 人。",
    "deactivated": "已停用。",
    "reactivated": "已恢复。",
    "role_changed": "角色已修改。",
    "invite_renewed": "已生成新的邀请码，旧邀请码作废。",
    "import_expired": "导入预览已失效，请重新上传。",
    "self_forbidden": "不能停用自己或修改自己的角色。",
    "quiz_approved": "题目已通过，委员从现在起可以答到它。",
    "quiz_rejected": "题目已驳回。",
    "quiz_reviewed": "这道题已经审核过了，未作改动。",
    "quiz_added": "题目已添加并上线。",
    "quiz_added_draft": "题目已添加，等待把关人审核后上线。",
}

# ---- overview ------------------------------------------------------------------------------------
WEEK_RANGE = "本周（{start} 至 {end}）"

# ---- knowledge base -------------------------------------------------------------------------------
UPLOAD_TOO_BIG = "文件过大（上限 {limit} MB）"
UPLOAD_BAD_TYPE = "不支持的文件类型（只接受 .md .txt .docx .pdf .html）"
UPLOAD_BAD_CONTENT = "文件内容与扩展名不符"
UPLOAD_BAD_NAME = "文件名无效"
UPLOAD_EMPTY = "文件是空的"
UPLOAD_NO_FILES = "请选择要上传的文件"
UPLOAD_FAILED = "导入失败：{reason}"
KB_UNAVAILABLE = "知识库当前不可用。"
NO_EMBEDDER = "嵌入模型不可用，无法导入文件。"
MODE_LABELS = {
    "answer": "作答", "uncertain": "不确定", "refused": "拒答", "faq": "常见问答", "unavailable": "知识库不可用",
}
UNKNOWN = "—"

# ---- Q&A -----------------------------------------------------------------------------------------
FAQ_EMPTY_FIELDS = "问题和答案都不能为空。"
FAQ_TOO_LONG = "问题最多 500 字，答案最多 3000 字。"
OUTCOME_LABELS = {
    "answered": "已作答", "uncertain": "不确定", "refused": "拒答", "useless": "没用", "gap": "待处理",
}

# ---- members --------------------------------------------------------------------------------------
ROLE_LABELS = {"member": "委员", "staff": "工作人员", "reviewer": "把关人", "admin": "管理员"}
BOUND = "已绑定"
UNBOUND = "待绑定"
ACTIVE = "正常"
INACTIVE = "已停用"
BLOCKED = "已屏蔽机器人"
IMPORT_BAD_FILE = "请上传 .csv 或 .xlsx 文件"
IMPORT_TOO_BIG = "文件过大（上限 2 MB）"
IMPORT_XLSX_BAD = "无法读取这个 Excel 文件"
LINE = "第 {line} 行"
WHOLE_FILE = "文件"

# ---- audit ----------------------------------------------------------------------------------------
ACTION_LABELS = {
    "console.signin": "登录工作台",
    "console.link": "生成登录链接",
    "kb.upload": "上传文档",
    "kb.remove": "移除文档",
    "faq.save": "保存常见问答",
    "faq.edit": "修改常见问答",
    "faq.retire": "停用常见问答",
    "faq.restore": "恢复常见问答",
    "gap.handled": "处理未答问题",
    "members.import": "导入名单",
    "member.deactivate": "停用成员",
    "member.reactivate": "恢复成员",
    "member.role": "修改角色",
    "member.invite": "重新生成邀请码",
    "broadcast.create": "发布通知",
    "credits.adjust": "调整积分",
    "credits.dispute_resolve": "处理积分申诉",
    "credits.event_create": "新建线下活动",
    "credits.attendance_mark": "补记签到",
    "proposal.accept": "受理建议",
    "proposal.reject": "不予受理",
    "proposal.assign": "交办建议",
    "proposal.answer": "答复建议",
    "proposal.merge": "合并建议",
    "proposal.convert": "转社情民意",
    "proposal.adopt": "采纳建议",
    "quiz.add": "添加题目",
    "quiz.approve": "通过题目",
    "quiz.reject": "驳回题目",
}

# ---- quiz (题库) -----------------------------------------------------------------------------------
QUIZ_STATUS_LABELS = {"draft": "待审核", "approved": "已通过", "rejected": "已驳回"}
QUIZ_KIND_LABELS = {"cloze": "填空", "choice": "选择"}
QUIZ_ORIGIN_LABELS = {"generated": "自动生成", "staff": "工作人员添加"}
QUIZ_REVIEW_ONLY = "只有把关人或管理员可以审核题目。"
QUIZ_ERRORS = {
    "kind": "题型无效。",
    "stem": "题干不能为空，最多 500 字。",
    "options": "请填写 2 到 4 个选项，每个最多 200 字。",
    "duplicate": "选项不能重复。",
    "answer": "请选择正确答案（必须是已填写的选项）。",
    "forbidden": "没有添加题目的权限。",
}
