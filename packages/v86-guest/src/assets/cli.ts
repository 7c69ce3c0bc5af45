#!/usr/bin/env node
/** `vmmux-guest-assets [dir]`: fetch and build the real guest's boot files (see fetch.ts). */
import { fetchGuestAssets, GuestAssetError, guestAssetDir } from "./fetch.js";

const dir = process.argv[2] ?? guestAssetDir();
try {
  const paths = fetchGuestAssets(dir, (line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`ready: ${paths.dir}\n`);
} catch (error) {
  if (error instanceof GuestAssetError) {
    process.stderr.write(`vmmux-guest-assets: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
