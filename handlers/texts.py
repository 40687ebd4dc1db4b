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
CODE_UNKNOWN = "这个邀请码无效，请核对后重新发送（8 位字母和数字，不区分大小写）。"
CODE_USED = "这个邀请码已经被其他账号绑定。如有疑问，请联系委员会办公室。"
CODE_INACTIVE = "这个邀请码对应的账号已停用，请联系委员会办公室。"
CODE_TOO_MANY = "邀请码尝试次数过多，请 10 分钟后再试，或联系委员会办公室。"
STAFF_ONLY = "这项功能仅限机关工作人员使用。"
PRIVATE_ONLY = "请私聊我使用本助手，群里不处理个人事务。"

# Help
HELP_MEMBER_HEAD = "委员您好，我可以帮您："
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
    "start": "开始使用 / 绑定账号",
    "help": "我能做什么",
    "ask": "问政策和程序",
    "checkin": "学习打卡",
    "credits": "我的积分",
    "propose": "提建议",
    "my": "我的建议",
    "settings": "通知设置",
    "cancel": "取消当前操作",
    "event": "新建线下活动",
    "broadcast": "发布通知",
    "review": "待办建议",
    "stats": "统计",
    "gaps": "未答问题",
}
