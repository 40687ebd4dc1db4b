"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from store.models.base import Base
from store.models.broadcasts import (
    Broadcast,
    BroadcastDelivery,
    BroadcastDraft,
    BroadcastReturnPrompt,
    MemberPreference,
)
from store.models.console import AppState, ConsoleLink, ConsoleSession, KbDocument
from store.models.core import AppSecret, AuditLog, InviteAttempt, Member, MemberGroup, ProcessedUpdate, Role
from store.models.credits import (
    CheckinDraft,
    CreditDispute,
    CreditEntry,
    CreditEvent,
    EventAttendance,
    EventCheckinAttempt,
    EventQrPage,
    ReminderPreference,
    StudyCheckin,
)
from store.models.knowledge import FaqEntry, QuestionLog
from store.models.learning import LearningMaterial, MaterialReading
from store.models.learning_push import LearningPush, LearningPushBlock
from store.models.notices import MemberNotice
from store.models.proposals import (
    Proposal,
    ProposalCounter,
    ProposalDraft,
    ProposalEvent,
    ProposalNotification,
    ProposalPhoto,
    ProposalSupporter,
    ProposalWebhookEvent,
)
from store.models.quiz import QuizAnswer, QuizQuestion

__all__ = [
    "AppSecret",
    "AppState",
    "AuditLog",
    "Base",
    "Broadcast",
    "BroadcastDelivery",
    "BroadcastDraft",
    "BroadcastReturnPrompt",
    "CheckinDraft",
    "ConsoleLink",
    "ConsoleSession",
    "CreditDispute",
    "CreditEntry",
    "CreditEvent",
    "EventAttendance",
    "EventCheckinAttempt",
    "EventQrPage",
    "FaqEntry",
    "InviteAttempt",
    "KbDocument",
    "LearningMaterial",
    "LearningPush",
    "LearningPushBlock",
    "MaterialReading",
    "Member",
    "MemberGroup",
    "MemberNotice",
    "MemberPreference",
    "ProcessedUpdate",
    "Proposal",
    "ProposalCounter",
    "ProposalDraft",
    "ProposalEvent",
    "ProposalNotification",
    "ProposalPhoto",
    "ProposalSupporter",
    "ProposalWebhookEvent",
    "QuestionLog",
    "QuizAnswer",
    "QuizQuestion",
    "ReminderPreference",
    "Role",
    "StudyCheckin",
]
