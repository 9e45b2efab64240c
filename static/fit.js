// Team names wrap between words only (style.css): "Wolverhampton / Wanderers", never
// "Wolverham / pton". A single word wider than its column (Wolverhampton in a third of a
// phone, in a wide font) would then stick out of its box; instead the font shrinks, a pixel
// at a time, until the word fits, down to MIN_PX (below that the box clips it). The names of
// one match (a scoreline, a fixture row) shrink together, so home and away stay the same size.

const MIN_PX = 11;

function overflows(el) {
  return el.scrollWidth > el.clientWidth;
}

/** Shrink `el`'s font until its content fits its width; returns the size it ended at. */
function shrink(el, minPx) {
  let size = parseFloat(getComputedStyle(el).fontSize);
  while (overflows(el) && size > minPx) {
    size -= 1;
    el.style.fontSize = `${size}px`;
  }
  return size;
}

/** Fit every team name under `root` (after a resize, names shrunk before may grow back). */
export function fitNames(root = document, minPx = MIN_PX) {
  const names = [...root.querySelectorAll(".team")];
  for (const el of names) if (el.style.fontSize) el.style.fontSize = "";
  // Read first, all at once: one layout for the page, then work only where a name overflows.
  const tooWide = names.filter((el) => el.clientWidth > 0 && overflows(el));
  const sizes = new Map();   // the names' common parent (one match) -> smallest size needed
  for (const el of tooWide) {
    const size = shrink(el, minPx);
    const match = el.parentElement;
    sizes.set(match, Math.min(size, sizes.get(match) ?? Infinity));
  }
  for (const [match, size] of sizes) {
    for (const el of match.querySelectorAll(":scope > .team")) el.style.fontSize = `${size}px`;
  }
}

/** Fit the names now and again whenever the window's width changes (rotation, resizing). */
export function keepNamesFitted(root = document) {
  fitNames(root);
  let width = innerWidth;
  let frame = 0;
  addEventListener("resize", () => {
    if (innerWidth === width) return;
    width = innerWidth;
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => fitNames(root));
  });
}
