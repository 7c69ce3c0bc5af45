/** The deterministic seL4/Microkit runtime. */
export {};
