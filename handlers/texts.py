"""Every user-facing sentence of the Telegram layer, in one place for review (Simplified Chinese)."""

from __future__ import annotations

# Buttons (standard labels, DESIGN.md)
BTN_CONFIRM = "确认"
BTN_EDIT = "修改"
BTN_CANCEL = "取消"
BTN_USEFUL = "有用"
BTN_USELESS = "没用"
BTN_SOURCE = "查看原文"
BTN_RECEIVED = "收到"

# Binding and access
UNBOUND = (
    "您好！本助手仅供本委员会委员和机关工作人员使用。\n"
    "请发送工作人员提供给您的 8 位邀请码（字母和数字），或点击邀请链接完成绑定。\n"
    "如还没有邀请码，请联系委员会办公室。"
)
BOUND_WELCOME = "{name}您好，账号绑定成功！\n发送 /help 查看我能为您做什么。"
ALREADY_BOUND = "{name}您好，您的账号已经绑定，无需重复绑定。发送 /help 查看可用功能。"
WELCOME_BACK = "{name}您好！有什么可以帮您？发送 /help 查看可用功能。"
# One reply for an unknown, a used and an inactive code: a reply must not tell a guesser that a code exists.
CODE_UNKNOWN = "这个邀请码无法使用，请核对后重新发送（8 位字母和数字，不区分大小写）。如有疑问，请联系委员会办公室。"
CODE_TOO_MANY = "邀请码尝试次数过多，请稍后再试，或联系委员会办公室。"
STAFF_ONLY = "这项功能仅限机关工作人员使用。"
PRIVATE_ONLY = "请私聊我使用本助手，群里不处理个人事务。"

# Help
HELP_MEMBER_HEAD = "委员您好，我可以帮您："
HELP_STAFF_INTRO = "您好，我可以帮您："  # staff are not 委员: a neutral greeting
HELP_STAFF_HEAD = "工作人员功能："
HELP_TAIL = "也可以直接用文字提问，我会先确认再记录任何内容。"
HELP_UNBOUND = UNBOUND

# Fallbacks
UNKNOWN_COMMAND = "暂不支持 {command} 这个命令。发送 /help 查看可用功能。"
UNSUPPORTED_MEDIA = "暂时无法处理{kind}。请用文字说明您的需要，或发送 /help 查看可用功能。"
NOT_UNDERSTOOD = "我还不能处理这条消息。发送 /help 查看可用功能。"
TOO_LONG = "这条消息有 {length} 字，超出了我能处理的长度（{limit} 字以内）。请精简后重新发送。"
EMPTY_TEXT = "消息是空的，请输入文字。"
STALE_BUTTON = "这个按钮已失效，请重新操作。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"
CANCELLED = "已取消。"
# A button label typed ("确认") while no card waits for the member: never a question for the knowledge base.
LABEL_NOTHING_WAITING = "现在没有等待您确认的内容。需要帮助请发送 /help。"
LABEL_NOT_ON_CARD = "最近一张卡片上没有这个按钮。请点按卡片上的按钮，或直接输入按钮上的文字。"
ERROR = "抱歉，处理您的消息时出了点问题，已通知工作人员。请稍后再试。"
STAFF_ALERT = "⚠️ 机器人处理消息时出错\n类型：{error_type}\n用户：{user}\n更新：{update_id}\n详情：{detail}"

MEDIA_KINDS = {
    "sticker": "贴纸",
    "photo": "图片",
    "video": "视频",
    "voice": "语音",
    "audio": "音频",
    "document": "文件",
    "animation": "动图",
    "video_note": "视频消息",
    "location": "位置",
    "contact": "名片",
    "poll": "投票",
    "dice": "骰子",
    "venue": "地点",
    "game": "游戏",
    "story": "动态",
}
MEDIA_DEFAULT = "这类消息"

# Command menu descriptions (set_my_commands)
COMMAND_DESCRIPTIONS = {
    "ask": "问政策和程序",
    "checkin": "学习打卡",
    "learn": "学习资料",
    "credits": "我的积分",
    "propose": "提建议",
    "my": "我的建议",
    "settings": "通知设置",
    "help": "我能做什么",
    "start": "开始使用 / 绑定账号",
    "cancel": "取消当前操作",
    "review": "待办建议",
    "broadcast": "发布通知",
    "event": "新建线下活动",
    "stats": "统计",
    "gaps": "未答问题",
    "faq": "维护常见问题",
    "console": "登录工作台（网页）",
    "daily": "每日一题",
    "quiz": "小测验（5 题）",
    "quiz_review": "审核题目",
}

# --- knowledge Q&A -------------------------------------------------------------------------------
BTN_PASS_TO_STAFF = "转交工作人员"
ASK_PROMPT = "请直接输入您想了解的问题，例如：“提案提交后多久能收到答复？”"
QUESTION_TOO_LONG = "问题有 {length} 字，请精简到 {limit} 字以内再问，我能更准确地找到依据。"
QUESTION_TOO_SHORT = "请把问题说得完整一些，例如：“提案多久必须答复？”“学习打卡怎么算积分？”"
REPLY_THANKS = "不客气！还有问题随时问我，发送 /help 可以查看我能做什么。"
REPLY_HELLO = "您好！您可以直接问政策和程序问题，或发送 /help 查看我能做什么。"
# Short courtesies answered as such, never searched in the knowledge base nor listed in /gaps.
THANKS_WORDS = frozenset({"谢谢", "谢谢你", "谢谢您", "多谢", "感谢", "好的", "好", "收到", "明白", "明白了", "知道了",
                          "嗯", "嗯嗯", "ok", "okay", "好的谢谢", "谢谢了"})
HELLO_WORDS = frozenset({"你好", "您好", "在吗", "hi", "hello", "早上好", "下午好", "晚上好"})
KB_UNAVAILABLE = "知识库暂时不可用，已记录您的问题，工作人员会尽快处理。"
FEEDBACK_THANKS_USEFUL = "谢谢反馈！"
FEEDBACK_THANKS_USELESS = "谢谢反馈，工作人员会据此补充完善知识库。"
NOT_YOUR_QUESTION = "这条记录不属于您。"
SOURCE_NOT_FOUND = "原文暂时找不到了（知识库可能已更新），请重新提问。"
SOURCE_HEADER = "{citation} 原文："
PASSED_TO_STAFF = "已转交工作人员，答复后会通知您。"
ALREADY_PASSED_TO_STAFF = "这个问题已经转交过工作人员，请耐心等待答复，无需重复转交。"
STAFF_QUESTION_ALERT = "📨 委员提问（知识库未能回答）\n委员：{name}（{sector}）\n问题：{question}"
GAPS_HEAD = "未答、只给出可能相关条款和“没用”的问题（按次数排序）："
GAPS_LINE = "{rank}. {question}（{count} 次：未答 {unanswered}，没用 {useless}）"
GAPS_LINE_UNCERTAIN = (
    "{rank}. {question}（{count} 次：未答 {unanswered}，仅给出可能相关条款 {uncertain}，没用 {useless}）"
)
# Uncertain answers: one button per candidate article (the text lists them: knowledge/texts.py CANDIDATES_INTRO).
CANDIDATE_BUTTON = "{rank}. {citation}"
CANDIDATE_BUTTON_MAX = 40  # characters of a candidate button label
GAPS_EMPTY = "目前没有未答、只给出可能相关条款或被标为“没用”的问题。"
FAQ_USAGE = "用法：/faq 问题 | 答案\n例如：/faq 学习打卡怎么补卡？ | 发送“补卡 昨天 学习《…》30分钟”即可，7 天内有效。"
FAQ_SAVED = "已保存常见问题（编号 {id}），委员再问类似问题会直接用这条答复。"
FAQ_ANSWER_SOURCE = "（来源：委员会办公室常见问题解答）"

# --- proposals -----------------------------------------------------------------------------------
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
PROPOSAL_WARNING_ICONS = {"red": "🔴", "yellow": "🟡", "green": "🟢", None: "⚪"}
PROPOSAL_FIELD_LABELS = {"title": "标题", "content": "内容", "category": "类别", "place": "地点", "photos": "照片"}
PROPOSAL_ACTION_LABELS = {
    "accept": "受理",
    "reject": "不予受理",
    "assign": "交办",
    "answer": "答复",
    "adopt": "采纳",
    "merge": "合并",
    "convert": "转社情民意",
}
BTN_PROPOSAL_RECORD = "记录为建议"
BTN_PROPOSAL_NOT_NOW = "不用了"
BTN_PROPOSAL_SKIP = "跳过"
BTN_PROPOSAL_DONE = "完成"
BTN_PROPOSAL_CLEAR_PHOTOS = "清空照片"
BTN_PROPOSAL_BACK = "返回"
BTN_PROPOSAL_SUPPORT = "附议 {n}"
BTN_PROPOSAL_SUBMIT_ANYWAY = "仍然提交"
BTN_PROPOSAL_CONTINUE = "继续填写"
BTN_PROPOSAL_DISCARD = "放弃草稿"
BTN_PROPOSAL_WITHDRAW = "撤回"
BTN_PROPOSAL_WITHDRAW_CONFIRM = "确认撤回"
BTN_PROPOSAL_MERGE_INTO = "并入 {number}"

PROPOSAL_OFFER = "委员您好，要把这条内容记录为微建议吗？\n“{preview}”"
PROPOSAL_OFFER_REPLACES = "（您还有一条未提交的草稿，记录新建议会替换它。）"
PROPOSAL_OFFER_DECLINED = "好的，没有记录。"
PROPOSAL_ASK_CONTENT = (
    "请用一两句话说说您的建议（10–2000 字），例如：\n"
    "“建议在老城区增设夜间公交线路，方便夜班工人回家。”"
)
PROPOSAL_CONTENT_EMPTY = "内容是空的，请用文字写下您的建议（10–2000 字）。"
PROPOSAL_CONTENT_SHORT = "内容有点短（不到 {min} 字），请再具体说说问题和建议，例如在哪里、希望怎么改。"
PROPOSAL_CONTENT_LONG = "内容有 {length} 字，超过了 {max} 字的上限，请精简后重新发送；详细材料可以分条补充。"
PROPOSAL_TITLE_PROBLEM = "标题需要 1–{max} 个字，请重新输入，例如：“关于增设夜间公交线路的建议”。"
PROPOSAL_PLACE_PROBLEM = "地点需要 1–{max} 个字，请重新输入，例如：“老城区解放路公交站”，或发送位置。"
PROPOSAL_ASK_CATEGORY = "请选择类别："
PROPOSAL_ASK_FIELD = "请选择要修改的内容："
PROPOSAL_ASK_TITLE = "请输入新的标题（{max} 字以内）："
PROPOSAL_ASK_PLACE = "请输入地点（如“老城区解放路公交站”），或点附件按钮发送位置："
PROPOSAL_ASK_PHOTOS = "请发送照片（最多 {max} 张），发完点“完成”。"
PROPOSAL_PHOTO_ADDED = "已添加照片（{count}/{max}）。"
PROPOSAL_PHOTOS_FULL = "照片已达 {max} 张上限，这张没有添加。"
PROPOSAL_PHOTOS_CLEARED = "已清空照片。"
PROPOSAL_PLACE_SET = "已记录地点。"
PROPOSAL_WAITING_PHOTO = "请发送照片，或点“完成”。"
PROPOSAL_MEDIA_UNSUPPORTED = "微建议只能附照片和位置，暂不支持{kind}。请用文字描述，或发送照片。"
PROPOSAL_CARD = (
    "请核对您的微建议：\n"
    "标题：{title}\n"
    "类别：{category}\n"
    "地点：{place}\n"
    "照片：{photos} 张\n"
    "内容：{content}"
)
PROPOSAL_NO_PLACE = "未填写"
PROPOSAL_SIMILAR_HEAD = "提交前请看看，已有相似的建议，您可以附议其中一条，或仍然提交："
PROPOSAL_SIMILAR_LINE = "{n}. {number}《{title}》（{status}，附议 {supporters} 人）"
PROPOSAL_SUBMITTED = "已提交，编号 {number}。\n受理和办理进展会及时通知您，发送 /my 可随时查看。"
PROPOSAL_SUPPORTED = "已附议 {number}《{title}》，办理进展会同步通知您。您的草稿已删除。"
PROPOSAL_SUPPORT_FAILED = "这条建议已不能附议（可能已办结或已合并），请选择其他或仍然提交。"
PROPOSAL_DRAFT_GONE = "这条草稿已经提交或取消了。发送 /propose 重新开始。"
PROPOSAL_DRAFT_CANCELLED = "已取消，草稿已删除。"
PROPOSAL_DRAFT_REMINDER = "委员您好，您有一条微建议还没有提交：\n“{preview}”\n需要继续吗？"
PROPOSAL_STAFF_NEW = "📮 新微建议 {number}《{title}》\n委员：{name} · 类别：{category}\n发送 /review 处理。"

PROPOSAL_MY_EMPTY = "您还没有提交过微建议。直接发送“建议……”或 /propose 即可开始。"
PROPOSAL_MY_HEAD = "您的微建议（最近 {count} 条），点编号查看详情："
PROPOSAL_MY_LINE = "{n}. {number}《{title}》— {status}{supported}"
PROPOSAL_MY_SUPPORTED = "（附议）"
PROPOSAL_VIEW = "{number}《{title}》\n状态：{status}\n类别：{category}\n提出人：{name}\n地点：{place}\n内容：{content}"
PROPOSAL_VIEW_UNIT = "承办单位：{unit}"
PROPOSAL_VIEW_DEADLINE = "办理时限：{deadline} {icon}"
PROPOSAL_VIEW_REPLY = "答复：{reply}"
PROPOSAL_VIEW_RATING = "评价：{rating}"
PROPOSAL_VIEW_MERGED = "已并入：{number}"
PROPOSAL_VIEW_SUPPORTERS = "附议：{count} 人"
PROPOSAL_VIEW_EVENTS = "办理记录："
PROPOSAL_VIEW_EVENT = "· {at} {status}（{actor}）{note}"
PROPOSAL_NOT_YOURS = "这条建议不属于您，无法查看。"
PROPOSAL_WITHDRAW_ASK = "确定撤回 {number}《{title}》吗？撤回后不再办理。"
PROPOSAL_WITHDRAWN = "已撤回 {number}。"
PROPOSAL_RATED = "感谢您的评价（{rating}），{number} 已办结。"
PROPOSAL_RATED_REOPENED = "感谢您的评价。{number} 已重新交办，承办单位会再次研究办理，结果会通知您。"
PROPOSAL_TRANSITION_REFUSED = "当前状态（{status}）下不能进行这项操作。"

# Notifications to members, one per transition ({who} names their relation to the item)
PROPOSAL_WHO = {"author": "您的微建议", "supporter": "您附议的微建议", "merged": "与您的建议合并办理的微建议"}
PROPOSAL_NOTIFY = {
    "accept": "{who} {number}《{title}》已受理。",
    "reject": "{who} {number}《{title}》不予受理。\n理由：{note}",
    "assign": "{who} {number}《{title}》已交办{unit}办理，办理时限至 {deadline}。",
    "reassign": "{who} {number}《{title}》已重新交办{unit}办理，办理时限至 {deadline}。",
    "answer": "{who} {number}《{title}》已答复：\n{note}",
    "rate": "{who} {number}《{title}》已办结。",
    "withdraw": "{who} {number}《{title}》已由提出人撤回，不再办理。",
    "merge": "{who} {number}《{title}》已与同类建议 {into} 合并办理，后续进展会一并通知您。",
    "convert": "{who} {number}《{title}》已转为社情民意信息报送。{note}",
    "adopt": "{who} {number}《{title}》已被采纳，感谢您的建言！",
}
PROPOSAL_ASK_RATING = "请您对办理结果进行评价："

# Staff: /review and transitions
PROPOSAL_REVIEW_EMPTY = "目前没有待办的微建议。"
PROPOSAL_REVIEW_HEAD = "待办微建议 {count} 件（🔴超期 {red} · 🟡临期 {yellow}），点编号处理："
PROPOSAL_REVIEW_LINE = "{icon} {number}《{title}》— {status}{deadline}"
PROPOSAL_REVIEW_DEADLINE = "，时限 {deadline}"
# A staff member typed a review action ("受理") instead of pressing its button: typed, it is not a question.
PROPOSAL_REVIEW_TYPED_ACTION = "「{action}」需要在工单卡片上操作：发送 /review 打开待办，点开工单后按「{action}」按钮。"
PROPOSAL_REVIEW_PROMPT_REJECT = "请输入不予受理的理由（发送 /cancel 放弃）："
PROPOSAL_REVIEW_PROMPT_ASSIGN = (
    "请输入承办单位，可在后面加办理时限，例如：\n"
    "“市交通运输局 2026-12-31”（不写时限默认 {days} 天）。发送 /cancel 放弃。"
)
PROPOSAL_REVIEW_PROMPT_ANSWER = "请输入答复内容（发送 /cancel 放弃）："
PROPOSAL_REVIEW_BAD_DEADLINE = (
    "办理时限格式不对或早于今天，请写成 2026-12-31 这样的日期，例如：“市交通运输局 2026-12-31”。"
)
PROPOSAL_REVIEW_NEED_TEXT = "请输入文字。"
PROPOSAL_REVIEW_DONE = "{number} 已{action}，已通知相关委员。"
PROPOSAL_REVIEW_MERGE_HEAD = "把 {number} 并入哪一件？（相似度从高到低）"
PROPOSAL_REVIEW_MERGE_NONE = "没有可以并入的待办建议。"
PROPOSAL_REVIEW_MERGE_LINE = "· {number}《{title}》— {status}"
PROPOSAL_REVIEW_CANCELLED = "已取消这次操作。"
PROPOSAL_DIGEST = (
    "📋 微建议每日提醒（{date}）\n"
    "待办 {total} 件：🔴超期 {red} · 🟡临期 {yellow} · 🟢正常 {green} · 待受理 {waiting}"
)
PROPOSAL_DIGEST_LINE = "{icon} {number}《{title}》{unit}时限 {deadline}"

# --- credits -------------------------------------------------------------------------------------
CREDIT_CAP_REASONS = {"daily": "已达当日上限", "weekly": "本周已记过", "annual": "已达年度上限"}
CHECKIN_PROMPT = (
    "请发送学习内容和时长，例如：\n"
    "“今天学习了《政协章程》40分钟”\n"
    "“昨天读完《…》第三章 半小时”（补卡，{days} 天内有效）\n"
    "学习心得请以“心得：”开头，{chars} 字以上。"
)
CHECKIN_EXAMPLE = (
    "没能看懂这条打卡。可以这样写：\n"
    "“今天学习了《政协章程》40分钟”\n"
    "“看了两节委员讲堂视频 1小时15分”"
)
CHECKIN_DECLINES = {
    "no_duration": "请补充学习时长，例如：“今天学习了《政协章程》40分钟”。",
    "too_short": "学习时长至少 {min} 分钟才能打卡（您写的是 {minutes} 分钟）。",
    "too_long": "单次打卡最多 {max} 分钟，请分次记录或核对时长（您写的是 {minutes} 分钟）。",
    "future": "不能为将来的日期打卡，请核对日期。",
    "bad_date": "日期不对，请核对，例如“11月20日学习1小时”。",
    "note_too_short": "学习心得需要 {chars} 字以上（现在 {length} 字），请充实后再发送。",
    "outside_window": "补卡只能补最近 {days} 天的学习，这一天已超出范围。",
    "no_minutes": "请先填写学习时长。",
    "no_rule": "积分规则中没有这一类型，暂时无法记录。",
    "empty": "内容是空的，请发送学习内容和时长。",
}
CHECKIN_PREVIEW = (
    "请确认打卡：\n类型：{kind}\n内容：{title}\n时长：{minutes}\n日期：{day}{backfill}\n预计积分：{points} 分"
)
CHECKIN_PREVIEW_NOTE = "请确认提交学习心得（{length} 字）：\n“{preview}”\n日期：{day}\n预计积分：{points} 分"
CHECKIN_NO_TITLE = "（未写标题）"
CHECKIN_BACKFILL = "（补卡）"
CHECKIN_MINUTES = "{minutes} 分钟"
CHECKIN_RECORDED = "已记录打卡：{title}，{minutes}，获得 {points} 分。"
CHECKIN_RECORDED_CAPPED = "已记录打卡：{title}，{minutes}。按规则本次计 {points} 分（{reason}）。"
NOTE_RECORDED = "已记录学习心得，获得 {points} 分。"
NOTE_RECORDED_CAPPED = "已记录学习心得。按规则本次计 {points} 分（{reason}）。"
CHECKIN_YEAR_TOTAL = "今年累计 {total} 分，目标 {target} 分。"
CHECKIN_CANCELLED = "已取消，没有记录。"
CHECKIN_EDIT_WHICH = "要修改哪一项？"
BTN_EDIT_TITLE = "内容"
BTN_EDIT_MINUTES = "时长"
BTN_EDIT_DATE = "日期"
CHECKIN_ASK_FIELD = {
    "title": "请发送新的学习内容，例如：《政协章程》第二章",
    "minutes": "请发送学习时长，例如：40分钟、1小时15分、半小时",
    "date": "请发送学习日期，例如：今天、昨天、11月20日",
}
CHECKIN_BAD_FIELD = {
    "title": "内容需要 1–100 字，请重新发送。",
    "minutes": "没看懂时长，请这样写：40分钟、1小时15分、半小时",
    "date": "没看懂日期，请这样写：今天、昨天、11月20日",
}
CREDIT_KIND_LABEL = "{label}"

# events
EVENT_USAGE = (
    "新建线下活动，格式（用 | 分隔）：\n"
    "/event 标题 | 类型 | 开始 | 结束 [| 积分=5] [| 地点=会场名 纬度,经度 半径米] [| 定位=必需] [| 代码=HY01]\n"
    "类型：{types}\n"
    "时间：“明天 9点”“今天 14:30”“下午3点半”“周五 15:00”“12月5日 14:30”“现在”“+2h”\n"
    "例如：/event 政协章程学习会 | 会议 | 今天 14:30 | 今天 17:00\n"
    "定位=必需：委员须发送会场范围内的位置才算签到（需同时写明地点）\n"
    "查看签到：/event 代码　补签：/event 代码 补签 姓名 原因　签到二维码：/event 代码 二维码"
)
EVENT_BAD = "活动信息有误：{problem}\n发送 /event 查看格式。"
EVENT_PROBLEMS = {
    "fields": "至少需要 标题 | 类型 | 开始 | 结束",
    "title": "标题需要 1–100 字",
    "bad_type": "类型不对（可选：{types}）",
    "start": "开始时间看不懂：{value}（可以这样写：“明天 9点”“今天 14:30”“12月5日 下午3点”）",
    "end": "结束时间看不懂：{value}（可以这样写：“明天 11点”“今天 17:00”“12月5日 下午5点”）",
    "bad_times": "结束时间要晚于开始时间",
    "points": "积分应为 0–100 的整数：{value}",
    "place": "地点格式：地点=会场名 纬度,经度 半径米（例如 地点=政协大楼 29.56,106.55 200）",
    "bad_code": "代码需要 4–6 位字母和数字，并至少含一个数字",
    "code_taken": "代码 {value} 已被使用，请换一个",
    "option": "看不懂这一项：{value}",
    "location": "定位只能写 定位=必需",
    "location_needs_place": "定位=必需 需要同时写明 地点=会场名 纬度,经度 半径米",
}
EVENT_CREATED = (
    "已创建活动：{title}\n类型：{kind} · {points} 分\n时间：{starts} – {ends}\n{place}"
    "签到代码：{code}\n签到时间：{opens} – {closes}\n"
    "请把下面的二维码投屏：它每 30 秒更新一次，转发的截图约 1 分钟后失效。"
    "无法扫码的委员可发送签到代码（尝试次数有限，签到名单中会标出）。"
)
EVENT_PLACE_LINE = "地点：{place}（{radius} 米内）\n"
EVENT_PLACE_REQUIRED_LINE = "地点：{place}（须发送 {radius} 米内的位置）\n"
EVENT_QR_CAPTION = (
    "{title}\n请用手机扫码签到（二维码每 30 秒更新，截图转发无效）\n无法扫码可发送签到代码 {code}\n更新于 {at}"
)
EVENT_QR_CLOSED = "{title}\n签到已于 {closes} 结束，二维码不再更新。"
EVENT_CODE_LOCKED = "签到代码尝试次数过多，已暂停手输代码签到。请扫描现场屏幕上的二维码，或请工作人员补签。"
EVENT_QR_EXPIRED = "这个签到二维码已过期（每 30 秒更新一次）。请在现场扫描屏幕上的最新二维码。"
EVENT_QR_INVALID = "签到二维码无效，请在现场扫描屏幕上的最新二维码。"
EVENT_NOT_FOUND = "没有找到活动代码 {code}，请核对后重新发送。"
EVENT_CHECKED_IN = "签到成功：{title}，获得 {points} 分。"
EVENT_CHECKED_IN_CAPPED = "签到成功：{title}。按规则本次计 {points} 分（{reason}）。"
EVENT_ASK_LOCATION = "如在现场，可点下方按钮发送位置，便于核验（可选）。"
BTN_SEND_LOCATION = "发送位置"
BTN_LOCATION_SKIP = "不用了"
EVENT_LOCATION_SKIPPED = "好的，不发送位置了。"
EVENT_LOCATION_USE_BUTTON = "请点下方“发送位置”按钮分享您当前的位置（输入文字带不上位置）；不发送请点“不用了”。"
EVENT_ALREADY = "您已于 {at} 签到过“{title}”，不重复计分。"
EVENT_TOO_EARLY = "“{title}”的签到将于 {opens} 开始，请到时再签到。"
EVENT_CLOSED = "“{title}”的签到已于 {closes} 结束，未能记录。如确实参加，请联系工作人员补签。"
EVENT_LOCATION_OK = "已记录位置，距会场约 {distance} 米。"
EVENT_LOCATION_FAR = "已记录位置，距会场约 {distance} 米，超出 {radius} 米范围，已提交工作人员核实。"
EVENT_LOCATION_NONE = "没有找到需要核验位置的签到。"
EVENT_LOCATION_REQUIRED = "本活动需要核验位置：请在 10 分钟内点下方按钮发送您当前的位置，在会场范围内即完成签到。"
EVENT_LOCATION_REQUIRED_FAR = (
    "您的位置距会场约 {distance} 米，超出 {radius} 米范围，未能签到。请到会场后重新发送位置，或请工作人员补签。"
)
EVENT_LOCATION_LOCKED = "位置核验次数过多，未能签到。如确实在场，请工作人员补签。"
EVENT_STAFF_FAR = "📍 签到位置待核实：{name} 签到“{title}”（{code}），距会场约 {distance} 米（范围 {radius} 米）。"
EVENT_ATTENDANCE_HEAD = "“{title}”（{code}）签到 {count} 人："
EVENT_ATTENDANCE_LINE = "{n}. {name} {at} {method}{distance}{flag}"
EVENT_ATTENDANCE_EMPTY = "“{title}”（{code}）还没有人签到。"
EVENT_METHODS = {"code": "代码", "link": "扫码", "manual": "补签"}
EVENT_FLAG = " ⚠️超出范围"
EVENT_TYPED_FLAG = " ⌨️手输代码"
EVENT_TYPED_NOTE = "其中 {count} 人手输代码签到（未扫码），请留意核实。"
EVENT_DISTANCE = " 约{distance}米"
EVENT_MARK_USAGE = "补签格式：/event 代码 补签 姓名 原因"
EVENT_MARK_NO_MEMBER = "名单中没有找到“{name}”。"
EVENT_MARKED = "已为 {name} 补签“{title}”，记 {points} 分，原因已记入操作日志。"
EVENT_MARK_ALREADY = "{name} 已经签到过“{title}”。"
EVENT_LIST_HEAD = "最近的活动："
EVENT_LIST_LINE = "{code} {title}（{starts}）"

# member view
CREDITS_VIEW = "委员您好，您 {year} 年的履职积分：\n累计 {total} 分 / 目标 {target} 分（{percent}%）"
CREDITS_BY_TYPE = "按类型：{parts}"
CREDITS_NONE = "今年还没有积分记录。发送“今天学习了《政协章程》40分钟”即可打卡。"
CREDITS_RECENT_HEAD = "最近记录："
CREDITS_RECENT_LINE = "#{id} {day} {label}{title} {points:+d}{note}"
CREDITS_BANDS = {
    "top": "您的积分位于全体委员前 20%，继续保持！",
    "middle": "您的积分处于全体委员中间水平。",
    "attention": "您的积分进度偏慢，建议多参加学习和活动。",
}
CREDITS_PRIVATE = "（区间仅您本人可见，不公开排名）"
BTN_CREDITS_CHART = "积分图表"
BTN_CREDITS_DISPUTE = "申诉"
BTN_REMINDERS_OFF = "关闭积分提醒"
BTN_REMINDERS_ON = "开启积分提醒"
CREDITS_CHART_TITLE = "{year} 年每月积分"
CREDITS_CHART_CAPTION = "{year} 年每月积分（累计 {total} 分）"
CHART_AXIS_POINTS = "积分"
CHART_MONTHS = [f"{m}月" for m in range(1, 13)]
DISPUTE_PICK = "请选择要申诉的记录："
DISPUTE_BUTTON = "申诉 #{id}"
DISPUTE_NONE = "没有可以申诉的记录。"
DISPUTE_ASK_REASON = "请说明申诉理由（例如：实际学习了 60 分钟），工作人员会核实处理。不申诉了请点“取消”。"
DISPUTE_SUBMITTED = "申诉已提交（编号 {id}），处理结果会通知您。"
DISPUTE_STAFF = "📝 积分申诉 #{id}\n委员：{name}\n记录：#{entry} {day} {label}{title} {points:+d}\n理由：{reason}"
BTN_DISPUTE_UPHOLD = "维持"
BTN_DISPUTE_CORRECT = "撤销该记录"
DISPUTE_RESOLVED_STAFF = "申诉 #{id} 已处理：{result}。"
DISPUTE_RESULTS = {"upheld": "维持原记录", "corrected": "已撤销该记录的积分"}
DISPUTE_RESOLVED_MEMBER = "您的积分申诉 #{id} 已处理：{result}。"
DISPUTE_GONE = "这条申诉已经处理过了。"
DISPUTE_ALREADY_CORRECTED = "这条记录已经更正过一次，不能再次申诉或更正。"
DISPUTE_ALREADY_OPEN = "这条记录已有申诉正在处理，请等待处理结果。"
DISPUTE_NOT_ALLOWED = "人工调整和更正记录不能申诉。如有疑问，请联系工作人员。"
DISPUTE_REFUSED = {"adjustment": DISPUTE_NOT_ALLOWED, "corrected": DISPUTE_ALREADY_CORRECTED,
                   "open": DISPUTE_ALREADY_OPEN}
REMINDERS_OFF = "已关闭积分提醒。可随时在 /credits 中重新开启。"
REMINDERS_ON = "已开启积分提醒。"
REMINDER_TEXT = (
    "委员您好，今年您已获得 {total} 分，按进度此时约应有 {expected} 分（全年目标 {target} 分）。\n"
    "可以发送“今天学习了《…》40分钟”打卡，或参加近期的学习活动。"
)

# staff statistics
STATS_HEAD = "{period} 履职积分统计：{members} 位委员，共 {total} 分，人均 {average:.1f} 分"
STATS_TYPES = "按类型：{parts}"
STATS_SECTOR_HEAD = "按界别（人均）："
STATS_DISTRICT_HEAD = "按地区（人均）："
STATS_GROUP_LINE = "· {name}：{members} 人，人均 {average:.1f} 分，{below} 人未达进度"
STATS_BELOW_HEAD = "未达进度的委员（{count} 人）："
STATS_BELOW_LINE = "· {name}（{sector}）{total} 分"
STATS_BELOW_MORE = "……另有 {count} 人，完整名单请用 cppcc-bot credits report --xlsx 导出。"
STATS_CHART_TITLE = "各界别人均积分"
STATS_CHART_CAPTION = "{period} 各界别人均积分"
STATS_BAD_PERIOD = "统计期间格式：/stats 2026、/stats 2026Q4 或 /stats 2026-11"

# --- broadcasts ----------------------------------------------------------------------------------
BROADCAST_URGENT_MARK = "【紧急】"
BROADCAST_RECEIPT_HINT = "\n\n（请点击下方“收到”确认。）"
BROADCAST_ASK_TEXT = "请发送通知正文（可直接粘贴长文，超长会自动分条发送）。发送 /cancel 取消。"
BROADCAST_ASK_MEDIA = "如需附图片或文件，请现在发送；不需要请点“跳过”。"
BROADCAST_MEDIA_SAVED = "已附上{kind}。"
BROADCAST_MEDIA_KINDS = {"photo": "图片", "document": "文件"}
BTN_BC_SKIP = "跳过"
BROADCAST_ASK_AUDIENCE = "请选择发送对象（可组合：不同类别同时满足，同一类别任选其一）。\n当前：{label}（{count} 人）"
BTN_BC_ALL = "全部"
BTN_BC_KINDS = {"sector": "按界别", "district": "按地区", "group": "按小组", "topic": "按关注主题"}
BTN_BC_AUDIENCE_DONE = "下一步"
BTN_BC_BACK = "返回"
BROADCAST_PICK_VALUE = "请选择{kind}（可多选，再点一次取消）："
BROADCAST_NO_VALUES = "暂无可选的{kind}。"
BROADCAST_EMPTY_AUDIENCE = "所选范围内没有已绑定的委员，请重新选择。"
BROADCAST_ASK_SCHEDULE = "立即发送，还是定时发送？"
BTN_BC_NOW = "立即发送"
BTN_BC_LATER = "定时发送"
BROADCAST_ASK_TIME = "请发送发送时间，例如：“明天 9点”“今天 15:30”“周五 下午3点”“12月5日 09:00”。"
BROADCAST_BAD_TIME = "没看懂这个时间，或它已经过去。请发送晚于现在的时间，例如：“明天 9点”“周五 15:00”“12月5日 09:00”。"
BROADCAST_PREVIEW = (
    "📢 通知预览\n"
    "对象：{audience}（{count} 人）\n"
    "发送：{when}\n"
    "附件：{media}\n"
    "回执：{receipt}　紧急：{urgent}\n"
    "——————\n{excerpt}"
)
BROADCAST_NOW = "立即"
BROADCAST_NONE = "无"
BROADCAST_YES = "需要"
BROADCAST_NO = "不需要"
BTN_BC_TEST = "测试发送"
BTN_BC_RECEIPT = "回执：{state}"
BTN_BC_URGENT = "紧急：{state}"
BTN_BC_REMIND = "未回执提醒：{state}"
BROADCAST_REMIND_OFF = "不提醒"
BROADCAST_REMIND_HOURS = "{hours} 小时后"
BROADCAST_TEST_SENT = "测试消息已发给您本人，请检查效果。"
BROADCAST_QUEUED = "已加入发送队列：编号 {id}，共 {count} 人。发送进度见下方。"
BROADCAST_SCHEDULED = "已定时：编号 {id}，将于 {when} 发送给 {count} 人。"
BROADCAST_PROGRESS = (
    "📤 通知 #{id} {state}\n{bar} {done}/{total}\n"
    "已送达 {sent}　失败 {failed}　已屏蔽 {blocked}　待发 {pending}\n"
    "已回执 {acknowledged}{deferred}"
)
BROADCAST_PROGRESS_DEFERRED = "　免打扰延后 {count}"
BROADCAST_STATES = {
    "scheduled": "定时待发", "queued": "排队中", "sending": "发送中", "done": "已完成", "cancelled": "已撤回",
    "awaiting": "待审核", "returned": "已退回",
}
BTN_BC_REFRESH = "刷新"
BTN_BC_WITHDRAW = "撤回通知"
BTN_BC_WITHDRAW_YES = "确认撤回"
BTN_BC_WITHDRAW_NO = "不撤回"
BROADCAST_WITHDRAW_ASK = "确定撤回通知 #{id}（{state}）吗？尚未发出的将不再发送；已经送达的消息无法收回。"
BROADCAST_WITHDRAWN = "已撤回通知 #{id}：{detail}"
BROADCAST_WITHDRAWN_NONE = "没有人收到。"
BROADCAST_WITHDRAWN_PART = "已有 {sent} 人收到（无法收回），其余 {cancelled} 人不再发送。"
BROADCAST_WITHDRAW_NOT_ALLOWED = "只有通知的起草人或管理员可以撤回。"
BROADCAST_WITHDRAW_TOO_LATE = "通知 #{id} 已{state}，无法撤回。"
BROADCAST_WITHDRAW_USAGE = "请写明编号，例如：/broadcast 撤回 12"
BROADCAST_LIST_HEAD = "最近的通知："
BROADCAST_LIST_LINE = "#{id} {state} {audience} 送达 {sent}/{total} 回执 {acknowledged}"
BROADCAST_LIST_EMPTY = "还没有发过通知。发送 /broadcast 开始编写。"
BROADCAST_NOT_FOUND = "没有编号为 {id} 的通知。"
BROADCAST_DRAFT_CANCELLED = "已取消这条通知的编写。"
BROADCAST_ACK_THANKS = "已确认收到，谢谢！"
BROADCAST_ACK_ALREADY = "您已确认过了。"
BROADCAST_ACK_NOT_YOURS = "这条通知不是发给您的。"
BROADCAST_REMINDER_PREFIX = "【提醒】以下通知您尚未确认收到，请查阅后点击“收到”：\n\n"
BROADCAST_TEXT_NEEDED = "请发送文字作为通知正文。"

# broadcast approval: the two-person rule (通知审核, 把关人)
BROADCAST_SUBMITTED = "已提交把关人审核：编号 {id}（{audience}，目前 {count} 人）。审核通过后才会发送，结果会通知您。"
BROADCAST_REVIEW_REQUEST = (
    "📝 待审核通知 #{id}\n起草：{author}\n对象：{audience}（目前 {count} 人）\n发送：{when}\n附件：{media}\n"
    "回执：{receipt}　紧急：{urgent}\n——————\n{excerpt}\n——————\n请审核：批准后立即按计划发送；退回需填写理由。"
)
UNKNOWN_NAME = "（未知）"
BTN_BC_APPROVE = "批准"
BTN_BC_RETURN = "退回"
BROADCAST_APPROVED_BY_YOU = "已批准通知 #{id}，共 {count} 人，正在按计划发送。"
BROADCAST_ASK_RETURN_REASON = "请发送退回通知 #{id} 的理由（将转告起草人）。发送 /cancel 放弃退回。"
BROADCAST_RETURNED_BY_YOU = "已退回通知 #{id}，理由已转告起草人。"
BROADCAST_RETURN_CANCELLED = "已放弃退回，通知 #{id} 仍在等待审核。"
BROADCAST_RETURN_REASON_NEEDED = "请用文字写明退回理由。"
BROADCAST_REVIEW_ALREADY = "通知 #{id} 已由其他把关人处理（或已不在待审核状态），无需再操作。"
BROADCAST_REVIEW_OWN = "不能审核自己起草的通知，需要另一位把关人批准。"
BROADCAST_REVIEW_NOT_REVIEWER = "只有把关人可以审核通知。"
BROADCAST_AUTHOR_APPROVED = "您起草的通知 #{id} 已由 {reviewer} 批准，共 {count} 人，正在按计划发送。"
BROADCAST_AUTHOR_RETURNED = (
    "您起草的通知 #{id} 被 {reviewer} 退回，未发送。\n理由：{reason}\n如需发送，请修改后重新编写（/broadcast）。"
)

# member preferences (/settings)
SETTINGS_CARD = (
    "⚙️ 通知设置\n关注主题：{topics}\n免打扰：{quiet}\n"
    "（免打扰时段内的普通通知会顺延到时段结束后送达，紧急通知不受影响。）"
)
SETTINGS_NO_TOPICS = "未选择"
SETTINGS_QUIET_OFF = "已关闭"
BTN_SETTINGS_QUIET_OFF = "关闭免打扰"
SETTINGS_SAVED = "已保存。"
SETTINGS_BLOCKED = "\n已停止推送的学习主题：{topics}（点按下方按钮可恢复）"
BTN_SETTINGS_UNBLOCK = "恢复推送：{topic}"
SETTINGS_UNBLOCKED = "已恢复推送“{topic}”主题的学习材料。"

# --- staff console (/console) ----------------------------------------------------------------------
CONSOLE_LINK = (
    "工作台登录链接（10 分钟内有效，只能使用一次，请勿转发）：\n{url}\n"
    "在电脑或手机浏览器中打开，点击“登录”。"
)

# --- learning library (/learn) ---------------------------------------------------------------------
LEARN_MENU = "学习资料库：共 {count} 份资料。请选择："
LEARN_EMPTY = "学习资料库里还没有资料，工作人员添加后即可在这里阅读。"
BTN_LEARN_CONTINUE = "继续学习"
BTN_LEARN_REQUIRED = "必学"
BTN_LEARN_NEW = "最新"
BTN_LEARN_TOPICS = "按主题"
BTN_LEARN_PREV = "上一页"
BTN_LEARN_NEXT = "下一页"
BTN_LEARN_DONE = "学完打卡"
BTN_LEARN_BACK = "返回目录"
LEARN_LIST_HEAD = {
    "continue": "继续学习（上次读到的位置）：",
    "required": "当前必学资料：",
    "new": "最新资料：",
    "topic": "主题“{topic}”的资料：",
}
LEARN_LIST_EMPTY = {
    "continue": "您没有读到一半的资料。可以从“最新”或“按主题”开始。",
    "required": "当前没有必学资料。",
    "new": "学习资料库里还没有资料。",
    "topic": "主题“{topic}”下还没有资料。",
}
LEARN_TOPICS_HEAD = "请选择主题："
LEARN_NO_TOPICS = "资料还没有标注主题。可以看“最新”资料。"
LEARN_LINE = "{n}. {title}（约 {minutes} 分钟）{state}"
LEARN_STATE_DONE = " ✓已学完"
LEARN_STATE_AT = " 读到第 {page}/{pages} 页"
LEARN_STATE_REQUIRED = " 【{label}】"
LEARN_REQUIRED_DEFAULT = "必学"
LEARN_PAGE = "《{source}》  第 {page}/{pages} 页\n\n{body}\n\n——摘自《{source}》"
LEARN_PAGE_LINK = "原文链接：{url}"
LEARN_LAST_PAGE_HINT = "已读到最后一页。读完请点“学完打卡”。"
LEARN_ALREADY_DONE = "您已于 {day} 学完本资料并打卡，可以随时重读。"
LEARN_RECORDED = "学完打卡成功：《{title}》，用时 {duration}，获得 {points} 分。"
LEARN_RECORDED_SHORT = (
    "学完打卡已记录：《{title}》，用时 {duration}，不到预计阅读时间（约 {minutes} 分钟）的 {percent}%，"
    "本次计 {points} 分。认真读完可得全部积分。"
)
LEARN_RECORDED_CAPPED = "（{reason}）"
LEARN_NOT_AT_END = "请先读到最后一页再打卡。"
LEARN_DURATION_MIN = "{minutes} 分钟"
LEARN_DURATION_SEC = "{seconds} 秒"
LEARN_NO_RULE = "当前积分规则没有学习打卡类型，无法记分，请联系工作人员。"

# staff: adding a material by sending a file, and the learning figures in /stats
LEARN_STATS_HEAD = "学习资料：{materials} 份；打开 {opened} 次，学完 {finished} 次，阅读时长中位数 {median}。"
LEARN_STATS_MISSING = "有必学资料未完成的委员：{count} 人"
LEARN_STATS_MATERIAL = "· 《{title}》打开 {opened}，学完 {finished}，中位数 {median}"
LEARN_STATS_NONE = "-"
LEARN_STATS_QUIZ = "，答题正确率 {share}%（{answered} 次作答）"
LEARN_DRAFT = (
    "学习资料草稿：\n标题：{title}\n出处：《{source}》\n主题：{topics}\n预计阅读：约 {minutes} 分钟\n共 {pages} 页\n"
    "确认后委员即可在 /learn 中阅读。"
)
LEARN_DRAFT_NO_TOPICS = "（未标注）"
LEARN_DRAFT_PUBLISHED = "已发布学习资料《{title}》，委员发送 /learn 即可阅读。"
LEARN_DRAFT_DROPPED = "已取消，这份资料没有发布。"
LEARN_UPLOAD_HOWTO = (
    "添加学习资料：发送 .docx .pdf .txt .md .html 文件，并在说明中写：标题 | 主题 | 分钟数，"
    "例如：政协章程学习读本 | 理论学习 | 30（主题和分钟数可省略）。"
)
LEARN_UPLOAD_BAD_TOPIC = "主题“{topic}”不在可选主题中。可选：{topics}"
LEARN_UPLOAD_BAD_MINUTES = "预计阅读时间须为 1 至 600 分钟，例如：政协章程学习读本 | 理论学习 | 30"
LEARN_UPLOAD_TOO_BIG = "文件过大（上限 {limit} MB）。"
LEARN_UPLOAD_UNREADABLE = "无法读取这个文件（只接受有文字的 .docx .pdf .txt .md .html）。"
# --- learning pushes (学习推送) -----------------------------------------------------------------------
LEARNING_PUSH_REASONS = {
    "required": "这是{label}材料，请在期限内学完。",
    "wrong": "与您答题中出错较多的“{topic}”主题相关，建议学习巩固。",
    "topic": "与您关注的“{topic}”主题相关。",
    "new": "资料库新上架的学习材料。",
}
LEARNING_PUSH_REQUIRED_LABEL = "必学"
LEARNING_PUSH_MESSAGE = "📚 本周学习推荐\n《{title}》（约 {minutes} 分钟）\n{why}"
BTN_LEARNING_PUSH_READ = "开始阅读"
BTN_LEARNING_PUSH_STOP = "不再推送此主题"
LEARNING_PUSH_STOPPED = "好的，今后不再向您推送“{topic}”主题的学习材料。"
LEARNING_PUSH_ALREADY_STOPPED = "“{topic}”主题已停止推送。"
LEARNING_PUSH_NO_TOPIC = "这条推送没有对应的主题，无需停止。"
# --- quiz (每日一题, /quiz, /quiz_review) -----------------------------------------------------------
QUIZ_OPTION_LETTERS = "ABCD"
QUIZ_DAILY_HEAD = "📅 每日一题"
QUIZ_QUIZ_HEAD = "📝 小测验 第 {n}/{total} 题"
QUIZ_OPTION_LINE = "{letter}. {option}"
QUIZ_FRAME = "“{frame}”（各选项只在括号处不同）"
QUIZ_FRAME_BLANK = "（　）"
QUIZ_NONE = "题库里暂时没有新题目了，工作人员审核通过新题后再来吧。"
QUIZ_DAILY_DONE = "今天的每日一题您已经答过了，明天再来！想多练几道，可以发 /quiz。"
QUIZ_ALREADY_ANSWERED = "这道题您已经答过了。"
QUIZ_RIGHT = "✅ 回答正确！"
QUIZ_RIGHT_POINTS = "获得 {points} 分（{label}）。"
QUIZ_RIGHT_CAPPED = "今天的答题积分已达上限，本题不再计分。"
QUIZ_WRONG = "❌ 回答错误。"
QUIZ_EXPLANATION = "正确答案：{letter}（{answer}）"
QUIZ_BASIS = "依据：{citation}"
QUIZ_SOURCE_HEADER = "{citation} 原文："
QUIZ_NO_SOURCE = "这道题没有引用条文。"
QUIZ_FINISHED = "本轮小测验结束：今天共答 {answered} 题，答对 {correct} 题。发 /quiz 再来一轮。"
QUIZ_MORE = "想再练几道？发 /quiz 做一轮小测验。"
BTN_QUIZ_NEXT = "下一题"
BTN_QUIZ_APPROVE = "通过"
BTN_QUIZ_REJECT = "驳回"
QUIZ_REVIEW_ONLY = "只有把关人（审核员）或管理员可以审核题目。"
QUIZ_REVIEW_EMPTY = "没有待审核的题目。生成题目：cppcc-bot quiz generate；也可以在工作台“题库”页添加。"
QUIZ_REVIEW_HEAD = "🧐 待审核题目（共 {count} 道）#{id} · {kind} · {origin}"
QUIZ_REVIEW_ANSWER = "答案：{letter}（{answer}）"
QUIZ_REVIEW_QUOTE = "原文（{citation}）：{quote}"
QUIZ_REVIEW_DONE = {"approved": "已通过第 {id} 题，委员从现在起可以答到它。", "rejected": "已驳回第 {id} 题。"}
QUIZ_REVIEW_ALREADY = "这道题已经审核过了（{status}）。"
QUIZ_KIND_LABELS = {"cloze": "填空", "choice": "选择"}
QUIZ_ORIGIN_LABELS = {"generated": "自动生成", "staff": "工作人员添加"}
QUIZ_STATUS_LABELS = {"draft": "待审核", "approved": "已通过", "rejected": "已驳回"}
