/**
 * @vmmux/pl011-uart — not built yet: this entry point deliberately exports nothing.
 */
export {};
