"""Measuring pages as laid out by Chromium: overflow, one-line header, whole words, text size.

Each check returns a list of problems (empty when the page is fine), so a failing test names
every element at fault, not just the first.
"""
from __future__ import annotations

from typing import Any

PHONE = 390
DESKTOP = 1280
WIDTHS = (DESKTOP, PHONE)


def new_context(browser: Any, width: int, **extra: Any) -> Any:
    """A phone (touch, mobile viewport) at 390 px or a desktop window at 1280 px."""
    phone = width < 600
    options: dict[str, Any] = {
        "viewport": {"width": width, "height": 844 if phone else 800},
        "is_mobile": phone, "has_touch": phone, "device_scale_factor": 1,
        "locale": "en-GB", "timezone_id": "Europe/London",
    }
    context = browser.new_context(**{**options, **extra})
    context.set_default_timeout(15000)  # a wait, not a speed goal: parallel test workers share 2 cores
    return context


# Elements that are meant to sit outside the layout: screen-reader text, the skip link until it
# is focused, the SVG sprite.
_HELPERS = r"""
const skipped = (el) => Boolean(el.closest(".sr-only, .x, .skip-link, .icon-sprite, template"));
const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
const name = (el) => {
  const host = el.getRootNode().host;
  const cls = typeof el.className === "string" && el.className.trim()
    ? "." + el.className.trim().split(/\s+/).join(".") : "";
  return `${host ? name(host) + " >> " : ""}${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${cls}`;
};
// Inside a box that scrolls or clips sideways (a wide table, a code snippet), sticking out of
// the viewport is that box's business, not the page's.
const inScroller = (el) => {
  for (let p = el.parentElement || el.getRootNode().host; p && p !== document.body; p = p.parentElement || p.getRootNode().host) {
    if (getComputedStyle(p).overflowX !== "visible") return true;
  }
  return false;
};
const everything = (root = document) => {
  const found = [];
  for (const el of root.querySelectorAll("*")) {
    found.push(el);
    if (el.shadowRoot) found.push(...everything(el.shadowRoot));
  }
  return found;
};
// A box that ends its text in an ellipsis is cut on purpose (a long competition name).
const ellipsis = (el) => {
  const style = getComputedStyle(el);
  return style.overflowX === "hidden" && style.textOverflow === "ellipsis";
};
"""

OVERFLOW = _HELPERS + r"""
(boxes) => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width) {
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
  }
  for (const el of everything()) {
    if (skipped(el) || !shown(el) || inScroller(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.width > width + 0.5) problems.push(`${name(el)} is ${Math.round(box.width)} px wide`);
    else if (box.right > width + 0.5 || box.left < -0.5) {
      problems.push(`${name(el)} sticks out of the viewport (${Math.round(box.left)}..${Math.round(box.right)})`);
    }
  }
  // Inside the boxes that hold scores, nothing may run out of its own box.
  const inBoxes = everything().filter((el) => boxes.some((selector) => el.closest(selector)));
  for (const el of inBoxes) {
    if (skipped(el) || !shown(el) || getComputedStyle(el).display.startsWith("inline")) continue;
    if (el.scrollWidth > el.clientWidth + 1 && !ellipsis(el)) {
      problems.push(`${name(el)} overflows its box: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  return problems;
}
"""

# A team name shows whole: no word split over two lines, nothing cut off.
TEAM_NAMES = _HELPERS + r"""
(selector) => {
  const problems = [];
  const names = everything().filter((el) => el.matches(selector) && shown(el) && el.textContent);
  for (const el of names) {
    const text = el.firstChild;
    if (!text || text.nodeType !== Node.TEXT_NODE) continue;
    for (const word of text.data.matchAll(/\S+/g)) {
      const range = document.createRange();
      range.setStart(text, word.index);
      range.setEnd(text, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (lines.size > 1) problems.push(`${name(el)}: "${word[0]}" is broken over ${lines.size} lines`);
    }
    if (el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${name(el)}: "${el.textContent}" is cut off (${el.scrollWidth} > ${el.clientWidth})`);
    }
  }
  return [problems, names.length];
}
"""

HEADER = _HELPERS + r"""
() => {
  // The header's line (brand, navigation, badge) is one line of --head-h; on a phone a
  // connection problem may add a strip under it, itself one line.
  const problems = [];
  const header = document.querySelector(".site-header");
  const line = parseFloat(getComputedStyle(header).getPropertyValue("--head-h")) * 16;
  const top = header.getBoundingClientRect().top;
  const conn = header.querySelector(".conn");
  const strip = shown(conn) && conn.getBoundingClientRect().top >= top + line - 1 ? conn.getBoundingClientRect().height : 0;
  const height = header.getBoundingClientRect().height;
  if (Math.abs(height - line - strip) > 0.5) problems.push(`header is ${height} px high: one line is ${line}, the strip ${strip}`);
  if (strip > 48) problems.push(`the connection strip is ${strip} px high`);
  if (header.scrollWidth > header.clientWidth) problems.push(`header overflows: ${header.scrollWidth} > ${header.clientWidth}`);
  for (const el of header.querySelectorAll(".brand, .site-nav a, .conn-label, .conn-detail, .conn-retry")) {
    if (!shown(el) || !el.textContent.trim()) continue;
    const box = el.getBoundingClientRect();
    const lines = new Set([...el.getClientRects()].map((r) => Math.round(r.top)));
    const inStrip = strip && el.closest(".conn");
    if (lines.size > 1 || box.height > line) problems.push(`${name(el)} "${el.textContent.trim()}" takes more than one line`);
    if (!inStrip && box.bottom > top + line + 0.5) problems.push(`${name(el)} is below the header's line`);
  }
  return problems;
}
"""


# The smallest text a reader meets: every element with its own text, and its font size.
TEXT_SIZES = _HELPERS + r"""
(root) => {
  const sizes = [];
  const scope = root ? everything().filter((el) => el.closest(root) || el.getRootNode().host?.closest(root)) : everything();
  for (const el of scope) {
    if (skipped(el) || !shown(el)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.data.trim());
    if (own) sizes.push([name(el), parseFloat(getComputedStyle(el).fontSize), el.textContent.trim().slice(0, 40)]);
  }
  return sizes;
}
"""


def overflow_problems(page: Any, boxes: tuple[str, ...]) -> list[str]:
    return page.evaluate(OVERFLOW, list(boxes))


def team_name_problems(page: Any, selector: str = ".team") -> tuple[list[str], int]:
    problems, count = page.evaluate(TEAM_NAMES, selector)
    return problems, count


def header_problems(page: Any) -> list[str]:
    return page.evaluate(HEADER)


def text_sizes(page: Any, root: str | None = None) -> list[tuple[str, float, str]]:
    return [tuple(row) for row in page.evaluate(TEXT_SIZES, root)]
