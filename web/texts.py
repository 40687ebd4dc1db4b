"""Every Chinese text of the console that is not in a template, one section per page."""

from __future__ import annotations

APP_NAME = "政协委员履职助手 · 工作台"

# ---- navigation and page titles ------------------------------------------------------------------
NAV = (
    ("home", "总览"),
    ("kb", "知识库"),
    ("qa", "问答"),
    ("proposals", "微建议"),
    ("credits", "积分"),
    ("broadcasts", "通知"),
    ("members", "委员"),
    ("learning", "学习"),
    ("learning_push", "学习推送"),
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
TITLE_LEARNING = "学习"
TITLE_LEARNING_PUSH = "学习推送计划"
TITLE_SIGNIN = "登录工作台"
TITLE_LIST = "列表"
TITLE_CHECKINS = "本周学习打卡"
TITLE_PROPOSALS = "办理中的建议"
TITLE_BROADCASTS = "进行中的通知"
TITLE_PROPOSAL_BOARD = "微建议"
TITLE_PROPOSAL = "微建议 {number}"
TITLE_CREDITS = "积分"
TITLE_DISPUTES = "积分申诉"
TITLE_ADJUST = "积分调整"
TITLE_EVENTS = "线下活动"
TITLE_EVENT = "活动：{title}"
TITLE_BC_LIST = "通知"
TITLE_BC_NEW = "编写通知"
TITLE_BC_ONE = "通知 #{id}"
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
    "p_accept": "已受理，委员会在 Telegram 收到通知。",
    "p_reject": "已不予受理，委员会在 Telegram 收到理由。",
    "p_assign": "已交办，委员会在 Telegram 收到承办单位和办理时限。",
    "p_answer": "已答复，委员会在 Telegram 收到答复并请其评价。",
    "p_merge": "已合并，相关委员会在 Telegram 收到通知。",
    "p_convert": "已转为社情民意信息，委员会在 Telegram 收到通知。",
    "p_adopt": "已采纳，委员会在 Telegram 收到通知。",
    "p_refused": "这件建议当前的状态不允许这个操作（可能刚被其他人处理过），请查看最新状态。",
    "p_need_note": "不予受理需要填写理由。",
    "p_need_unit": "交办需要填写承办单位。",
    "p_need_reply": "答复需要填写答复内容。",
    "p_need_target": "请填写要并入的建议编号（例如 WJY-2026-0001），它必须仍在办理中。",
    "p_bad_deadline": "办理时限应为今天或以后的日期，格式 YYYY-MM-DD。",
    "p_too_long": "填写的内容过长（最多 2000 字）。",
    "p_none_selected": "请先勾选要批量处理的建议。",
    "p_bulk_assign": "已交办 {n} 件；{m} 件当前状态不能交办（需先受理，或已答复、已办结）。",
    "p_bulk_merge": "已合并 {n} 件；{m} 件当前状态不能合并。",
    "material_added": "学习资料已添加，委员发送 /learn 即可阅读。",
    "material_retired": "学习资料已下架。",
    "material_restored": "学习资料已重新上架。",
    "dispute_accepted": "申诉已采纳，该记录的积分已撤销，处理说明将发给委员。",
    "dispute_rejected": "申诉已驳回，维持原记录，处理说明将发给委员。",
    "dispute_gone": "这条申诉已经处理过了。",
    "dispute_corrected": "这条记录已经更正过一次，不能再次更正。",
    "adjusted": "积分已调整（记录 #{n}），原因已记入操作记录并通知委员。",
    "marked": "已补签，记 {n} 分，原因已记入操作记录。",
    "mark_already": "这位委员已经签到过这个活动，未重复计分。",
    "bc_submitted": "已提交把关人审核。审核通过后才会发送。",
    "bc_queued": "已加入发送队列。",
    "bc_approved": "已批准，机器人几秒内开始发送。",
    "bc_returned": "已退回，理由会转告起草人。",
    "bc_own": "不能批准或退回自己起草的通知，需要另一位把关人审核。",
    "bc_not_reviewer": "只有把关人可以审核通知。",
    "bc_already": "这条通知已由其他把关人处理，或已不在待审核状态。",
    "bc_no_reason": "退回需要填写理由。",
    "bc_withdrawn": "通知已撤回：尚未发出的不再发送，已经送达的无法收回。",
    "bc_withdraw_not_allowed": "只有通知的起草人或管理员可以撤回。",
    "bc_withdraw_too_late": "这条通知已发送完毕、已退回或已撤回，无法撤回。",
    "quiz_approved": "题目已通过，委员从现在起可以答到它。",
    "quiz_rejected": "题目已驳回。",
    "quiz_reviewed": "这道题已经审核过了，未作改动。",
    "quiz_added": "题目已添加并上线。",
    "quiz_added_draft": "题目已添加，等待把关人审核后上线。",
}

# Flash keys that report a refusal (shown as an error).
FLASH_ERRORS = frozenset({"bc_own", "bc_not_reviewer", "bc_already", "bc_no_reason", "bc_withdraw_not_allowed",
                          "bc_withdraw_too_late"})

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

# ---- micro-proposals ------------------------------------------------------------------------------
# The same words as the bot's (handlers/texts.py): the console may not import handlers.
PROPOSAL_STATUS_LABELS = {
    "submitted": "已提交",
    "accepted": "已受理",
    "rejected": "不予受理",
    "assigned": "已交办",
    "answered": "已答复",
    "closed": "已办结",
    "withdrawn": "已撤回",
    "merged": "已合并",
    "converted": "转社情民意",
}
PROPOSAL_RATING_LABELS = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意"}
PROPOSAL_ACTION_LABELS = {
    "submit": "提交",
    "accept": "受理",
    "reject": "不予受理",
    "assign": "交办",
    "answer": "答复",
    "rate": "评价",
    "withdraw": "撤回",
    "merge": "合并",
    "convert": "转社情民意",
    "adopt": "采纳",
}
PROPOSAL_WARNING_LABELS = {"red": "红色（逾期）", "yellow": "黄色（临近期限）", "green": "绿色", "none": "无期限"}
PROPOSAL_PHOTO_UNAVAILABLE = "图片暂不可用"
PROPOSAL_NO_PLACE = "未填写"
PROPOSAL_MAP_OSM = "OpenStreetMap"
PROPOSAL_MAP_AMAP = "高德地图"
PROPOSAL_EXPORT_NAME = "微建议-{date}.xlsx"

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

# ---- broadcasts ----------------------------------------------------------------------------------
BC_STATES = {
    "awaiting": "待审核", "returned": "已退回", "scheduled": "定时待发", "queued": "排队中", "sending": "发送中",
    "done": "已完成", "cancelled": "已撤回",
}
BC_KINDS = {"sector": "界别", "district": "地区", "group": "小组", "topic": "关注主题"}
BC_MEDIA_KINDS = {"photo": "图片", "document": "文件"}
BC_MEDIA_BAD_TYPE = "附件只接受图片（.jpg .png）或文件（.pdf .docx .xlsx .txt）"
BC_TEXT_NEEDED = "请填写通知正文。"
BC_TEXT_TOO_LONG = "通知正文最多 20000 字。"
BC_BAD_TIME = "没看懂发送时间，或它已经过去。例如：{examples}"
BC_EMPTY_AUDIENCE = "所选范围内没有已绑定的委员，请重新选择。"
BC_APPROVAL_ON = "本委员会启用了双人审核：通知由把关人（不能是起草人）批准后才会发送。"
BC_APPROVAL_OFF = "本委员会未启用双人审核：确认后立即按计划发送。"
BC_NOW = "立即"
BC_YES = "需要"
BC_NO = "不需要"

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
    "broadcast.approve": "批准通知",
    "broadcast.return": "退回通知",
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
    "learning.add": "添加学习资料",
    "learning.retire": "下架学习资料",
    "learning.restore": "上架学习资料",
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

# ---- learning library (学习) -------------------------------------------------------------------------
MATERIAL_KIND_LABELS = {"text": "文本", "link": "链接", "kb": "知识库文档", "file": "上传文件"}
MATERIAL_ERRORS = {
    "kind": "请选择资料类型。",
    "title": "标题不能为空，最多 200 字。",
    "body": "资料正文不能为空（文本请填写正文，文件请上传有文字的 .docx .pdf .txt .md .html）。",
    "body_too_long": "资料正文过长（最多 20 万字）。",
    "link": "链接须以 https:// 或 http:// 开头。",
    "minutes": "预计阅读时间须为 1 至 600 分钟。",
    "topic": "主题须从通知设置的主题中选择。",
    "required": "必学期间须同时填写开始和结束日期，且开始不晚于结束。",
    "kb_missing": "请选择一份知识库文档（知识库不可用时无法选择）。",
    "file_unreadable": "无法读取这个文件：{reason}",
    "date": "日期格式应为 2026-12-31。",
}
MINUTES_NONE = "—"
QUIZ_ACCURACY = "{share}%（{correct}/{answered}）"
DURATION_MIN = "{minutes} 分钟"
DURATION_SEC = "{seconds} 秒"
# ---- credits --------------------------------------------------------------------------------------
CREDIT_TABS = (
    ("report", "/console/credits", "报表"),
    ("disputes", "/console/credits/disputes", "申诉"),
    ("adjust", "/console/credits/adjust", "调整"),
    ("events", "/console/credits/events", "活动"),
)
PERIOD_BAD = "统计期间有误，请输入 2026、2026Q4 或 2026-11 这样的期间。"
PERIOD_YEAR = "{year} 年"
PERIOD_QUARTERS = ("第一季度", "第二季度", "第三季度", "第四季度")
PERIOD_MONTH = "{month}月"
CHART_BY_TYPE = "按类型合计"
CHART_BY_MONTH = "按月合计"
REASON_REQUIRED = "请填写原因。"
REASON_TOO_LONG = "原因最多 500 字。"
POINTS_BAD = "积分请填写 -1000 到 1000 之间、不为 0 的整数。"
TYPE_BAD = "请选择积分类型。"
MEMBER_BAD = "请选择委员。"
SOURCE_LABELS = {"checkin": "打卡", "event": "活动签到", "proposal": "微建议", "adjustment": "人工调整", "quiz": "答题"}
DISPUTE_STATUS = {"open": "待处理", "upheld": "已驳回（维持原记录）", "corrected": "已采纳（撤销积分）",
                  "duplicate": "重复申诉"}
EVENT_METHODS = {"code": "代码", "link": "扫码", "manual": "补签"}
REVERSAL = "更正 #{id}"

# What the member is told in Telegram. DISPUTE_RESULTS and DISPUTE_RESOLVED_MEMBER are the bot's own texts
# (handlers.texts), copied here because the console may not import handlers; a test keeps them equal.
DISPUTE_RESULTS = {"upheld": "维持原记录", "corrected": "已撤销该记录的积分"}
DISPUTE_RESOLVED_MEMBER = "您的积分申诉 #{id} 已处理：{result}。"
DISPUTE_REASON_LINE = "\n处理说明：{reason}"
ADJUSTED_MEMBER = "您的履职积分有一笔人工调整：{label} {points:+d} 分（记录 #{id}）。\n原因：{reason}"

# ---- learning pushes (学习推送) ------------------------------------------------------------------
LEARNING_PUSH_REASONS = {"required": "必学到期", "wrong": "答题错题主题", "topic": "关注主题", "new": "新资料"}
LEARNING_PUSH_WEEKS = {"next": "下周", "this": "本周"}
LEARNING_PUSH_STATUSES = {"planned": "待发送", "sending": "发送中", "sent": "已发送", "skipped": "已跳过",
                          "failed": "发送失败"}
