/** The worker entry of the fuzz pool: one batch of one suite. */
import { runBatch } from "./suites.js";

export default runBatch;
