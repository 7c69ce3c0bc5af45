/**
 * @vmmux/vmm — not built yet: this entry point deliberately exports nothing.
 */
export {};
