from __future__ import annotations

from pathlib import Path

from knowledge.chunking import chunk_document
from knowledge.loaders import load, plain_to_markdown


def _chunks(path: Path):
    return chunk_document(load(path))


def test_charter_one_chunk_per_article_with_chapter_and_metadata(samples: Path) -> None:
    doc = load(samples / "中国人民政治协商会议章程.md")
    assert doc.meta.title == "中国人民政治协商会议章程"
    assert doc.meta.issuer and doc.meta.issuer.startswith("中国人民政治协商会议全国委员会")
    assert doc.meta.version and "2018" in doc.meta.version
    chunks = chunk_document(doc)
    art28 = [c for c in chunks if c.article == "第二十八条"]
    assert len(art28) == 1
    assert art28[0].chapter == "第二章 组织总则"
    assert art28[0].text.startswith("第二十八条 ") and "声明退出的自由" in art28[0].text
    labels = [c.article for c in chunks if c.article and c.article.startswith("第")]
    assert labels.count("第六十三条") >= 1 and "第一条" in labels
    assert any(c.article == "总纲" and "团结和民主" in c.text for c in chunks)


def test_lawrefbook_split_items_stay_with_their_article(samples: Path) -> None:
    anthem = {c.article: c for c in _chunks(samples / "中华人民共和国国歌法.md")}
    fourth = anthem["第四条"].text
    assert "中国人民政治协商会议全国委员会会议和地方各级委员会会议的开幕、闭幕" in fourth
    assert "（九）其他应当奏唱国歌的场合" in fourth
    flag = [c for c in _chunks(samples / "中华人民共和国国旗法.md") if c.article == "第五条"]
    assert any("中国人民政治协商会议全国委员会" in c.text for c in flag)


def test_constitution_sections_and_preamble(samples: Path) -> None:
    chunks = _chunks(samples / "中华人民共和国宪法.md")
    preamble = [c for c in chunks if c.article == "序言"]
    assert any("中国人民政治协商会议是有广泛代表性的统一战线组织" in c.text for c in preamble)
    art62 = next(c for c in chunks if c.article == "第六十二条")
    assert art62.chapter == "第三章 国家机构 第一节 全国人民代表大会"


def test_long_article_split_on_sentences_keeps_label(samples: Path) -> None:
    chunks = _chunks(samples / "中华人民共和国宪法.md")
    parts = [c for c in chunks if c.part > 0]
    assert parts, "some constitution articles are long enough to split"
    for part in parts:
        siblings = [c for c in chunks if c.article == part.article]
        assert len(siblings) >= 2
        assert all(len(c.text) <= 800 for c in siblings)


def test_hard_wrapped_pdf_report_is_rejoined(samples: Path) -> None:
    doc = load(samples / "reports" / "001_b4365e209ef0ca1a.txt")
    text = doc.text
    assert "服务群众的最前沿" in text  # was broken as "服务群\n众的最前沿"
    assert "基层自治组织，后者则以平台为载体" in text  # spaced-out characters squeezed
    assert "7个区县" in text
    chunks = chunk_document(doc)
    assert chunks and all(c.article is None for c in chunks)
    assert max(len(c.text) for c in chunks) <= 700
    assert any(c.section for c in chunks)


def test_prose_report_sections(samples: Path) -> None:
    doc = load(samples / "reports" / "000_ab1f9977369f3b04.txt")
    assert doc.meta.title.startswith("创新优化政协履职平台载体")
    chunks = chunk_document(doc)
    assert any(c.section == "一、经验成效" for c in chunks)
    assert all(c.text for c in chunks)


def test_plain_text_rejoin_unit() -> None:
    lines = ["这是一段被硬换行的文字，它在", "中间被截断了，需要重新连接起", "来。下一句话在这里结束。"]
    wrapped = "\n".join(lines * 4)
    md = plain_to_markdown(wrapped)
    assert "它在中间被截断了，需要重新连接起来。" in md


def test_html_and_docx_loaders(tmp_path: Path) -> None:
    html = tmp_path / "guide.html"
    html.write_text(
        "<html><head><title>办事指南</title><script>x=1</script></head><body>"
        "<h2>第一章 总则</h2><p>第一条 本指南适用于委员。</p><p>第二条 委员应当按时参加会议。</p>"
        "<p>第三条 委员可以提出建议。</p></body></html>",
        encoding="utf-8",
    )
    chunks = chunk_document(load(html))
    assert [c.article for c in chunks] == ["第一条", "第二条", "第三条"]
    assert chunks[0].title == "办事指南" and chunks[0].chapter == "第一章 总则"

    import docx

    document = docx.Document()
    document.add_heading("委员须知", level=0)
    document.add_heading("会议纪律", level=1)
    document.add_paragraph("参加会议应当提前十分钟签到。")
    path = tmp_path / "须知.docx"
    document.save(str(path))
    loaded = load(path)
    chunks = chunk_document(loaded)
    assert loaded.meta.title == "委员须知"
    assert chunks[0].section == "会议纪律" and "签到" in chunks[0].text
