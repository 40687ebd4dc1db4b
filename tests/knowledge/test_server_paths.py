"""The "real server" paths the README promises, exercised over HTTP on 127.0.0.1.

* CHROMA_URL: a real ``chroma run`` server (client/server mode), shared by two knowledge bases;
* EMBEDDINGS_*: an OpenAI-compatible ``/v1/embeddings`` endpoint (an aiohttp fake) behind ``make_embedder``;
* LLM_*: an OpenAI-compatible ``/v1/chat/completions`` endpoint (an aiohttp fake) behind ``make_chat_model``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from aiohttp import web

from knowledge import texts
from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import HashEmbedder, OpenAIEmbedder
from knowledge.retrieval import Retrieval
from knowledge.service import KnowledgeBase

pytestmark = pytest.mark.real

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMA_BIN = REPO_ROOT / ".venv" / "bin" / "chroma"

TITLE = "政协委员履职管理办法"
REGULATION = f"""标题：{TITLE} | 发布机关：本委员会办公室

# {TITLE}

第一条 为规范政协委员履行职责，加强委员队伍建设，制定本办法。

第二条 委员每年应当至少提交一件提案，提案应当有情况、有分析、有具体建议。

第三条 委员因故不能出席全体会议的，应当事先向委员会办公室书面请假。

第四条 委员连续两次无故不出席全体会议的，由委员会办公室进行约谈。
"""
INVENTED = "《某某条例》第九十九条"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy for loopback (httpx honours *_PROXY), and no telemetry from Chroma."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def regulation(tmp_path: Path) -> Path:
    path = tmp_path / "docs" / f"{TITLE}.md"
    path.parent.mkdir()
    path.write_text(REGULATION, encoding="utf-8")
    return path


# ---- a real Chroma server -------------------------------------------------------------------------


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    assert CHROMA_BIN.exists(), f"{CHROMA_BIN} missing (chromadb ships the server)"
    port = _free_port()
    log_path = tmp_path / "chroma.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "NO_COLOR": "1"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(CHROMA_BIN), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited {proc.returncode}: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"chroma server not ready in 30 s: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_chroma_server_mode_shared_between_two_knowledge_bases(
    tmp_path: Path, chroma_url: str, regulation: Path, embedder: Any
) -> None:
    config = KnowledgeConfig(
        persist_dir=tmp_path / "local-a", chroma_url=chroma_url, embedder="hash",
        thresholds=Thresholds(min_dense=0.1),
    )
    first_embedder = embedder  # the counting hashed fake of tests/knowledge/conftest.py
    first = KnowledgeBase.open(config, embedder=first_embedder)
    assert type(first.store.client._server).__name__ == "FastAPI"  # chromadb's HTTP client, not local
    report = first.ingest([regulation])
    assert report.files[0].error is None
    assert report.embedded == report.chunks == 4
    assert first_embedder.passages_embedded == 4
    # Nothing was written locally: the server holds the data.
    assert not (tmp_path / "local-a").exists()

    hits = first.search("不能出席全体会议怎么请假")
    assert hits and hits[0].label == "第三条"
    answer = first.answer("不能出席全体会议怎么请假")
    assert answer.answered and "第三条" in answer.text

    # A second process-like client: another persist_dir, a fresh embedder, the same server.
    second_embedder = type(embedder)()
    second = KnowledgeBase.open(
        KnowledgeConfig(persist_dir=tmp_path / "local-b", chroma_url=chroma_url, embedder="hash",
                        thresholds=Thresholds(min_dense=0.1)),
        embedder=second_embedder,
    )
    assert second.store.count() == 4
    assert [(s.title, s.chunks) for s in second.list_sources()] == [(TITLE, 4)]
    lexical = second.retriever.chunks  # BM25 rebuilt from the server's stored chunks
    assert sorted(sc.chunk.label or "" for sc in lexical) == ["第一条", "第三条", "第二条", "第四条"]
    hits = second.search("每年至少提交几件提案")
    assert hits and hits[0].label == "第二条"
    assert second_embedder.passages_embedded == 0  # opening and searching never re-embeds

    # Re-ingesting the unchanged file through the second client reuses every stored vector.
    again = second.ingest([regulation])
    assert (again.embedded, again.reused) == (0, 4)
    assert second_embedder.passages_embedded == 0

    # A removal through one client is visible to the other after it reloads.
    assert second.remove(regulation.name) == 4
    assert first.store.count() == 0


def test_clause_vectors_live_on_the_chroma_server(tmp_path: Path, chroma_url: str, embedder: Any) -> None:
    """Clauses are written to the server beside their articles, read back by another client, and removed
    with them."""
    path = tmp_path / f"{TITLE}.md"
    path.write_text(REGULATION.replace("有具体建议。", "有具体建议；\n提案应当一事一案，不得代表他人署名。"), "utf-8")

    def config(name: str) -> KnowledgeConfig:
        return KnowledgeConfig(persist_dir=tmp_path / name, chroma_url=chroma_url, embedder="hash",
                               thresholds=Thresholds(min_dense=0.1))

    first = KnowledgeBase.open(config("local-a"), embedder=embedder)
    report = first.ingest([path])
    assert report.clauses == 2 and first.store.clauses.count() == 2  # 第二条: two sentences
    assert embedder.passages_embedded == report.chunks + 2
    assert not (tmp_path / "local-a").exists()

    second = KnowledgeBase.open(config("local-b"), embedder=type(embedder)())
    assert second.retriever.clause_count == 2
    owners = {second.retriever.by_id[o].chunk.label for o in second.store.clause_mirror().owners}
    assert owners == {"第二条"}
    assert second.remove(path.name) == 4
    assert first.store.clauses.count() == 0


# ---- an aiohttp OpenAI-compatible server in a background thread -----------------------------------


@dataclass
class FakeOpenAI:
    base_url: str
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, _, body in self.requests if p == path]


Handler = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def openai_server() -> Iterator[Callable[[dict[str, Handler]], FakeOpenAI]]:
    """``openai_server({"/v1/embeddings": handler})`` → a running fake on 127.0.0.1 (stopped after)."""
    stops: list[Callable[[], None]] = []

    def start(routes: dict[str, Handler]) -> FakeOpenAI:
        port = _free_port()
        fake = FakeOpenAI(base_url=f"http://127.0.0.1:{port}/v1")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        runner_box: list[web.AppRunner] = []

        def make_view(path: str, handler: Handler) -> Any:
            async def view(request: web.Request) -> web.Response:
                body = await request.json()
                fake.requests.append((path, dict(request.headers), body))
                return web.json_response(handler(body))

            return view

        async def serve() -> None:
            app = web.Application()
            for path, handler in routes.items():
                app.router.add_post(path, make_view(path, handler))
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runner_box.append(runner)
            ready.set()

        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=10)
        assert ready.wait(10)

        def stop() -> None:
            asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

        stops.append(stop)
        return fake

    yield start
    for stop in stops:
        stop()


def _embeddings_handler(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    hasher = HashEmbedder()
    data = []
    for i, text in enumerate(inputs):
        assert isinstance(text, str), f"token ids sent instead of text: {text!r}"
        vec = hasher._one(text).astype(np.float32)
        embedding: Any = (
            base64.b64encode(vec.tobytes()).decode() if body.get("encoding_format") == "base64" else vec.tolist()
        )
        data.append({"object": "embedding", "embedding": embedding, "index": i})
    return {"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}}


def test_openai_compatible_embeddings_endpoint(
    tmp_path: Path, regulation: Path, openai_server: Callable[[dict[str, Handler]], FakeOpenAI]
) -> None:
    server = openai_server({"/v1/embeddings": _embeddings_handler})
    config = KnowledgeConfig(
        persist_dir=tmp_path / "chroma", embedder="openai", embeddings_base_url=server.base_url,
        embeddings_api_key="test", embeddings_model="bge-m3",
    )
    kb = KnowledgeBase.open(config)  # no embedder passed: make_embedder builds the real client
    assert isinstance(kb.embedder, OpenAIEmbedder)
    assert kb.embedder.id == "openai-bge-m3"
    assert kb.store.collection.name == "kb_openai-bge-m3"

    report = kb.ingest([regulation])
    assert report.files[0].error is None and report.embedded == 4
    passage_requests = server.bodies("/v1/embeddings")
    assert len(passage_requests) == 1
    sent = passage_requests[0]["input"]
    # Pinned: raw strings (no token ids), exactly the chunks' indexed text, no e5 "passage: " prefix.
    chunks = sorted(kb.retriever.chunks, key=lambda sc: sc.chunk.ordinal)
    assert sent == [sc.chunk.indexed_text() for sc in chunks]
    assert all(isinstance(t, str) and not t.startswith(("passage:", "query:")) for t in sent)
    assert all(TITLE in t for t in sent)
    assert passage_requests[0]["model"] == "bge-m3"
    assert passage_requests[0].get("encoding_format") in (None, "float", "base64")

    question = "不能出席全体会议怎么请假"
    hits = kb.search(question)
    assert hits and hits[0].label == "第三条"
    query_requests = server.bodies("/v1/embeddings")[1:]
    assert [r["input"] for r in query_requests] == [[question]]  # the query, raw, one request

    for _, headers, _ in server.requests:
        assert headers.get("Authorization") == "Bearer test"
        assert headers.get("Host", "").startswith("127.0.0.1:")


# ---- an OpenAI-compatible chat endpoint (the LLM path) --------------------------------------------


def test_openai_compatible_chat_endpoint_keeps_only_retrieved_citations(
    tmp_path: Path, regulation: Path, openai_server: Callable[[dict[str, Handler]], FakeOpenAI],
    no_network: list[str],
) -> None:
    reply = (
        f"委员因故不能出席全体会议的，应当事先向委员会办公室书面请假（《{TITLE}》第三条）。"
        f"另据{INVENTED}，请假须提前七日。"
    )

    def chat(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }

    server = openai_server({"/v1/chat/completions": chat})
    config = KnowledgeConfig(
        persist_dir=tmp_path / "chroma", embedder="hash", thresholds=Thresholds(min_dense=0.1),
        llm_base_url=server.base_url, llm_api_key="llm-key", llm_model="qwen-test",
    )
    kb = KnowledgeBase.open(config)  # no chat_model passed: make_chat_model builds the real ChatOpenAI
    assert kb.llm is not None and type(kb.llm.chat_model).__name__ == "ChatOpenAI"
    kb.ingest([regulation])

    question = "委员不能出席全体会议怎么请假"
    answer = kb.answer(question)
    assert answer.mode == "llm" and answer.answered
    assert [str(c) for c in answer.citations] == [f"《{TITLE}》第三条"]
    assert INVENTED not in answer.text and "某某条例" not in answer.text
    assert answer.text.startswith(texts.GREETING)
    assert f"《{TITLE}》第三条" in answer.text
    assert answer.text.endswith(texts.SOURCES_LINE.format(citations=f"《{TITLE}》第三条"))
    assert "请假须提前七日" in answer.text  # the model's wording is kept; only the invented citation goes

    (path, headers, body), = server.requests
    assert path == "/v1/chat/completions"
    assert headers.get("Authorization") == "Bearer llm-key"
    assert headers.get("Host", "").startswith("127.0.0.1:")
    assert body["model"] == "qwen-test" and body.get("temperature") == 0.1
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == texts.LLM_SYSTEM_PROMPT
    user = messages[1]["content"]
    assert user.startswith(texts.LLM_CONTEXT_HEADER)
    assert user.endswith(texts.LLM_QUESTION.format(question=question))
    # Only retrieved clauses are in the prompt, each under its citation.
    for i, passage in enumerate(answer.passages, start=1):
        assert f"[{i}] 《{passage.title}》{passage.label}\n" in user
    assert "第三条 委员因故不能出席全体会议的" in user
    assert "某某条例" not in user and "第九十九条" not in user
    assert no_network == []  # nothing left 127.0.0.1


def test_openai_compatible_chat_endpoint_chooses_the_candidates(
    tmp_path: Path, regulation: Path, openai_server: Callable[[dict[str, Handler]], FakeOpenAI],
    no_network: list[str],
) -> None:
    def chat(body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "3"}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
        }

    server = openai_server({"/v1/chat/completions": chat})
    config = KnowledgeConfig(
        persist_dir=tmp_path / "chroma", embedder="hash", thresholds=Thresholds(min_dense=0.1),
        llm_base_url=server.base_url, llm_api_key="llm-key", llm_model="qwen-test",
    )
    kb = KnowledgeBase.open(config)
    kb.ingest([regulation])
    ranked = kb.search("委员缺席全体会议会怎样", k=10)
    assert len(ranked) == 4

    def undecided(question: str, k: int = 5) -> Retrieval:  # what the calibrated model says when unsure
        return Retrieval(ranked[:k], 0.5, 0.5, 0.2, decision="candidates", probability=0.3)

    kb.retrieve = undecided  # type: ignore[method-assign]
    answer = kb.answer("委员缺席全体会议会怎样")
    assert answer.mode == "candidates" and not answer.answered
    assert [c.label for c in answer.candidates] == [ranked[2].label, ranked[0].label, ranked[1].label]
    (path, _, body), = server.requests
    assert path == "/v1/chat/completions"
    assert body["messages"][0]["content"] == texts.LLM_CHOOSE_PROMPT
    assert f"[3] 《{TITLE}》{ranked[2].label}\n" in body["messages"][1]["content"]
