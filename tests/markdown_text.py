"""What a reader sees of the Markdown that `emodetect.app.page.plain` makes: AppTest reports an element's Markdown
source, and the tests compare what the visitor reads (the browser tests check the real rendering)."""

from __future__ import annotations

import re

# A code span (its fence, then the shortest content closed by the same fence) or a backslash escape.
_TOKEN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)|\\([!-/:-@\[-`{-~])", re.S)


def shown(markdown: str) -> str:
    def text(match: re.Match) -> str:
        if match.group(3) is not None:
            return match.group(3)
        content = match.group(2)
        if len(content) > 1 and content[0] == content[-1] == " " and content.strip():
            content = content[1:-1]
        return content

    return _TOKEN.sub(text, markdown)
