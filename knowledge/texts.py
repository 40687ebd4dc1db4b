"""Every user-facing Chinese string of the knowledge package, in one place."""

from __future__ import annotations

GREETING = "委员您好，"
ANSWER_INTRO = "委员您好，根据{citation}："
ALSO_RELEVANT = "另见{citation}。"
NOT_COVERED = (
    "委员您好，知识库中暂未找到能回答这个问题的规定或材料，为避免误导，这里不作推测。"
    "建议换个说法再问，或联系委员会办公室工作人员。"
)
CANDIDATES_INTRO = "委员您好，没有找到直接对应的规定，以下条款可能相关："
CANDIDATE_LINE = "{rank}. {citation}"
FAQ_SOURCE = "（来源：委员会办公室常见问题解答）"
SOURCES_LINE = "出处：{citations}"
CITATION_SEPARATOR = "；"
TRUNCATED = "……"
FOLLOWUP_JOIN = "{previous} {question}"

# LLM path
LLM_SYSTEM_PROMPT = (
    "你是政协委员履职助手。只能依据下面给出的条文回答委员的问题，不得使用条文以外的知识，不得编造。"
    "回答用简体中文，简洁，先说结论，再说依据；引用时必须照抄条文前的出处标注，格式如《文件名》第X条。"
    "如果条文不足以回答，就只回答：知识库未涉及。"
)
LLM_CONTEXT_HEADER = "条文："
LLM_HISTORY_HEADER = "上一轮对话（仅供理解指代）：\n问：{question}\n答：{answer}"
LLM_QUESTION = "委员的问题：{question}"
LLM_DECLINE_MARKER = "知识库未涉及"
# Reordering the candidates when no clause answers directly (knowledge.llm.LlmAnswerer.choose)
LLM_CHOOSE_PROMPT = (
    "你是政协委员履职助手的条文检索员。下面是编了号的条文和委员的问题。"
    "请找出能直接回答这个问题的条文，只回答它们的编号，最相关的在前，最多三个，用逗号分隔，例如：3,1。"
    "如果没有一条能回答，只回答：0。不要解释。"
)
LLM_CHOOSE_CLAUSES = "条文："

# Evaluation / CLI
EVAL_HEADER = "问题数 {n}：命中@1 {hit1:.3f}，命中@5 {hit5:.3f}，MRR {mrr:.3f}，拒答判断准确率 {refusal:.3f}"
