from __future__ import annotations

import subprocess

from discovery.ssh.script import build_script, split_sections


def test_sections_carry_text_and_exit_status() -> None:
    raw = "noise\n@@cmdb-begin a\nline1\nline2\n\n@@cmdb-end a 0\n@@cmdb-begin b\n\n@@cmdb-end b 127\n"
    sections = split_sections(raw)
    assert {(s.name, s.text, s.rc) for s in sections.values()} == {("a", "line1\nline2", 0), ("b", "", 127)}


def test_a_section_cut_short_has_no_status() -> None:
    sections = split_sections("@@cmdb-begin a\npartial\n@@cmdb-begin b\nx\n")
    assert {(s.name, s.text, s.rc) for s in sections.values()} == {("a", "partial", -1), ("b", "x", -1)}


def test_script_tolerates_missing_commands_and_keeps_going() -> None:
    script = build_script(commands=(("one", "echo 1"), ("gone", "no-such-command-xyz"), ("two", "printf 2")))
    out = subprocess.run(["sh", "-s"], input=script, capture_output=True, text=True, timeout=10, check=True).stdout
    sections = split_sections(out)
    assert {(s.name, s.text, s.rc) for s in sections.values()} == {("one", "1", 0), ("gone", "", 127), ("two", "2", 0)}


def test_sudo_is_opt_in() -> None:
    assert "CMDB_SUDO_SS=0" in build_script()
    assert "CMDB_SUDO_SS=1" in build_script(sudo_ss=True)


def test_markers_count_only_at_the_start_of_a_line() -> None:
    raw = "@@cmdb-begin a\nx @@cmdb-end a 0\n@@cmdb-begin b inside\n@@cmdb-end a 3\n@@cmdb-begin c\nend"
    sections = split_sections(raw)
    assert {(s.name, s.text, s.rc) for s in sections.values()} == {
        ("a", "x @@cmdb-end a 0", -1), ("b", "", -1), ("c", "end", -1)}
