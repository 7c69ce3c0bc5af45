/** Microkit system description files: parsing and validation. */
export {};
