/**
 * Minimal SVG drawing primitives for the architecture diagram: escaped text, boxes that wrap
 * their text to the box width and report their height, arrows with labels. Hand-written (no
 * dependency) and deterministic: integer coordinates, fixed attribute order, no timestamps.
 */

export const FONT = "Helvetica, Arial, sans-serif";
export const COLORS = {
  background: "#ffffff",
  text: "#16191f",
  muted: "#414d5c",
  arrow: "#16191f",
  dashedArrow: "#545b64",
} as const;

/** Stroke and fill of a kind of box (AWS architecture-icon colours, pale fills). */
export interface BoxStyle {
  readonly stroke: string;
  readonly fill: string;
  readonly dashed?: boolean;
}

export const STYLES = {
  vpc: { stroke: "#8c4fff", fill: "none" },
  zone: { stroke: "#147eba", fill: "none", dashed: true },
  publicSubnet: { stroke: "#7aa116", fill: "#f2f8e6" },
  privateSubnet: { stroke: "#00a4a6", fill: "#e6f6f6" },
  network: { stroke: "#8c4fff", fill: "#f3edff" },
  compute: { stroke: "#ed7100", fill: "#fff4e8" },
  group: { stroke: "#ed7100", fill: "none", dashed: true },
  storage: { stroke: "#7aa116", fill: "#f2f8e6" },
  security: { stroke: "#dd344c", fill: "#fdedef" },
  management: { stroke: "#e7157b", fill: "#fdebf4" },
  people: { stroke: "#414d5c", fill: "#f4f5f6" },
} as const satisfies Record<string, BoxStyle>;

export const TEXT = { title: 13, body: 11.5, lineHeight: 15, padding: 8 } as const;

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Estimated width of a line of Helvetica (no font metrics at hand: generous average widths). */
export function textWidth(text: string, size: number, bold = false): number {
  let units = 0;
  for (const ch of text) {
    if ("il.,:;|'!()[]/ ".includes(ch)) units += 0.3;
    else if ("mwMW@".includes(ch)) units += 0.85;
    else if (/[A-Z]/.test(ch)) units += 0.68;
    else units += 0.56;
  }
  return Math.ceil(units * size * (bold ? 1.08 : 1));
}

/** Splits text into lines no wider than maxWidth, at spaces, else after '-', '/' or '.'. */
export function wrapText(text: string, maxWidth: number, size: number, bold = false): string[] {
  const fits = (s: string) => textWidth(s, size, bold) <= maxWidth;
  // Pieces of words: a word that does not fit on a line of its own is cut after - / . characters.
  const pieces = text
    .split(" ")
    .filter((word) => word !== "")
    .flatMap((word) => (fits(word) ? [word] : breakWord(word, fits)).map((piece, i) => ({ piece, space: i === 0 })));
  const lines: string[] = [];
  let line = "";
  for (const { piece, space } of pieces) {
    const candidate = line === "" ? piece : `${line}${space ? " " : ""}${piece}`;
    if (line !== "" && !fits(candidate)) {
      lines.push(line);
      line = piece;
    } else {
      line = candidate;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

function breakWord(word: string, fits: (s: string) => boolean): string[] {
  const out: string[] = [];
  let current = "";
  for (const part of word.split(/(?<=[-/.])/)) {
    if (current !== "" && !fits(current + part)) {
      out.push(current);
      current = part;
    } else {
      current += part;
    }
  }
  if (current !== "") out.push(current);
  return out;
}

/** A line of a box: plain text, or with an indent (points) and weight. */
export type Line = string | { readonly text: string; readonly indent?: number; readonly bold?: boolean };

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly title: string;
  readonly lines?: readonly Line[];
  readonly style: BoxStyle;
  /** class attribute of the box's group (tests find boxes by it). */
  readonly className: string;
  /** Fixed height; default: as tall as the text needs. */
  readonly h?: number;
  /** id attribute of the box's group. */
  readonly id?: string;
}

interface LaidOutLine {
  readonly text: string;
  readonly x: number;
  readonly bold: boolean;
  readonly size: number;
}

function layoutLines(box: Pick<Box, "w" | "title" | "lines">): LaidOutLine[] {
  const inner = box.w - 2 * TEXT.padding;
  const out: LaidOutLine[] = wrapText(box.title, inner, TEXT.title, true).map((text) => ({ text, x: 0, bold: true, size: TEXT.title }));
  for (const line of box.lines ?? []) {
    const l = typeof line === "string" ? { text: line } : line;
    const indent = l.indent ?? 0;
    for (const text of wrapText(l.text, inner - indent, TEXT.body, l.bold ?? false)) {
      out.push({ text, x: indent, bold: l.bold ?? false, size: TEXT.body });
    }
  }
  return out;
}

/** Height a box needs for its text. */
export function boxHeight(box: Pick<Box, "w" | "title" | "lines">): number {
  return layoutLines(box).length * TEXT.lineHeight + 2 * TEXT.padding + 2;
}

function num(n: number): string {
  return String(Math.round(n));
}

export function rect(x: number, y: number, w: number, h: number, style: BoxStyle, radius = 6): string {
  const dash = style.dashed ? ` stroke-dasharray="6 4"` : "";
  return `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" rx="${radius}" fill="${style.fill}" stroke="${style.stroke}" stroke-width="1.5"${dash}/>`;
}

export function text(x: number, y: number, content: string, options: { size?: number; bold?: boolean; anchor?: "start" | "middle" | "end"; color?: string; halo?: boolean } = {}): string {
  const size = options.size ?? TEXT.body;
  const attrs = [
    `x="${num(x)}"`,
    `y="${num(y)}"`,
    `font-size="${size}"`,
    options.bold ? `font-weight="bold"` : "",
    options.anchor && options.anchor !== "start" ? `text-anchor="${options.anchor}"` : "",
    `fill="${options.color ?? COLORS.text}"`,
    options.halo ? `stroke="${COLORS.background}" stroke-width="4" stroke-linejoin="round" paint-order="stroke"` : "",
  ].filter(Boolean);
  return `<text ${attrs.join(" ")}>${escapeXml(content)}</text>`;
}

/** A box with its wrapped title and lines; returns the SVG and its height. */
export function drawBox(box: Box): { svg: string; h: number } {
  const lines = layoutLines(box);
  const h = box.h ?? boxHeight(box);
  const parts = [rect(box.x, box.y, box.w, h, box.style)];
  lines.forEach((line, i) => {
    const y = box.y + TEXT.padding + (i + 1) * TEXT.lineHeight - 3;
    parts.push(text(box.x + TEXT.padding + line.x, y, line.text, { size: line.size, bold: line.bold }));
  });
  const id = box.id ? ` id="${escapeXml(box.id)}"` : "";
  return { svg: `<g class="${box.className}"${id}>${parts.join("")}</g>`, h };
}

/**
 * A container: a rectangle (the frame) and a one- or two-line label at its top left, returned
 * apart so the caller can draw arrows between the frames and the labels (labels have a halo).
 */
export function drawContainer(x: number, y: number, w: number, h: number, style: BoxStyle, label: string, ...sublabels: string[]): { frame: string; label: string } {
  const parts = [text(x + 10, y + 18, label, { bold: true, size: TEXT.title, halo: true })];
  sublabels.forEach((sublabel, i) => parts.push(text(x + 10, y + 34 + i * 14, sublabel, { color: COLORS.muted, halo: true })));
  return { frame: rect(x, y, w, h, style, 8), label: parts.join("") };
}

export interface Arrow {
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** One or more lines ("\n"), with a halo so they stay readable over other lines. */
  readonly label?: string;
  /** Where the label goes: the middle of the first segment by default. */
  readonly labelAt?: readonly [number, number];
  readonly labelAnchor?: "start" | "middle" | "end";
  readonly dashed?: boolean;
  /** Arrowheads at both ends. */
  readonly both?: boolean;
}

export function drawArrow(a: Arrow): string {
  const d = a.points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${num(x)},${num(y)}`).join(" ");
  const color = a.dashed ? COLORS.dashedArrow : COLORS.arrow;
  const dash = a.dashed ? ` stroke-dasharray="5 4"` : "";
  const start = a.both ? ` marker-start="url(#arrow-start${a.dashed ? "-dashed" : ""})"` : "";
  const parts = [`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"${dash}${start} marker-end="url(#arrow${a.dashed ? "-dashed" : ""})"/>`];
  if (a.label) {
    const [x0, y0] = a.points[0];
    const [x1, y1] = a.points[1];
    const [lx, ly] = a.labelAt ?? [(x0 + x1) / 2 + 6, (y0 + y1) / 2 + 4];
    a.label.split("\n").forEach((line, i) => {
      parts.push(text(lx, ly + i * (TEXT.lineHeight - 1), line, { anchor: a.labelAnchor ?? "start", halo: true, color: COLORS.text }));
    });
  }
  return `<g class="arrow">${parts.join("")}</g>`;
}

/** Arrowhead markers (solid and dashed, both directions). */
export function markers(): string {
  const marker = (id: string, color: string, path: string) =>
    `<marker id="${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="${path}" fill="${color}"/></marker>`;
  const startMarker = (id: string, color: string) =>
    `<marker id="${id}" viewBox="0 0 10 10" refX="1" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M10,0 L0,5 L10,10 z" fill="${color}"/></marker>`;
  return [
    "<defs>",
    marker("arrow", COLORS.arrow, "M0,0 L10,5 L0,10 z"),
    marker("arrow-dashed", COLORS.dashedArrow, "M0,0 L10,5 L0,10 z"),
    startMarker("arrow-start", COLORS.arrow),
    startMarker("arrow-start-dashed", COLORS.dashedArrow),
    "</defs>",
  ].join("");
}
