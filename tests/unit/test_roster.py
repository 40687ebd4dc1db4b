"""Roster CSV parsing: encodings, header aliases, validation with line numbers."""

from __future__ import annotations

from store.models import Role
from store.roster import parse_roster

HEADER = "name,sector,district,groups,role,telegram_id,phone\n"


def test_parses_utf8_with_groups_and_roles() -> None:
    data = (HEADER + "张明,经济界,渝中区,提案委员会；第一联络组,member,,138-0000-0001\n"
            "李干事,,,,staff,9001,\n").encode()
    result = parse_roster(data)
    assert result.ok
    first, second = result.rows
    assert first.name == "张明" and first.groups == ("提案委员会", "第一联络组")
    assert first.phone == "13800000001" and first.telegram_id is None and first.role is Role.MEMBER
    assert second.role is Role.STAFF and second.telegram_id == 9001 and second.line == 3


def test_bom_and_gbk_are_decoded() -> None:
    text = HEADER + "王芳,教育界,江北区,,委员,,\n"
    for data in (b"\xef\xbb\xbf" + text.encode("utf-8"), text.encode("gbk")):
        result = parse_roster(data)
        assert result.ok, result.errors
        assert result.rows[0].name == "王芳" and result.rows[0].sector == "教育界"


def test_chinese_headers_are_accepted() -> None:
    data = "姓名,界别,地区,分组,角色,telegram_id,手机\n赵强,农业界,渝北区,,admin,,\n".encode()
    result = parse_roster(data)
    assert result.ok and result.rows[0].role is Role.ADMIN and result.rows[0].district == "渝北区"


def test_errors_carry_line_numbers_and_every_bad_row_is_reported() -> None:
    data = (HEADER
            + "张明,经济界,渝中区,,member,,\n"
            + ",经济界,,,member,,\n"          # line 3: no name
            + "李四,,,,boss,,\n"             # line 4: bad role
            + "王五,,,,member,12ab,\n"        # line 5: bad telegram id
            + "张明,经济界,渝中区,,member,,\n"  # line 6: duplicate of line 2
            + "赵六,,,,member,,电话\n").encode()  # line 7: bad phone
    result = parse_roster(data)
    assert not result.ok
    assert [line for line, _ in result.errors] == [3, 4, 5, 6, 7]
    assert "第 2 行" in result.errors[3][1]


def test_duplicate_telegram_ids_rejected() -> None:
    data = (HEADER + "甲,,,,member,5,\n乙,,,,member,5,\n").encode()
    result = parse_roster(data)
    assert result.errors == [(3, "telegram_id 5 与第 2 行重复")]


def test_missing_name_column_and_empty_file() -> None:
    assert parse_roster(b"sector,district\nx,y\n").errors[0][0] == 1
    assert parse_roster(b"").errors == [(0, "文件是空的")]
    assert parse_roster(HEADER.encode()).errors == [(0, "文件中没有成员记录")]


def test_undecodable_bytes_are_reported_not_raised() -> None:
    result = parse_roster(b"\xff\xfe\x00\x81\x00")
    assert not result.ok and result.errors[0][0] == 0
