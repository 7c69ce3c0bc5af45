/**
 * The terminal player: asciinema-player's browser bundle and stylesheet, read from the
 * installed package and inlined, so the report needs no network and no files beside it.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { ReportError } from "./errors.js";

export interface PlayerAssets {
  /** Defines the global `AsciinemaPlayer` with `create(source, element, options)`. */
  readonly script: string;
  readonly style: string;
}

const SCRIPT = "asciinema-player/dist/bundle/asciinema-player.min.js";
const STYLE = "asciinema-player/dist/bundle/asciinema-player.css";

let cached: PlayerAssets | undefined;

function read(specifier: string, closer: RegExp): string {
  let text: string;
  try {
    text = readFileSync(createRequire(import.meta.url).resolve(specifier), "utf8");
  } catch (error) {
    throw new ReportError(
      "REPORT_ASSET_UNUSABLE",
      specifier,
      `cannot read the player (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  // Inline text cannot be escaped without changing its meaning: refuse one that would end its element early.
  if (closer.test(text)) {
    throw new ReportError("REPORT_ASSET_UNUSABLE", specifier, "contains its own closing tag");
  }
  return text;
}

export function playerAssets(): PlayerAssets {
  cached ??= {
    script: read(SCRIPT, /<\/script|<!--/i),
    // Its comments credit themes by URL; they are dropped so the page names no address at all.
    style: read(STYLE, /<\/style/i).replace(/\/\*[\s\S]*?\*\//g, ""),
  };
  return cached;
}
