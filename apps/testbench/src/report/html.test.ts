import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { formatAsciicast, parseAsciicast } from "../asciicast.js";
import { CLIENT_SCRIPT } from "./client.js";
import { ReportError } from "./errors.js";
import { type HtmlReportInput, renderHtmlReport, TRANSCRIPT_LIMIT } from "./html.js";

const BUNDLE = readFileSync(
  createRequire(import.meta.url).resolve("asciinema-player/dist/bundle/asciinema-player.min.js"),
  "utf8",
);

const HOSTILE = '</script><script>alert("pwned")</script><!-- & \u0007\u001b[31mred\u001b[0m\r\n';

function sampleInput(overrides: Partial<HtmlReportInput> = {}): HtmlReportInput {
  return {
    title: "replay of <default> & friends",
    scenario: "traces/scenarios/sddf-clients.json",
    seed: 42,
    profile: "hardened",
    replayCommand: "vmmux replay traces/scenarios/sddf-clients.json --seed 42",
    virtualTime: 2.5,
    terminal: {
      header: { version: 2, width: 100, height: 30, title: "muxed" },
      events: [
        { time: 0.1, code: "o", data: "\u001b[32mguest1:/# \u001b[0m" },
        { time: 0.5, code: "o", data: HOSTILE },
        { time: 1.25, code: "o", data: "done\r\n" },
      ],
    },
    timeline: {
      spans: [
        { track: "uart_driver", start: 0.1, end: 0.2, label: "running" },
        { track: "guest1", start: 0.3, end: 0.9, label: "running" },
        { track: "guest2", start: 1, end: 2, label: "running" },
      ],
      arrows: [
        { from: "guest1", to: "uart_driver", at: 0.5, until: 0.55, label: "notify <ch 1>" },
        { from: "nowhere", to: "guest1", at: 0.5, until: 0.6, label: "dropped: no lane" },
      ],
      tracks: ["uart_driver", "guest1", "guest2"],
      captions: { guest1: "guest1 (pd, prio 100)" },
      end: 2.5,
    },
    guests: [
      {
        name: "guest1",
        bytesWritten: 120,
        bytesOnWire: 118,
        timeToFirstByte: 0.0125,
        longestGap: 0.75,
        loss: { T1_putcharDropped: 2, T2_unbufferedDropped: 0 },
      },
      {
        name: "<img src=x onerror=alert(2)>",
        bytesWritten: 64,
        bytesOnWire: 64,
        timeToFirstByte: null,
        longestGap: 0,
        loss: { T1_putcharDropped: 0 },
      },
    ],
    loss: { T6_txFifoFullWaits: 1586, R6_switchBytesConsumed: 6 },
    totals: [{ label: "wire bytes", value: 182 }],
    verdicts: [
      { oracle: "integrity", ok: true, findings: [], notes: ["all bytes accounted for"] },
      { oracle: "progress", ok: false, asExpected: true, findings: ["guest2 starved 2 s"] },
      { oracle: "routing", ok: false, findings: [`byte ${HOSTILE} misrouted`] },
    ],
    ...overrides,
  };
}

/** The page with the inlined third-party player script taken out. */
function ownMarkup(html: string): string {
  expect(html).toContain(BUNDLE);
  return html.replace(BUNDLE, "");
}

function embeddedData(html: string): { cast: string; numbers: Record<string, unknown> } {
  const open = '<script type="application/json" id="vmmux-data">';
  const start = html.indexOf(open) + open.length;
  return JSON.parse(html.slice(start, html.indexOf("</script>", start)));
}

describe("renderHtmlReport", () => {
  it("refers to nothing outside the file and forbids loading anything", () => {
    const html = renderHtmlReport(sampleInput());
    const own = ownMarkup(html);
    expect(own.match(/.{0,60}https?:\/\/.{0,60}/gi)).toBeNull();
    expect(own).not.toMatch(/<(link|img|iframe|object|embed|audio|video|source|base)\b/i);
    expect(own).not.toMatch(/<[a-z][^>]*\b(src|href|action|srcset|formaction)\s*=/i);
    expect(own).not.toMatch(/@import|url\(/i);
    // The player's own URLs are an SVG namespace and a base for resolving URLs it is never given here.
    expect(new Set(BUNDLE.match(/https?:\/\/[^"'`)\s]*/g))).toEqual(
      new Set(["http://www.w3.org/2000/svg", "http://localhost/"]),
    );
    expect(html).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; [^"]*">/,
    );
  });

  it("escapes hostile text everywhere it is shown", () => {
    const html = renderHtmlReport(sampleInput());
    const own = ownMarkup(html);
    // Exactly the page's own three scripts: the data, the player and the page script.
    expect(own.match(/<script\b/gi)).toHaveLength(3);
    expect(own.match(/<\/script/gi)).toHaveLength(3);
    expect(own).not.toContain("<!--");
    expect(own).not.toContain("<img");
    expect(own).toContain("&lt;img src=x onerror=alert(2)&gt;");
    expect(own).toContain("<title>replay of &lt;default&gt; &amp; friends</title>");
    expect(own).toContain("&lt;/script&gt;&lt;script&gt;alert(&quot;pwned&quot;)");
    // Control bytes are visible in the text and never raw in the page's own markup.
    expect(own).toContain("\\x07");
    expect(own).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it("embeds the terminal recording and the numbers so they survive the round trip", () => {
    const input = sampleInput();
    const data = embeddedData(renderHtmlReport(input));
    expect(data.cast).toBe(formatAsciicast(input.terminal));
    expect(parseAsciicast(data.cast).events.map((e) => e.data)).toEqual(
      input.terminal.events.map((e) => e.data),
    );
    expect(data.numbers).toMatchObject({
      seed: 42,
      guests: input.guests,
      loss: input.loss,
      verdicts: input.verdicts,
      replayCommand: input.replayCommand,
    });
  });

  it("shows the numbers, the transcript without escape sequences, and each verdict's standing", () => {
    const html = renderHtmlReport(sampleInput());
    const guestRow = /<tr><td>guest1<\/td>(.*?)<\/tr>/.exec(html)?.[1] ?? "";
    expect(guestRow).toContain(">120<");
    expect(guestRow).toContain(">118<");
    expect(guestRow).toContain("12.5 ms");
    expect(guestRow).toContain("750 ms");
    expect(guestRow).toContain("T1_putcharDropped&nbsp;=&nbsp;2");
    expect(html).toMatch(/<code>T6_txFifoFullWaits<\/code>.*?>1586</);
    expect(html).toMatch(/<td>integrity<\/td><td class="pass">pass</);
    expect(html).toMatch(/<td>progress<\/td><td class="finding">expected finding</);
    expect(html).toMatch(/<td>routing<\/td><td class="violation">violation</);
    expect(html).toContain("1 of 3 oracles violated: routing");
    expect(html).toContain("vmmux replay traces/scenarios/sddf-clients.json --seed 42");
    const transcript = /<pre id="transcript">([\s\S]*?)<\/pre>/.exec(html)?.[1] ?? "";
    expect(transcript).toContain("guest1:/# ");
    expect(transcript).toContain("red\ndone\n");
    expect(transcript).not.toContain("[31m");
  });

  it("draws one captioned lane per track with bars where the tracks ran", () => {
    const html = renderHtmlReport(sampleInput());
    expect(html).toContain(
      '<div title="guest1 (pd, prio 100): busy 24%">guest1 (pd, prio 100)</div>',
    );
    const lanes = [...html.matchAll(/<g fill="[^"]+" data-track="([^"]+)">([\s\S]*?)<\/g>/g)];
    expect(lanes.map((m) => m[1])).toEqual(["uart_driver", "guest1", "guest2"]);
    // guest2 ran from 1 s to 2 s of a 2.5 s drawing 1000 units wide.
    expect(lanes[2]![2]).toMatch(
      /<rect x="400\.000" y="[\d.]+" width="400\.000" data-w="400\.000"/,
    );
  });

  it("shortens a huge transcript but embeds the whole recording", () => {
    const big = "x".repeat(TRANSCRIPT_LIMIT + 10);
    const terminal = {
      header: { version: 2 as const, width: 80, height: 24 },
      events: [{ time: 0, code: "o" as const, data: big }],
    };
    const html = renderHtmlReport(sampleInput({ terminal }));
    expect(html).toContain("[... 10 more characters; the player has all of them]");
    expect(parseAsciicast(embeddedData(html).cast).events[0]!.data).toBe(big);
  });

  it("draws notification arrows between drawn lanes only, hidden until asked for", () => {
    const html = renderHtmlReport(sampleInput());
    expect(html).toContain('<input id="tl-arrows" type="checkbox"> notifications (1)');
    const group = /<g id="timeline-arrows" class="arrows" display="none">([\s\S]*?)<\/g>/.exec(
      html,
    )?.[1];
    expect(group?.match(/<line /g)).toHaveLength(1);
    // From guest1 (lane 1) at 0.5 s to uart_driver (lane 0) at 0.55 s.
    expect(group).toContain('<line x1="200.000" y1="33" x2="220.000" y2="9"');
    expect(group).toContain("notify &lt;ch 1&gt;: guest1 → uart_driver");
  });

  it("reads loss counts by own name only", () => {
    const base = sampleInput();
    const html = renderHtmlReport(
      sampleInput({ guests: [{ ...base.guests[0]!, loss: { constructor: 3 } }], loss: {} }),
    );
    expect(html).toMatch(
      /<code>constructor<\/code><\/td><td class="num">3<\/td><td class="num zero">–<\/td>/,
    );
    expect(html).not.toContain("native code");
  });

  it("renders the same page for the same input", () => {
    expect(renderHtmlReport(sampleInput())).toBe(renderHtmlReport(sampleInput()));
  });

  it("says so when there is no timeline or no verdict instead of drawing nothing", () => {
    const html = renderHtmlReport(sampleInput({ timeline: undefined, verdicts: [] }));
    expect(html).toContain("no timeline was recorded for this run");
    expect(html).toContain("no oracle was run");
    expect(html).not.toContain('id="timeline-lanes"');
  });

  it("rejects numbers it cannot draw, naming the field", () => {
    const base = sampleInput();
    const bad = sampleInput({
      timeline: { spans: [...base.timeline!.spans, { track: "x", start: 2, end: 1, label: "" }] },
    });
    expect(() => renderHtmlReport(bad)).toThrow(ReportError);
    expect(() => renderHtmlReport(bad)).toThrow(
      "timeline.spans[3].end: ends at 1 before it starts at 2",
    );
    const nan = sampleInput({ guests: [{ ...base.guests[0]!, longestGap: Number.NaN }] });
    expect(() => renderHtmlReport(nan)).toThrow("guests[0].longestGap: must be a finite number");
  });

  it("ships a page script that parses as JavaScript", () => {
    expect(() => new Function(CLIENT_SCRIPT)).not.toThrow();
  });
});
